import { describe, expect, it } from 'vitest';
import { Backoff } from './backoff.js';

describe('Backoff', () => {
  it('doubles the wait from the first to the longest, half of it random', () => {
    const low = new Backoff({ initialMs: 1000, maxMs: 30_000, random: () => 0 });
    expect([1, 2, 3, 4, 5, 6, 7].map(() => low.next())).toEqual([
      500, 1000, 2000, 4000, 8000, 15_000, 15_000,
    ]);
    const high = new Backoff({ initialMs: 1000, maxMs: 30_000, random: () => 0.999999 });
    expect([1, 2, 3, 4, 5, 6].map(() => high.next())).toEqual([1000, 2000, 4000, 8000, 16_000, 30_000]);
  });

  it('starts again from the first wait after a reset', () => {
    const b = new Backoff({ initialMs: 1000, maxMs: 30_000, random: () => 0 });
    b.next();
    b.next();
    b.next();
    expect(b.attempts).toBe(3);
    b.reset();
    expect(b.attempts).toBe(0);
    expect(b.next()).toBe(500);
  });
});
