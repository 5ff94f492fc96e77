import { errorMessage, type Logger } from '../../kernel/index.js';
import { RunTraces, type BlockReason, type RuleRun, type RuleTrace } from './rule-run.js';

/** Counters of one rule since it was first loaded; they survive reloads that keep the rule id. */
export interface RuleStats {
  readonly id: string;
  readonly enabled: boolean;
  /** A trigger let an input through to the rule (counted whatever happened next). */
  readonly triggered: number;
  readonly fired: number;
  /** `if` did not hold, or the input was dropped (see `dropped`). */
  readonly blocked: number;
  readonly errors: number;
  /** Inputs dropped before the conditions, by reason. */
  readonly dropped: Readonly<Record<Exclude<BlockReason, 'condition'>, number>>;
  /** Epoch ms of the last run's start, null before the first. */
  readonly lastRunAt: number | null;
}

interface Counters {
  triggered: number;
  fired: number;
  blocked: number;
  errors: number;
  dropped: { cooldown: number; throttle: number; mode: number; suspended: number; loop: number };
  lastRunAt: number | null;
}

const empty = (): Counters => ({
  triggered: 0,
  fired: 0,
  blocked: 0,
  errors: 0,
  dropped: { cooldown: 0, throttle: 0, mode: 0, suspended: 0, loop: 0 },
  lastRunAt: null,
});

/** Counts and keeps the runs of the loaded rules, and tells the `onRun` listener about every one. */
export class RunBook {
  private readonly counters = new Map<string, Counters>();
  private readonly traces: RunTraces;
  private loaded = new Set<string>();

  constructor(
    private readonly deps: {
      traceLimit: number;
      logger: Logger;
      onRun: ((run: RuleRun) => void) | undefined;
    },
  ) {
    this.traces = new RunTraces(deps.traceLimit);
  }

  /** The rule ids now loaded; counters and traces of others are dropped. */
  retain(ids: ReadonlySet<string>): void {
    this.loaded = new Set(ids);
    for (const id of this.counters.keys()) if (!ids.has(id)) this.counters.delete(id);
    this.traces.retain(ids);
  }

  record(run: RuleRun): void {
    // A rule removed by a reload while this run was in flight leaves no counters or trace behind.
    if (this.loaded.has(run.ruleId)) {
      this.count(run);
      this.traces.record(run);
    }
    try {
      this.deps.onRun?.(run);
    } catch (err) {
      this.deps.logger.error('rule run listener threw', { rule: run.ruleId, error: errorMessage(err) });
    }
  }

  stats(id: string, enabled: boolean): RuleStats {
    const c = this.counters.get(id) ?? empty();
    return { id, enabled, ...c, dropped: { ...c.dropped } };
  }

  trace(id: string): RuleTrace {
    return this.traces.get(id);
  }

  private count(run: RuleRun): void {
    let c = this.counters.get(run.ruleId);
    if (!c) {
      c = empty();
      this.counters.set(run.ruleId, c);
    }
    c.triggered++;
    if (run.outcome === 'fired') c.fired++;
    else if (run.outcome === 'blocked') c.blocked++;
    else c.errors++;
    if (run.reason !== null && run.reason !== 'condition') c.dropped[run.reason]++;
    // Runs may finish out of order (actions take different times); keep the latest start.
    c.lastRunAt = Math.max(c.lastRunAt ?? run.startedAt, run.startedAt);
  }
}
