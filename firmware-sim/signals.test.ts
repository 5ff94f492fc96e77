import { describe, expect, it } from 'vitest';
import { seededRandom } from './random.js';
import { greenhouseSignal, swingSignal } from './signals.js';

const HOUR_MS = 3_600_000;

describe('seededRandom', () => {
  it('repeats its sequence for a seed and stays in [0, 1)', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(Array.from({ length: 1000 }, () => b())).toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(seededRandom(43)()).not.toBe(xs[0]);
  });
});

describe('greenhouseSignal', () => {
  it('is warmest in the afternoon and coolest at night, within base ± swing + drift + noise', () => {
    const signal = greenhouseSignal(seededRandom(1));
    const samples: { hour: number; c: number }[] = [];
    for (let t = 0; t < 24 * HOUR_MS; t += 10 * 60_000) samples.push({ hour: t / HOUR_MS, c: signal(t) });
    const warmest = samples.reduce((a, b) => (b.c > a.c ? b : a));
    const coolest = samples.reduce((a, b) => (b.c < a.c ? b : a));
    expect(warmest.hour).toBeGreaterThan(10);
    expect(warmest.hour).toBeLessThan(18);
    expect(coolest.hour < 6 || coolest.hour > 22).toBe(true);
    for (const s of samples) {
      expect(s.c).toBeGreaterThanOrEqual(22 - 5 - 2 - 0.15);
      expect(s.c).toBeLessThanOrEqual(22 + 5 + 2 + 0.15);
    }
  });

  it('gives the same series for the same seed', () => {
    const a = greenhouseSignal(seededRandom(9));
    const b = greenhouseSignal(seededRandom(9));
    for (let t = 0; t < HOUR_MS; t += 5000) expect(b(t)).toBe(a(t));
  });
});

describe('swingSignal', () => {
  it('crosses 30 °C both ways in every minute', () => {
    const signal = swingSignal(seededRandom(3), { phaseMs: 12_345 });
    for (let start = 0; start < 10 * 60_000; start += 60_000) {
      const window = Array.from({ length: 60 }, (_, s) => signal(start + s * 1000));
      expect(window.some((c) => c > 30.5)).toBe(true);
      expect(window.some((c) => c < 29.5)).toBe(true);
    }
  });
});
