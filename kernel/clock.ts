/** A timer started on a {@link Clock}; its name says what it is for in logs and tests. */
export interface TimerHandle {
  readonly name: string;
  /** Epoch ms at which the timer fires. */
  readonly dueAt: number;
}

/**
 * Time as a port: every time-based behaviour in edgehub reads one of these, so tests and back-tests
 * run on a virtual clock.
 */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  setTimer(name: string, delayMs: number, fn: () => void): TimerHandle;
  clearTimer(handle: TimerHandle | undefined): void;
}

/** The longest delay Node's setTimeout honours (2^31 − 1 ms). */
const MAX_TIMEOUT_MS = 2_147_483_647;

interface SystemTimer extends TimerHandle {
  timeout: NodeJS.Timeout;
}

/** Wall-clock time with Node's timers. Timers do not keep the process alive. */
export class SystemClock implements Clock {
  now(): number {
    return Date.now();
  }

  setTimer(name: string, delayMs: number, fn: () => void): TimerHandle {
    const delay = Math.max(0, delayMs);
    const handle: SystemTimer = { name, dueAt: Date.now() + delay, timeout: undefined as never };
    // Node fires a timeout longer than about 24.8 days at once; a longer one waits in steps.
    const arm = (wait: number): void => {
      const step = Math.min(wait, MAX_TIMEOUT_MS);
      handle.timeout = setTimeout(() => {
        const left = handle.dueAt - Date.now();
        if (step === MAX_TIMEOUT_MS && left > 0) arm(left);
        else fn();
      }, step);
      handle.timeout.unref();
    };
    arm(delay);
    return handle;
  }

  clearTimer(handle: TimerHandle | undefined): void {
    if (handle && 'timeout' in handle) clearTimeout((handle as SystemTimer).timeout);
  }
}

interface VirtualTimer extends TimerHandle {
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/** A clock that only moves when told to; timers fire in due order, ties in creation order. */
export class VirtualClock implements Clock {
  private current: number;
  private seq = 0;
  private timers: VirtualTimer[] = [];

  constructor(startMs = 0) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  setTimer(name: string, delayMs: number, fn: () => void): TimerHandle {
    const timer: VirtualTimer = {
      name,
      dueAt: this.current + Math.max(0, delayMs),
      seq: this.seq++,
      fn,
      cancelled: false,
    };
    this.timers.push(timer);
    return timer;
  }

  clearTimer(handle: TimerHandle | undefined): void {
    if (!handle) return;
    const timer = handle as VirtualTimer;
    timer.cancelled = true;
    this.timers = this.timers.filter((t) => t !== timer);
  }

  /** Names of the timers still pending, soonest first. */
  pending(): string[] {
    return this.sorted().map((t) => t.name);
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way. */
  advance(ms: number): void {
    this.advanceTo(this.current + ms);
  }

  /** Moves time to `target` (epoch ms), firing due timers in order; the clock reads each timer's due time while it runs. */
  advanceTo(target: number): void {
    for (;;) {
      const next = this.sorted()[0];
      if (!next || next.dueAt > target) break;
      this.timers = this.timers.filter((t) => t !== next);
      this.current = Math.max(this.current, next.dueAt);
      if (!next.cancelled) next.fn();
    }
    this.current = Math.max(this.current, target);
  }

  private sorted(): VirtualTimer[] {
    return [...this.timers].sort((a, b) => a.dueAt - b.dueAt || a.seq - b.seq);
  }
}
