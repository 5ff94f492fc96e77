import type { RandomSource } from './random.js';

/** How long a simulated device waits before each reconnect attempt. */
export interface BackoffOptions {
  /** Delay before the first retry, ms. */
  initialMs: number;
  /** Upper bound of any delay, jitter included, ms. */
  maxMs: number;
  /** Growth per failed attempt (2 = doubling). */
  factor: number;
  /**
   * Spread around the nominal delay as a fraction (0.2 = ±20 %), so a fleet that lost the broker at the
   * same moment does not reconnect in lock-step. 0 gives exact delays.
   */
  jitter: number;
}

/** 500 ms doubling to 30 s, ±20 %: quick after a blip, gentle on a broker that is down for long. */
export const DEFAULT_BACKOFF: Readonly<BackoffOptions> = Object.freeze({
  initialMs: 500,
  maxMs: 30_000,
  factor: 2,
  jitter: 0.2,
});

/**
 * The delay in ms before retry number `attempt` (0 for the first retry after a connection is lost):
 * `initialMs · factor^attempt`, capped at `maxMs`, spread by the jitter and capped again.
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: RandomSource): number {
  const nominal = Math.min(options.maxMs, options.initialMs * options.factor ** Math.max(0, attempt));
  const spread = options.jitter * (2 * random() - 1);
  return Math.max(0, Math.min(options.maxMs, Math.round(nominal * (1 + spread))));
}
