import { backoffDelay, type Clock } from '../../kernel/index.js';

export interface AuthThrottleOptions {
  /** Delay after the first failure from a source, ms; each further failure doubles it. 0 turns it off. */
  baseDelayMs: number;
  /** Ceiling of the delay, ms. */
  maxDelayMs: number;
  /** A source with no failure for this long starts again from nothing, ms. */
  forgetAfterMs: number;
  /** Sources remembered at once; the stalest is forgotten first, bounding memory under a scan. */
  maxSources: number;
}

interface SourceState {
  failures: number;
  lastFailureAt: number;
}

/**
 * Slows down password guessing per source address: after n failures from one address, every answer
 * to it waits `base · 2^(n-1)` ms (capped). A success resets the address.
 */
export class AuthThrottle {
  private readonly sources = new Map<string, SourceState>();

  constructor(
    private readonly clock: Clock,
    private readonly options: AuthThrottleOptions,
  ) {}

  /** Failures counted for `source` (after forgetting stale ones). */
  failures(source: string): number {
    const state = this.sources.get(source);
    if (!state) return 0;
    if (this.clock.now() - state.lastFailureAt >= this.options.forgetAfterMs) {
      this.sources.delete(source);
      return 0;
    }
    return state.failures;
  }

  /** How long an answer to `source` waits now, ms. */
  delayMs(source: string): number {
    const n = this.failures(source);
    if (n === 0) return 0;
    // No jitter: the delay is what a guesser gets told to wait, not a retry of ours.
    const { baseDelayMs, maxDelayMs } = this.options;
    return backoffDelay(n - 1, { initialMs: baseDelayMs, maxMs: maxDelayMs, factor: 2, jitter: 0 });
  }

  recordFailure(source: string): void {
    const failures = this.failures(source) + 1;
    // Re-inserting moves the source to the end, so the map stays in least-recently-failed order.
    this.sources.delete(source);
    this.sources.set(source, { failures, lastFailureAt: this.clock.now() });
    while (this.sources.size > this.options.maxSources) {
      const oldest = this.sources.keys().next();
      if (oldest.done === true) break;
      this.sources.delete(oldest.value);
    }
  }

  recordSuccess(source: string): void {
    this.sources.delete(source);
  }

  /** Addresses currently being slowed down. */
  size(): number {
    return this.sources.size;
  }
}
