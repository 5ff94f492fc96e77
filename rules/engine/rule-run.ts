/**
 * What one rule run did, and each near miss: the trigger and its inputs, each condition's value,
 * each action's result, and timing. Kept in memory per rule, and handed to `onRun` so the hub can
 * store them for `edgehub trace`.
 */

/** `fired`: conditions held and `then` ran; `blocked`: it did not (see `reason`; `else` may have run); `error`: an action failed. */
export type RunOutcome = 'fired' | 'blocked' | 'error';

/**
 * Why a trigger did not fire the rule: `condition` (`if` false), `cooldown`, `throttle` (the
 * trigger's N/period spent), `mode` (a run for the key was going and the mode dropped this one) or
 * `suspended` (the loop breaker stopped the rule for this key).
 */
/** `loop`: the run's cause shows the rule causing itself (the trace's `error` names the chain). */
export type BlockReason = 'condition' | 'cooldown' | 'throttle' | 'mode' | 'suspended' | 'loop';

export interface ConditionResult {
  /** The expression as written, or a summary of a map condition (`time after 22:00`). */
  readonly expression: string;
  readonly value: unknown;
  readonly held: boolean;
  /** The items of `all`/`any`/`not`. */
  readonly children?: readonly ConditionResult[];
}

export interface ActionResult {
  readonly kind: string;
  /** Where the action sits in the rule, e.g. `then[2]` or `then[1].choose[0].then[0]`. */
  readonly at?: string;
  readonly ok: boolean;
  /** What the action did, e.g. the topic and payload it published. */
  readonly detail: string;
  readonly error: string | null;
}

export interface RuleRun {
  /** Unique per run; a run parked on a delay keeps its id across a restart. */
  readonly runId: string;
  readonly ruleId: string;
  readonly outcome: RunOutcome;
  /** Set when `outcome` is `blocked`. */
  readonly reason: BlockReason | null;
  /** Which action list ran; null when the conditions failed and there is no `else`. */
  readonly branch: 'then' | 'else' | null;
  /** The instance the run belongs to (see the rule's `key`). */
  readonly key: string;
  readonly trigger: {
    readonly id: string;
    /** mqtt, reading, status, schedule or event. */
    readonly kind: string;
    /** The topic of an MQTT trigger; empty for the other kinds. */
    readonly topic: string;
    readonly captures: Readonly<Record<string, string>>;
    readonly payload: unknown;
  };
  readonly conditions: readonly ConditionResult[];
  readonly actions: readonly ActionResult[];
  /** Epoch ms on the hub clock. */
  readonly startedAt: number;
  readonly finishedAt: number;
  readonly error: string | null;
}

/** The last runs of one rule, newest last, kept separately per outcome so errors are not pushed out by firings. */
export interface RuleTrace {
  readonly fired: readonly RuleRun[];
  readonly blocked: readonly RuleRun[];
  readonly errors: readonly RuleRun[];
}

const LIST: Record<RunOutcome, keyof RuleTrace> = { fired: 'fired', blocked: 'blocked', error: 'errors' };

/** Bounded in-memory traces: `limit` runs per rule and outcome. */
export class RunTraces {
  private readonly byRule = new Map<string, { fired: RuleRun[]; blocked: RuleRun[]; errors: RuleRun[] }>();

  constructor(private readonly limit: number) {}

  record(run: RuleRun): void {
    let trace = this.byRule.get(run.ruleId);
    if (!trace) {
      trace = { fired: [], blocked: [], errors: [] };
      this.byRule.set(run.ruleId, trace);
    }
    const list = trace[LIST[run.outcome]];
    list.push(run);
    // One out per run once full; `shift` makes no array of the removed runs as `splice` does.
    while (list.length > this.limit) list.shift();
  }

  get(ruleId: string): RuleTrace {
    const trace = this.byRule.get(ruleId);
    return {
      fired: [...(trace?.fired ?? [])],
      blocked: [...(trace?.blocked ?? [])],
      errors: [...(trace?.errors ?? [])],
    };
  }

  /** Drops the traces of rules no longer loaded. */
  retain(ids: ReadonlySet<string>): void {
    for (const id of this.byRule.keys()) if (!ids.has(id)) this.byRule.delete(id);
  }
}
