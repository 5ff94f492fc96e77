import type { Clock, TimerHandle } from '../kernel/index.js';

interface ScaledTimer extends TimerHandle {
  inner: TimerHandle;
}

/**
 * A clock that runs `speed` times faster than `base` from the moment it is made: `now()` moves
 * `speed` ms per base ms and a timer of `delayMs` fires after `delayMs / speed` base ms. With
 * `edgehub sim --speed 60`, an hour of signal (the day cycle, sampling intervals) passes in a minute.
 */
export class ScaledClock implements Clock {
  private readonly originMs: number;

  constructor(
    private readonly base: Clock,
    readonly speed: number,
  ) {
    if (!(speed > 0) || !Number.isFinite(speed))
      throw new RangeError(`speed must be a positive number, got ${speed}`);
    this.originMs = base.now();
  }

  now(): number {
    return this.originMs + (this.base.now() - this.originMs) * this.speed;
  }

  setTimer(name: string, delayMs: number, fn: () => void): TimerHandle {
    const delay = Math.max(0, delayMs);
    const inner = this.base.setTimer(name, delay / this.speed, fn);
    const handle: ScaledTimer = { name, dueAt: this.now() + delay, inner };
    return handle;
  }

  clearTimer(handle: TimerHandle | undefined): void {
    if (handle && 'inner' in handle) this.base.clearTimer((handle as ScaledTimer).inner);
  }
}
