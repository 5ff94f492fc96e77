import { watch, type FSWatcher } from 'node:fs';
import {
  EdgehubError,
  EdgehubErrors,
  errorMessage,
  type Clock,
  type Logger,
  type TimerHandle,
} from '../kernel/index.js';
import { isRuleFileName, tryLoadRuleDir, type RuleLoadResult } from './loader.js';
import type { RuleSet } from './rule.js';

export interface RuleDirWatcherDeps {
  dir: string;
  clock: Clock;
  logger: Logger;
  /** A valid set was loaded; swap it in. */
  onLoad(set: RuleSet): void;
  /** A reload found problems; the running set stays in force. */
  onError(errors: readonly EdgehubError[]): void;
  /** Quiet time after the last file event before reloading, in ms; editors write in several steps. */
  debounceMs?: number;
}

const DEBOUNCE_TIMER = 'rules.reload-debounce';

/**
 * Keeps a rules directory loaded: validates the whole set on every change and hands it over only
 * when all of it is valid.
 */
export class RuleDirWatcher {
  private watcher: FSWatcher | undefined;
  private timer: TimerHandle | undefined;
  private reloading: Promise<RuleLoadResult> | undefined;
  private stopped = false;

  constructor(private readonly deps: RuleDirWatcherDeps) {}

  /** Loads the directory (throws {@link EdgehubErrors} when invalid), hands it to `onLoad`, then watches. */
  async start(): Promise<RuleSet> {
    this.stopped = false;
    const result = await tryLoadRuleDir(this.deps.dir);
    if (!result.ok) {
      const first = result.errors[0];
      throw new EdgehubErrors(
        result.errors.length === 1 && first?.code === 'RULES_DIR_NOT_FOUND' ? first.code : 'RULE_INVALID',
        result.errors,
      );
    }
    this.deps.onLoad(result.set);
    this.watcher?.close();
    this.watcher = watch(this.deps.dir, { persistent: false }, (_event, filename) => {
      // Without a name the platform could not tell which file changed; reload to be safe.
      if (filename === null || isRuleFileName(filename)) this.schedule();
    });
    this.watcher.on('error', (err) => {
      this.deps.logger.error('watching the rules directory failed; rules stay as loaded', {
        dir: this.deps.dir,
        error: errorMessage(err),
      });
    });
    return result.set;
  }

  /**
   * Validates the whole directory now: a valid set goes to `onLoad`, problems to `onError`.
   * Reloads never overlap; one requested during another runs after it.
   */
  reload(): Promise<RuleLoadResult> {
    const previous = this.reloading ?? Promise.resolve(undefined);
    const next = previous.then(() => this.reloadNow());
    this.reloading = next;
    return next;
  }

  /** Stops watching and cancels a pending reload; safe to call more than once. */
  stop(): void {
    this.stopped = true;
    this.deps.clock.clearTimer(this.timer);
    this.timer = undefined;
    this.watcher?.close();
    this.watcher = undefined;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.deps.clock.clearTimer(this.timer);
    this.timer = this.deps.clock.setTimer(DEBOUNCE_TIMER, this.deps.debounceMs ?? 200, () => {
      this.timer = undefined;
      void this.reload();
    });
  }

  private async reloadNow(): Promise<RuleLoadResult> {
    const { dir, logger } = this.deps;
    let result: RuleLoadResult;
    try {
      result = await tryLoadRuleDir(dir);
    } catch (err) {
      result = {
        ok: false,
        errors: [
          new EdgehubError('RULE_INVALID', `reloading ${dir} failed: ${errorMessage(err)}`, { cause: err }),
        ],
      };
    }
    // After stop() the owner no longer wants sets swapped in.
    if (this.stopped) return result;
    try {
      if (result.ok) this.deps.onLoad(result.set);
      else this.deps.onError(result.errors);
    } catch (err) {
      logger.error('rules reload listener threw', { dir, error: errorMessage(err) });
    }
    return result;
  }
}
