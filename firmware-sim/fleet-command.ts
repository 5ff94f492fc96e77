import { EdgehubError, SystemClock, type Clock, type Logger, type TimerHandle } from '../kernel/index.js';
import { Fleet } from './fleet.js';
import { fleetSpecs, loadFleetFile } from './fleet-file.js';
import type { RandomSource } from './random.js';
import { ScaledClock } from './scaled-clock.js';

export interface FleetCommandOptions {
  url: string;
  /** The fleet file (see `fleet-file.ts`). */
  file: string;
  /** Simulated time per real time: 60 runs an hour of signals and intervals in a minute. Default 1. */
  speed?: number;
  protocol?: 4 | 5;
  /** Where the live summary line goes; default none. A TTY gets it rewritten in place. */
  summary?: { write(text: string): unknown; isTTY?: boolean };
  /** Between summary lines, ms of real time. Default 1000. */
  summaryEveryMs?: number;
  testing?: { clock?: Clock; random?: RandomSource };
}

export interface FleetRun {
  readonly fleet: Fleet;
  /** The summary as it would be printed now. */
  summaryLine(): string;
  stop(): Promise<void>;
}

/** Period of the keep-alive handle, ms: the longest Node accepts (see runSimCommand). */
const KEEP_ALIVE_MS = 2 ** 31 - 1;

/**
 * `edgehub sim --fleet FILE [--speed N]`: every device of the fleet file against one broker, parts on a
 * clock `speed` times faster than real time (connection timers stay real), and a summary line —
 * devices online, readings per real second, commands received — every second on `summary`.
 */
export async function runFleetCommand(opts: FleetCommandOptions, logger: Logger): Promise<FleetRun> {
  const speed = opts.speed ?? 1;
  if (!(speed > 0) || !Number.isFinite(speed) || speed > 10_000) {
    throw new EdgehubError('USAGE', `speed must be a number above 0 and at most 10000, got ${speed}`);
  }
  const groups = loadFleetFile(opts.file);
  const clock = opts.testing?.clock ?? new SystemClock();
  const fleet = new Fleet(
    {
      url: opts.url,
      specs: fleetSpecs(groups),
      ...(opts.protocol !== undefined && { protocolVersion: opts.protocol }),
    },
    {
      clock,
      partClock: speed === 1 ? clock : new ScaledClock(clock, speed),
      logger,
      ...(opts.testing?.random !== undefined && { random: opts.testing.random }),
    },
  );
  let last = { at: clock.now(), readings: 0 };
  let rate = 0;
  const summaryLine = (): string => {
    const online = fleet.devices.filter((d) => d.state === 'online').length;
    const commands = fleet.devices.reduce((n, d) => n + d.stats.commands, 0);
    const speedText = speed === 1 ? '' : `, speed ${speed}x`;
    return `sim: ${online}/${fleet.devices.length} online, ${rate.toFixed(1)} readings/s, ${commands} commands${speedText}`;
  };
  let timer: TimerHandle | undefined;
  const everyMs = opts.summaryEveryMs ?? 1000;
  const tick = (): void => {
    const now = clock.now();
    const readings = fleet.devices.reduce((n, d) => n + d.stats.readings, 0);
    rate = now > last.at ? ((readings - last.readings) * 1000) / (now - last.at) : 0;
    last = { at: now, readings };
    const out = opts.summary;
    if (out) out.write(out.isTTY ? `\r\x1b[2K${summaryLine()}` : `${summaryLine()}\n`);
    timer = clock.setTimer('sim:summary', everyMs, tick);
  };
  // Keeps the process alive while the broker is down, as in runSimCommand.
  const keepAlive = setInterval(() => undefined, KEEP_ALIVE_MS);
  try {
    await fleet.start();
  } catch (err) {
    clearInterval(keepAlive);
    await fleet.stop();
    throw err;
  }
  timer = clock.setTimer('sim:summary', everyMs, tick);
  logger.info('simulated fleet started', {
    url: opts.url,
    file: opts.file,
    devices: fleet.devices.length,
    speed,
  });
  return {
    fleet,
    summaryLine,
    stop: async () => {
      clock.clearTimer(timer);
      clearInterval(keepAlive);
      await fleet.stop();
      if (opts.summary?.isTTY) opts.summary.write('\n');
    },
  };
}
