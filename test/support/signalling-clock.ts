import { VirtualClock, type TimerHandle } from '../../kernel/index.js';

/**
 * A virtual clock that can say when the next timer is set: how a test learns that fs.watch saw a
 * change (the watcher arms its debounce timer) without sleeping.
 */
export class SignallingClock extends VirtualClock {
  private waiters: { name: string | undefined; resolve: () => void }[] = [];

  override setTimer(name: string, delayMs: number, fn: () => void): TimerHandle {
    const handle = super.setTimer(name, delayMs, fn);
    this.waiters = this.waiters.filter((w) => {
      if (w.name !== undefined && w.name !== name) return true;
      w.resolve();
      return false;
    });
    return handle;
  }

  /** Resolves when the next timer (named `name`, when given) is set. */
  nextTimer(name?: string): Promise<void> {
    return new Promise((resolve) => this.waiters.push({ name, resolve }));
  }
}
