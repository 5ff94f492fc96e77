/**
 * Reconnect delays for the live stream: exponential from `initialMs` to `maxMs`, with full jitter so
 * that a hub restart is not met by every open browser at the same instant. `reset()` once a
 * connection has stayed open.
 */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly options: {
      /** ms before the first retry's upper bound. */
      initialMs: number;
      /** ms, the longest wait. */
      maxMs: number;
      /** In [0, 1); Math.random in the browser, fixed in tests. */
      random: () => number;
    },
  ) {}

  /** The next wait in ms; each call counts as a failed attempt. */
  next(): number {
    const ceiling = Math.min(this.options.maxMs, this.options.initialMs * 2 ** this.attempt);
    this.attempt++;
    // Half fixed, half random: never zero (a tight loop), never all at once.
    return Math.round(ceiling / 2 + (ceiling / 2) * this.options.random());
  }

  get attempts(): number {
    return this.attempt;
  }

  reset(): void {
    this.attempt = 0;
  }
}
