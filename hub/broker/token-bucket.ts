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
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /**
   * Takes a token the bucket does not have yet, as long as no more than `maxDebt` are owed; false
   * when the debt is already that deep. What a client owes lengthens its {@link msUntilToken}.
   */
  borrow(maxDebt: number): boolean {
    this.refill();
    if (this.tokens - 1 < -maxDebt) return false;
    this.tokens -= 1;
    return true;
  }

  /** How long until a whole token is there again, ms; 0 when one is. */
  msUntilToken(): number {
    this.refill();
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) * 1000) / this.ratePerSec);
  }

  private refill(): void {
    const now = this.clock.now();
    const elapsedMs = Math.max(0, now - this.updatedAt);
    this.updatedAt = now;
    this.tokens = Math.min(this.burst, this.tokens + (elapsedMs * this.ratePerSec) / 1000);
  }
}
