import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fail, ok, warn, type CheckResult } from './check-result.js';
import type { DoctorEnv } from './doctor-env.js';

export const SERVICE_UNIT = 'edgehub';
const SYSTEMCTL_TIMEOUT_MS = 5000;

/** The installed service's state, when systemd runs this machine. */
export async function serviceCheck(env: DoctorEnv): Promise<CheckResult> {
  let init = '';
  try {
    init = readFileSync(join(env.root, '/proc/1/comm'), 'utf8').trim();
  } catch {
    // unreadable: treat as no systemd
  }
  if (init !== 'systemd')
    return ok('service', 'not installed as a service (systemd does not run this machine)');
  const load = await env.run(
    'systemctl',
    ['show', '-p', 'LoadState', '--value', SERVICE_UNIT],
    SYSTEMCTL_TIMEOUT_MS,
  );
  if (load.code === null)
    return ok('service', `not installed as a service (systemctl: ${load.error ?? 'not found'})`);
  if (load.stdout.trim() !== 'loaded') return ok('service', 'not installed as a service');
  const active = await env.run('systemctl', ['is-active', SERVICE_UNIT], SYSTEMCTL_TIMEOUT_MS);
  const state = active.stdout.trim() || 'unknown';
  switch (state) {
    case 'active':
    case 'reloading':
      return ok('service', `${SERVICE_UNIT}.service is ${state}`);
    case 'activating':
      return warn(
        'service',
        `${SERVICE_UNIT}.service is starting (or restarting after a failure)`,
        `journalctl -u ${SERVICE_UNIT} -e shows why if it keeps restarting`,
      );
    case 'failed':
      return fail(
        'service',
        `${SERVICE_UNIT}.service has failed`,
        `journalctl -u ${SERVICE_UNIT} -e shows why; then sudo systemctl restart ${SERVICE_UNIT}`,
      );
    default:
      return warn(
        'service',
        `${SERVICE_UNIT}.service is installed but ${state}`,
        `sudo systemctl enable --now ${SERVICE_UNIT}`,
      );
  }
}
