import {
  decodePayload,
  errorMessage,
  type Clock,
  type Logger,
  type MqttMessage,
  type Publisher,
} from '../kernel/index.js';
import { runAction, type ActionContext } from './actions.js';
import type { Scope } from './expression/scope.js';
import { jsonEqual, toText, truthy } from './expression/values.js';
import { createRuleSet, type MqttTrigger, type Rule, type RuleSet } from './rule.js';
import { RunTraces, type ActionResult, type ConditionResult, type RuleRun, type RuleTrace } from './trace.js';

export interface RuleEngineDeps {
  clock: Clock;
  publisher: Publisher;
  logger: Logger;
  /** Told about every finished run (fired, blocked or failed); a throwing listener is logged. */
  onRun?: (run: RuleRun) => void;
  /** Runs kept in memory per rule and outcome. */
  traceLimit?: number;
}

/** Counters of one rule since it was first loaded; they survive reloads that keep the rule id. */
export interface RuleStats {
  readonly id: string;
  readonly enabled: boolean;
  /** A trigger matched (payload included). */
  readonly triggered: number;
  readonly fired: number;
  readonly blocked: number;
  readonly errors: number;
  /** Epoch ms of the last run's start, null before the first. */
  readonly lastRunAt: number | null;
}

type Counters = { -readonly [K in keyof Omit<RuleStats, 'id' | 'enabled'>]: RuleStats[K] };

const NO_VARS: Readonly<Record<string, unknown>> = Object.freeze({});

/**
 * Runs rules against the messages it is handed. Dispatch goes through the rule set's topic
 * index, so the cost of a message depends on the rules it matches, not on how many are loaded.
 */
export class RuleEngine {
  private set: RuleSet = createRuleSet([]);
  private readonly counters = new Map<string, Counters>();
  private readonly traces: RunTraces;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly actionContext: ActionContext;

  constructor(private readonly deps: RuleEngineDeps) {
    this.traces = new RunTraces(deps.traceLimit ?? 20);
    this.actionContext = { publisher: deps.publisher, logger: deps.logger };
  }

  get ruleSet(): RuleSet {
    return this.set;
  }

  /** Swaps in a new rule set at once; runs already started finish with the rules they started with. */
  load(set: RuleSet): void {
    const ids = new Set(set.rules.map((r) => r.id));
    for (const id of this.counters.keys()) if (!ids.has(id)) this.counters.delete(id);
    this.traces.retain(ids);
    this.set = set;
  }

  /**
   * Feeds one message. Conditions are evaluated before this returns; actions continue in the
   * background (see {@link whenIdle}). Never throws: rule failures are logged and traced.
   */
  handle(message: MqttMessage): void {
    const set = this.set;
    const matches = set.mqtt.match(message.topic);
    if (matches.length === 0) return;
    let payload: unknown = null;
    let decoded = false;
    let levels: readonly string[] | undefined;
    let lastRule: Rule | undefined;
    for (const match of matches) {
      const { rule, trigger } = match.value;
      // A message matching two triggers of one rule runs it once (matches come in rule order).
      if (rule === lastRule) continue;
      if (!decoded) {
        payload = decodePayload(message.payload);
        decoded = true;
      }
      if (trigger.payload && !jsonEqual(payload, trigger.payload.value)) continue;
      lastRule = rule;
      levels ??= message.topic.split('/');
      this.track(this.run(rule, trigger, message.topic, levels, match.captures, payload));
    }
  }

