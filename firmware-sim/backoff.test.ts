import { describe, expect, it } from 'vitest';
import { backoffDelay, DEFAULT_BACKOFF } from './backoff.js';
import { seededRandom } from './random.js';

describe('backoffDelay', () => {
  const middle = () => 0.5;

  it('doubles from 500 ms and is capped at 30 s', () => {
    const delays = [0, 1, 2, 3, 4, 5, 6, 7, 20].map((n) => backoffDelay(n, DEFAULT_BACKOFF, middle));
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  });

  it('spreads delays by the jitter fraction and never exceeds the cap', () => {
    const random = seededRandom(7);
    for (let attempt = 0; attempt < 12; attempt++) {
      const nominal = Math.min(30_000, 500 * 2 ** attempt);
      const delay = backoffDelay(attempt, DEFAULT_BACKOFF, random);
      expect(delay).toBeGreaterThanOrEqual(nominal * 0.8 - 1);
      expect(delay).toBeLessThanOrEqual(Math.min(30_000, nominal * 1.2 + 1));
    }
    expect(backoffDelay(0, DEFAULT_BACKOFF, () => 0)).toBe(400);
    expect(backoffDelay(10, DEFAULT_BACKOFF, () => 0.999)).toBe(30_000);
  });
});
