import { describe, expect, it } from 'vitest';
import { Backoff, backoffDelay, BackoffTimer, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
import { VirtualClock } from './clock.js';

const EXACT: BackoffOptions = { initialMs: 100, maxMs: 1000, factor: 2, jitter: 0 };

describe('backoffDelay', () => {
  const middle = () => 0.5;

  it('doubles from 500 ms and is capped at 30 s', () => {
    const delays = [0, 1, 2, 3, 4, 5, 6, 7, 20].map((n) => backoffDelay(n, DEFAULT_BACKOFF, middle));
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  });

  it('spreads delays by the jitter fraction and never exceeds the cap', () => {
    for (const r of [0, 0.13, 0.5, 0.77, 0.999]) {
      for (let attempt = 0; attempt < 12; attempt++) {
        const nominal = Math.min(30_000, 500 * 2 ** attempt);
        const delay = backoffDelay(attempt, DEFAULT_BACKOFF, () => r);
        expect(delay).toBeGreaterThanOrEqual(nominal * 0.8 - 1);
        expect(delay).toBeLessThanOrEqual(Math.min(30_000, nominal * 1.2 + 1));
      }
    }
    expect(backoffDelay(0, DEFAULT_BACKOFF, () => 0)).toBe(400);
    expect(backoffDelay(10, DEFAULT_BACKOFF, () => 0.999)).toBe(30_000);
  });

  it('gives exact delays without jitter, never asking for a random number', () => {
    const random = () => {
      throw new Error('no jitter, no randomness');
    };
    expect([0, 1, 2, 3, 4].map((n) => backoffDelay(n, EXACT, random))).toEqual([100, 200, 400, 800, 1000]);
  });

  it('stays finite for any attempt count, and is 0 when there is no initial delay', () => {
    expect(backoffDelay(5000, EXACT)).toBe(1000);
    expect(backoffDelay(5000, { ...EXACT, initialMs: 0 })).toBe(0);
    expect(backoffDelay(-3, EXACT)).toBe(100);
    expect(backoffDelay(4, { ...EXACT, maxMs: Number.POSITIVE_INFINITY })).toBe(1600);
    expect(backoffDelay(3, { ...EXACT, factor: 1 })).toBe(100);
  });
});

describe('Backoff', () => {
  it('hands out growing delays, counts them, and starts again after a reset', () => {
    const backoff = new Backoff(EXACT);
    expect(backoff.attempts).toBe(0);
    expect([backoff.next(), backoff.next(), backoff.next()]).toEqual([100, 200, 400]);
    expect(backoff.attempts).toBe(3);
    backoff.reset();
    expect(backoff.attempts).toBe(0);
    expect(backoff.next()).toBe(100);
  });

  it('draws its jitter from the injected source', () => {
    const backoff = new Backoff({ ...EXACT, jitter: 0.5 }, () => 0);
    expect([backoff.next(), backoff.next()]).toEqual([50, 100]);
  });
});

describe('BackoffTimer', () => {
  function setup() {
    const clock = new VirtualClock(0);
    const timer = new BackoffTimer({ clock, name: 'test:retry', options: EXACT });
    return { clock, timer };
  }

  it('runs each retry on a named clock timer after the next delay', () => {
    const { clock, timer } = setup();
    const runs: number[] = [];
    const retry = () => {
      runs.push(clock.now());
      if (runs.length < 3) timer.schedule(retry);
    };
    expect(timer.schedule(retry)).toBe(100);
    expect(clock.pending()).toEqual(['test:retry']);
    expect(timer.pending).toBe(true);
    clock.advance(99);
    expect(runs).toEqual([]);
    clock.advance(1_000);
    expect(runs).toEqual([100, 300, 700]);
    expect(timer.attempts).toBe(3);
    expect(timer.pending).toBe(false);
    expect(clock.pending()).toEqual([]);
  });

  it('keeps one retry pending: a second failure before it runs is not counted again', () => {
    const { clock, timer } = setup();
    let runs = 0;
    timer.schedule(() => runs++);
    expect(timer.schedule(() => runs++)).toBeUndefined();
    expect(timer.attempts).toBe(1);
    clock.advance(100);
    expect(runs).toBe(1);
  });

  it('starts again from the initial delay after a reset', () => {
    const { clock, timer } = setup();
    timer.schedule(() => undefined);
    clock.advance(100);
    timer.schedule(() => undefined);
    clock.advance(200);
    timer.reset();
    expect(timer.attempts).toBe(0);
    expect(timer.schedule(() => undefined)).toBe(100);
  });

  it('cancel drops the pending retry and is idempotent', () => {
    const { clock, timer } = setup();
    let runs = 0;
    timer.schedule(() => runs++);
    timer.cancel();
    timer.cancel();
    expect(timer.pending).toBe(false);
    expect(clock.pending()).toEqual([]);
    clock.advance(10_000);
    expect(runs).toBe(0);
    expect(timer.schedule(() => runs++)).toBe(200);
  });
});