  /** Resolves once every run started so far (and any started meanwhile) has finished. */
  async whenIdle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
  }

  stats(): RuleStats[] {
    return this.set.rules.map((rule) => ({
      id: rule.id,
      enabled: rule.enabled,
      ...(this.counters.get(rule.id) ?? { triggered: 0, fired: 0, blocked: 0, errors: 0, lastRunAt: null }),
    }));
  }

  /** The last runs of a rule by outcome; undefined for a rule not in the loaded set. */
  trace(ruleId: string): RuleTrace | undefined {
    return this.set.get(ruleId) ? this.traces.get(ruleId) : undefined;
  }

  private track(run: Promise<void>): void {
    this.inFlight.add(run);
    void run.finally(() => this.inFlight.delete(run));
  }

  private async run(
    rule: Rule,
    trigger: MqttTrigger,
    topic: string,
    levels: readonly string[],
    captures: Readonly<Record<string, string>>,
    payload: unknown,
  ): Promise<void> {
    const { clock, logger } = this.deps;
    const startedAt = clock.now();
    const conditions: ConditionResult[] = [];
    const actions: ActionResult[] = [];
    let key = topic;
    let branch: RuleRun['branch'] = null;
    let error: string | null = null;
    let held = false;
    try {
      key = defaultKey(trigger, captures, topic);
      let scope: Scope = {
        payload,
        topic,
        levels,
        captures,
        trigger: { id: trigger.id, key },
        vars: NO_VARS,
        now: startedAt,
      };
      if (rule.key) {
        const value = rule.key.evaluate(scope);
        if (value !== null && value !== '') {
          key = toText(value);
          scope = { ...scope, trigger: { id: trigger.id, key } };
        }
      }
      held = true;
      for (const condition of rule.conditions) {
        const value = condition.evaluate(scope);
        const ok = truthy(value);
        conditions.push({ expression: condition.source, value, held: ok });
        held &&= ok;
      }
      const list = held ? rule.then : rule.else;
      if (held || list.length > 0) branch = held ? 'then' : 'else';
      for (const action of list) {
        try {
          actions.push(await runAction(action, scope, rule, this.actionContext));
        } catch (err) {
          // The rest of this run's actions may depend on the failed one, so they are skipped;
          // other rules are unaffected.
          error = `${action.kind} failed: ${errorMessage(err)}`;
          actions.push({ kind: action.kind, ok: false, detail: '', error: errorMessage(err) });
          break;
        }
      }
    } catch (err) {
      error = `rule run failed: ${errorMessage(err)}`;
    }
    if (error !== null) logger.error(`rule ${rule.id}: ${error}`, { rule: rule.id, key });

    const outcome = error !== null ? 'error' : held ? 'fired' : 'blocked';
    const run: RuleRun = {
      ruleId: rule.id,
      outcome,
      branch,
      key,
      trigger: { id: trigger.id, topic, captures, payload },
      conditions,
      actions,
      startedAt,
      finishedAt: clock.now(),
      error,
    };
    // A rule removed by a reload while this run was in flight leaves no counters or trace behind.
    if (this.set.get(rule.id)) {
      this.count(rule.id, run);
      this.traces.record(run);
    }
    this.notify(run);
  }

  private count(id: string, run: RuleRun): void {
    let c = this.counters.get(id);
    if (!c) {
      c = { triggered: 0, fired: 0, blocked: 0, errors: 0, lastRunAt: null };
      this.counters.set(id, c);
    }
    c.triggered++;
    if (run.outcome === 'fired') c.fired++;
    else if (run.outcome === 'blocked') c.blocked++;
    else c.errors++;
    // Runs may finish out of order (actions take different times); keep the latest start.
    c.lastRunAt = Math.max(c.lastRunAt ?? run.startedAt, run.startedAt);
  }

  private notify(run: RuleRun): void {
    try {
      this.deps.onRun?.(run);
    } catch (err) {
      this.deps.logger.error('rule run listener threw', { rule: run.ruleId, error: errorMessage(err) });
    }
  }
}

/** The first named capture of the trigger's filter, else the whole topic. */
function defaultKey(trigger: MqttTrigger, captures: Readonly<Record<string, string>>, topic: string): string {
  const first = trigger.filter.captures[0];
  return first ? (captures[first.name] ?? topic) : topic;
}
