import { afterEach, describe, expect, it, vi } from 'vitest';
import { SystemClock } from './clock.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('SystemClock', () => {
  it('fires a timer due in 40 days after 40 days, not at once', () => {
    vi.useFakeTimers({ now: Date.UTC(2026, 0, 1) });
    const clock = new SystemClock();
    const fired: number[] = [];
    const day = 86_400_000;
    clock.setTimer('session expiry', 40 * day, () => fired.push(Date.now()));
    vi.advanceTimersByTime(39 * day);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(day);
    expect(fired).toEqual([Date.UTC(2026, 0, 1) + 40 * day]);
  });

  it('does not fire a long timer that was cleared between its steps', () => {
    vi.useFakeTimers({ now: 0 });
    const clock = new SystemClock();
    const fired: string[] = [];
    const handle = clock.setTimer('far', 30 * 86_400_000, () => fired.push('far'));
    vi.advanceTimersByTime(25 * 86_400_000);
    clock.clearTimer(handle);
    vi.advanceTimersByTime(10 * 86_400_000);
    expect(fired).toEqual([]);
  });
});
