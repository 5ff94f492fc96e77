import { EdgehubError, SystemClock, type Clock, type Logger } from '../kernel/index.js';
import { defaultDemoFleet, Fleet } from './fleet.js';
import type { RandomSource } from './random.js';

export interface SimCommandOptions {
  /** Broker URL, e.g. `mqtt://127.0.0.1:1883`. */
  url: string;
  /** Number of greenhouse nodes (`gh-1` …). Default 2. */
  devices?: number;
  /** Time between temperature samples, ms. Default 2000. */
  intervalMs?: number;
  /** MQTT protocol level: 4 = 3.1.1, 5 = MQTT 5. Default 4. */
  protocol?: 4 | 5;
  testing?: { clock?: Clock; random?: RandomSource };
}

/** Upper bound of `devices`: one MQTT connection each, so a typo should not open ten thousand sockets. */
const MAX_DEVICES = 1000;
/** Lower bound of `intervalMs`, ms: faster sampling floods a broker without showing anything more. */
const MIN_INTERVAL_MS = 10;
/** Period of the keep-alive handle, ms: the longest Node accepts (about 24.8 days). */
const KEEP_ALIVE_MS = 2 ** 31 - 1;
const URL_PROTOCOLS = new Set(['mqtt:', 'mqtts:', 'tcp:', 'ssl:', 'tls:', 'ws:', 'wss:']);

/**
 * Runs the demo fleet against a broker (the `edgehub sim` command and the hub's `--demo`). Resolves
 * once the devices are started, without waiting for the broker: they keep retrying until it is up.
 */
export async function runSimCommand(
  opts: SimCommandOptions,
  logger: Logger,
): Promise<{ stop(): Promise<void> }> {
  const devices = opts.devices ?? 2;
  const intervalMs = opts.intervalMs ?? 2000;
  checkOptions(opts.url, devices, intervalMs);
  const fleet = new Fleet(
    {
      url: opts.url,
      specs: defaultDemoFleet({ devices, intervalMs }),
      ...(opts.protocol !== undefined && { protocolVersion: opts.protocol }),
    },
    {
      clock: opts.testing?.clock ?? new SystemClock(),
      logger,
      ...(opts.testing?.random !== undefined && { random: opts.testing.random }),
    },
  );
  // The clock's timers do not hold the process open, so while the broker is down (no socket, only a
  // backoff timer) `edgehub sim` would exit. This handle keeps it running until stopped; it measures no
  // time, hence a plain interval rather than a clock timer.
  const keepAlive = setInterval(() => undefined, KEEP_ALIVE_MS);
  try {
    await fleet.start();
  } catch (err) {
    clearInterval(keepAlive);
    await fleet.stop();
    throw err;
  }
  logger.info('simulated devices started', {
    url: opts.url,
    devices,
    intervalMs,
    protocol: opts.protocol ?? 4,
  });
  return {
    stop: async () => {
      clearInterval(keepAlive);
      await fleet.stop();
    },
  };
}

function checkOptions(url: string, devices: number, intervalMs: number): void {
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    throw new EdgehubError('USAGE', `not a broker URL: ${url}`);
  }
  if (!URL_PROTOCOLS.has(protocol)) {
    throw new EdgehubError('USAGE', `broker URL must be mqtt://, mqtts://, ws:// or wss://, got ${url}`);
  }
  if (!Number.isInteger(devices) || devices < 1 || devices > MAX_DEVICES) {
    throw new EdgehubError(
      'USAGE',
      `devices must be a whole number from 1 to ${MAX_DEVICES}, got ${devices}`,
    );
  }
  if (!Number.isFinite(intervalMs) || intervalMs < MIN_INTERVAL_MS) {
    throw new EdgehubError('USAGE', `interval must be at least ${MIN_INTERVAL_MS} ms, got ${intervalMs}`);
  }
}
