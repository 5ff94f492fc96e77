/**
 * What one rule run did, kept in memory per rule. Shaped like the stored traces to come: the
 * trigger and its inputs, each condition's value, each action's result, and timing.
 */

/** `fired`: conditions held and `then` ran; `blocked`: they did not (`else` may have run); `error`: an action failed. */
export type RunOutcome = 'fired' | 'blocked' | 'error';

export interface ConditionResult {
  readonly expression: string;
  readonly value: unknown;
  readonly held: boolean;
}

export interface ActionResult {
  readonly kind: string;
  readonly ok: boolean;
  /** What the action did, e.g. the topic and payload it published. */
  readonly detail: string;
  readonly error: string | null;
}

export interface RuleRun {
  readonly ruleId: string;
  readonly outcome: RunOutcome;
  /** Which action list ran; null when the conditions failed and there is no `else`. */
  readonly branch: 'then' | 'else' | null;
  /** The instance the run belongs to (see the rule's `key`). */
  readonly key: string;
  readonly trigger: {
    readonly id: string;
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
    if (list.length > this.limit) list.splice(0, list.length - this.limit);
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
