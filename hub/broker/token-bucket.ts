import type { Clock } from '../../kernel/index.js';

/**
 * A token bucket on the injected clock: `ratePerSec` tokens flow in per second up to `burst`; each
 * message takes one. The bucket starts full, so a device that wakes up and reports a burst is fine.
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    private readonly clock: Clock,
    private readonly ratePerSec: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
    this.updatedAt = clock.now();
  }

  /** Takes a token if there is one; false means over the rate. */
  take(): boolean {
    const now = this.clock.now();
    const elapsedMs = Math.max(0, now - this.updatedAt);
    this.updatedAt = now;
    this.tokens = Math.min(this.burst, this.tokens + (elapsedMs * this.ratePerSec) / 1000);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
