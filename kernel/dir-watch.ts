import { watch, type FSWatcher } from 'node:fs';
import type { Clock, TimerHandle } from './clock.js';
import { errorMessage } from './errors.js';
import type { Logger } from './logger.js';

export interface DirWatchDeps {
  dir: string;
  clock: Clock;
  logger: Logger;
  /** What the directory holds, for the log line when watching fails ("rules", "device definitions"). */
  what: string;
  /** Which file names count; a change to any other name is ignored. */
  accepts(fileName: string): boolean;
  /** Called once the directory has been quiet for `debounceMs` after a change. */
  onChange(): void;
  /** Quiet time after the last file event, in ms; editors write in several steps. Default 200. */
  debounceMs?: number;
  /** The debounce timer's name on the clock. */
  timerName: string;
}

/**
 * Watches one directory and calls `onChange` once a burst of changes to accepted files is over,
 * debounced on the hub clock. What a change means (re-read, validate, swap in) is the owner's.
 */
export class DirWatch {
  private watcher: FSWatcher | undefined;
  private timer: TimerHandle | undefined;

  constructor(private readonly deps: DirWatchDeps) {}

  /** Starts watching; calling it again restarts the watch. */
  start(): void {
    this.stop();
    const { dir, logger, what } = this.deps;
    this.watcher = watch(dir, { persistent: false }, (_event, fileName) => {
      // Without a name the platform could not tell which file changed; treat it as a change.
      if (fileName === null || this.deps.accepts(fileName)) this.schedule();
    });
    this.watcher.on('error', (err) => {
      logger.error(`watching the ${what} directory failed; the ${what} stay as loaded`, {
        dir,
        error: errorMessage(err),
      });
    });
  }

  /** Stops watching and cancels a pending change; safe to call more than once. */
  stop(): void {
    this.deps.clock.clearTimer(this.timer);
    this.timer = undefined;
    this.watcher?.close();
    this.watcher = undefined;
  }

  private schedule(): void {
    if (!this.watcher) return;
    const { clock, debounceMs = 200 } = this.deps;
    clock.clearTimer(this.timer);
    this.timer = clock.setTimer(this.deps.timerName, debounceMs, () => {
      this.timer = undefined;
      this.deps.onChange();
    });
  }
}
