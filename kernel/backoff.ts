import type { Clock, TimerHandle } from './clock.js';

/**
 * How long to wait before each retry of something that failed: reopening a port, reconnecting to a
 * broker, resending a request, slowing down a client that keeps failing to log in.
 */
export interface BackoffOptions {
  /** Delay before the first retry, ms. 0 or less gives no delay at all. */
  initialMs: number;
  /** Upper bound of any delay, jitter included, ms; `Infinity` for none. */
  maxMs: number;
  /** Growth per failed attempt, at least 1 (2 = doubling, 1 = a fixed period). */
  factor: number;
  /**
   * Spread around the nominal delay as a fraction from 0 to 1 (0.2 = ±20 %), so clients that lost
   * their server at the same moment do not all come back in lock-step. 0 gives exact delays.
   */
  jitter: number;
}

/** 500 ms doubling to 30 s, ±20 %: quick after a blip, gentle on a server that is down for long. */
export const DEFAULT_BACKOFF: Readonly<BackoffOptions> = Object.freeze({
  initialMs: 500,
  maxMs: 30_000,
  factor: 2,
  jitter: 0.2,
});

/**
 * The delay in ms before retry number `attempt` (0 for the first retry after a failure):
 * `initialMs · factor^attempt`, capped at `maxMs`; with jitter, spread by up to ±`jitter` of that,
 * rounded to whole ms and capped again. Pure: the same `random` answers give the same delays.
 *
 * @param random uniform numbers in [0, 1), like `Math.random` (the default); read only when
 *   `jitter` is above 0, once per call.
 */
export function backoffDelay(
  attempt: number,
  options: Readonly<BackoffOptions>,
  random: () => number = Math.random,
): number {
  const { initialMs, maxMs, factor, jitter } = options;
  // Checked first: 0 · factor^attempt is NaN once the power overflows to Infinity.
  if (initialMs <= 0) return 0;
  // However many attempts, the power at worst overflows to Infinity and the cap decides.
  const nominal = Math.min(maxMs, initialMs * factor ** Math.max(0, attempt));
  if (jitter <= 0) return Math.max(0, nominal);
  const spread = jitter * (2 * random() - 1);
  return Math.max(0, Math.min(maxMs, Math.round(nominal * (1 + spread))));
}

/**
 * The attempt count of one thing being retried: each {@link next} hands out the delay before the
 * next retry and counts it, {@link reset} forgets the failures once it works again.
 */
export class Backoff {
  private count = 0;

  constructor(
    private readonly options: Readonly<BackoffOptions>,
    private readonly random: () => number = Math.random,
  ) {}

  /** Delays handed out since the last reset: 0 until the first failure. */
  get attempts(): number {
    return this.count;
  }

  /** The delay before the next retry, ms; counts one more attempt. */
  next(): number {
    return backoffDelay(this.count++, this.options, this.random);
  }

  /** It worked: the next failure starts again from `initialMs`. */
  reset(): void {
    this.count = 0;
  }
}

export interface BackoffTimerDeps {
  clock: Clock;
  /** Name of the retry timer, as tests and logs see it, e.g. `serial:gh-1:reopen`. */
  name: string;
  options: Readonly<BackoffOptions>;
  /** Drives the jitter; default `Math.random`. */
  random?: () => number;
}

/**
 * A {@link Backoff} whose retries run on a named timer of the injected clock, so a test drives
 * them by advancing a virtual clock. At most one retry is pending at a time. The owner calls
 * {@link reset} when the retried thing works again and {@link cancel} when it stops.
 */
export class BackoffTimer {
  private readonly backoff: Backoff;
  private timer: TimerHandle | undefined;

  constructor(private readonly deps: BackoffTimerDeps) {
    this.backoff = new Backoff(deps.options, deps.random);
  }

  /** Retries scheduled since the last reset: 0 until the first failure. */
  get attempts(): number {
    return this.backoff.attempts;
  }

  /** True while a retry waits for its timer. */
  get pending(): boolean {
    return this.timer !== undefined;
  }

  /**
   * Runs `retry` after the next backoff delay and returns that delay, ms. While a retry is already
   * pending this does nothing and returns undefined: a failure reported twice is one failure. The
   * timer is no longer pending when `retry` runs, so `retry` may schedule the one after it.
   */
  schedule(retry: () => void): number | undefined {
    if (this.timer) return undefined;
    const delayMs = this.backoff.next();
    this.timer = this.deps.clock.setTimer(this.deps.name, delayMs, () => {
      this.timer = undefined;
      retry();
    });
    return delayMs;
  }

  /** Drops the pending retry, if any; the attempt count stays. Idempotent. */
  cancel(): void {
    this.deps.clock.clearTimer(this.timer);
    this.timer = undefined;
  }

  /** It worked: the next failure starts again from `initialMs`. A pending retry stays pending. */
  reset(): void {
    this.backoff.reset();
  }
}
