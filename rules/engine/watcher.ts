import {
  DirWatch,
  EdgehubError,
  EdgehubErrors,
  errorMessage,
  type Clock,
  type Logger,
} from '../../kernel/index.js';
import { formatProblem, toRuleProblem, type RuleProblem } from '../language/rule-problem.js';
import {
  compileRuleDir,
  isRuleFileName,
  readRuleDir,
  type RuleLoadOptions,
  type RuleLoadResult,
} from '../language/loader.js';
import { findRuleLoops } from '../language/loops.js';
import type { RuleSet } from '../language/rule.js';

/** What the hub tells about its rules (HTTP API, retained MQTT status topic). */
export interface RulesStatus {
  /** False while the last reload was rejected (the set loaded before it stays in force). */
  readonly ok: boolean;
  /** Rules in force. */
  readonly rules: number;
  /** Why the last reload was rejected; empty when it was not. */
  readonly errors: readonly RuleProblem[];
  /** Possible loops in the set in force. */
  readonly warnings: readonly RuleProblem[];
  /** Epoch ms of the last load or reload attempt, on the hub clock. */
  readonly at: number;
}

export interface RuleDirWatcherDeps {
  dir: string;
  clock: Clock;
  logger: Logger;
  /** A valid set was loaded; swap it in. */
  onLoad(set: RuleSet): void;
  /** A reload found problems; the running set stays in force. */
  onError(errors: readonly EdgehubError[]): void;
  /** After every load and reload attempt, valid or not (the retained MQTT status topic). */
  onStatus?(status: RulesStatus): void;
  /** Quiet time after the last file event before reloading, in ms; editors write in several steps. */
  debounceMs?: number;
  /** What a load is checked against (declared devices, the hub's location), asked anew on each load. */
  loadOptions?: () => RuleLoadOptions;
}

const DEBOUNCE_TIMER = 'rules.reload-debounce';

/**
 * Keeps a rules directory loaded: validates the whole set on every change and hands it over only
 * when all of it is valid.
 */
export class RuleDirWatcher {
  private readonly watch: DirWatch;
  private reloading: Promise<RuleLoadResult> | undefined;
  private stopped = false;
  private current: RulesStatus = { ok: true, rules: 0, errors: [], warnings: [], at: 0 };

  constructor(private readonly deps: RuleDirWatcherDeps) {
    this.watch = new DirWatch({
      dir: deps.dir,
      clock: deps.clock,
      logger: deps.logger,
      what: 'rules',
      accepts: isRuleFileName,
      onChange: () => void this.reload(),
      timerName: DEBOUNCE_TIMER,
      ...(deps.debounceMs !== undefined && { debounceMs: deps.debounceMs }),
    });
  }

  /** The outcome of the last load or reload. */
  get status(): RulesStatus {
    return this.current;
  }

  /** Loads the directory (throws {@link EdgehubErrors} when invalid), hands it to `onLoad`, then watches. */
  async start(): Promise<RuleSet> {
    this.stopped = false;
    const { result, warnings } = await this.load();
    if (!result.ok) {
      const first = result.errors[0];
      throw new EdgehubErrors(
        result.errors.length === 1 && first?.code === 'RULES_DIR_NOT_FOUND' ? first.code : 'RULE_INVALID',
        result.errors,
      );
    }
    this.deps.onLoad(result.set);
    this.setStatus(result, warnings);
    this.watch.start();
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
    this.watch.stop();
  }

  private async reloadNow(): Promise<RuleLoadResult> {
    const { dir, logger } = this.deps;
    let loaded: { result: RuleLoadResult; warnings: EdgehubError[] };
    try {
      loaded = await this.load();
    } catch (err) {
      loaded = {
        result: {
          ok: false,
          errors: [
            new EdgehubError('RULE_INVALID', `reloading ${dir} failed: ${errorMessage(err)}`, { cause: err }),
          ],
        },
        warnings: [],
      };
    }
    const { result, warnings } = loaded;
    // After stop() the owner no longer wants sets swapped in.
    if (this.stopped) return result;
    try {
      if (result.ok) this.deps.onLoad(result.set);
      else this.deps.onError(result.errors);
    } catch (err) {
      logger.error('rules reload listener threw', { dir, error: errorMessage(err) });
    }
    this.setStatus(result, warnings);
    return result;
  }

  /** Reads and validates the directory; possible loops are looked for in a valid set only. */
  private async load(): Promise<{ result: RuleLoadResult; warnings: EdgehubError[] }> {
    try {
      const contents = await readRuleDir(this.deps.dir);
      const result = compileRuleDir(contents, this.deps.loadOptions?.() ?? {});
      const loops = result.ok ? findRuleLoops(contents.files) : [];
      return { result, warnings: result.ok ? [...result.warnings, ...loops] : [] };
    } catch (err) {
      if (err instanceof EdgehubError) return { result: { ok: false, errors: [err] }, warnings: [] };
      throw err;
    }
  }

  private setStatus(result: RuleLoadResult, warnings: readonly EdgehubError[]): void {
    const { clock, logger } = this.deps;
    if (result.ok) {
      for (const w of warnings) logger.warn(formatProblem(w, 'warning'), { code: w.code });
      this.current = {
        ok: true,
        rules: result.set.rules.length,
        errors: [],
        warnings: warnings.map(toRuleProblem),
        at: clock.now(),
      };
    } else {
      // The set in force, and its warnings, are still the ones loaded before.
      this.current = {
        ...this.current,
        ok: false,
        errors: result.errors.map(toRuleProblem),
        at: clock.now(),
      };
    }
    try {
      this.deps.onStatus?.(this.current);
    } catch (err) {
      logger.error('rules status listener threw', { dir: this.deps.dir, error: errorMessage(err) });
    }
  }
}
