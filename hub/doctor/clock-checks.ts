import { fail, ok, warn, type CheckResult } from './check-result.js';
import type { DoctorEnv } from './doctor-env.js';

/** Earlier than this, the clock was never set (a Pi has no battery-backed clock and starts near its last shutdown or 1970). */
export const CLOCK_FLOOR_MS = Date.UTC(2024, 0, 1);
const TIMEDATECTL_TIMEOUT_MS = 5000;

/** Schedules, time windows, retention and certificate dates all depend on the wall clock. */
export async function clockChecks(env: DoctorEnv): Promise<CheckResult[]> {
  const now = env.now();
  const shown = new Date(now).toISOString();
  const time =
    now < CLOCK_FLOOR_MS
      ? fail(
          'clock.time',
          `clock not set: it says ${shown}`,
          'connect the machine to a network with NTP (timedatectl set-ntp true), or set it: sudo date -s "YYYY-MM-DD hh:mm"',
        )
      : ok('clock.time', `the clock says ${shown}`);
  const out = await env.run(
    'timedatectl',
    ['show', '-p', 'NTPSynchronized', '--value'],
    TIMEDATECTL_TIMEOUT_MS,
  );
  const answer = out.stdout.trim();
  let ntp: CheckResult;
  if (out.code === 0 && answer === 'yes') ntp = ok('clock.ntp', 'NTP synchronised');
  else if (out.code === 0 && answer === 'no')
    ntp = warn(
      'clock.ntp',
      'the clock is not NTP synchronised',
      'sudo timedatectl set-ntp true, and check that the network reaches an NTP server (timedatectl timesync-status)',
    );
  else
    ntp = warn(
      'clock.ntp',
      `cannot tell whether the clock is NTP synchronised (timedatectl: ${out.error ?? (answer || `exit ${out.code}`)})`,
      'make sure an NTP client (systemd-timesyncd, chrony) keeps the clock right; schedules follow it',
    );
  return [time, ntp];
}
