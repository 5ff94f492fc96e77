/** One benchmark's figures, printed by `npm run bench` beside the target it was set. */
export interface BenchResult {
  name: string;
  /** Measured values by label; units go in the label (`events/s`, `p50 ms`). */
  figures: Record<string, number | string>;
  /** The speed target in words, e.g. `≥ 100,000 events/s`. */
  target?: string;
  /** Whether the figures meet the target; unset when there is no target. */
  pass?: boolean;
}
