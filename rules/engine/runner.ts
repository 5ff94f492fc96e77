import { randomUUID } from 'node:crypto';
import {
  errorMessage,
  type Cause,
  type Clock,
  type DeviceDirectory,
  type Logger,
} from '../../kernel/index.js';
import { feedMatches, type TriggerFeed } from '../language/loops.js';
import type { ActionContext } from './actions.js';
import type { AlertBook } from './alert-book.js';
import { buildTrigger } from '../language/compile/trigger.js';
import type { Scope, TriggerInfo } from '../language/expression/scope.js';
import type { Rule, Trigger } from '../language/rule.js';
import type { TriggerDefinition } from '../language/schema/triggers.js';
import type { ActionResult, BlockReason, ConditionResult, RuleRun, RunOutcome } from './rule-run.js';
import { evaluateConditions, type ConditionEnv } from './conditions.js';
import type { TriggerInput } from './detect.js';
import { execute, type ExecutorHost } from './executor.js';
import type { ParkedRun, RuleRuntime, RunPosition, RunState } from './rule-runtime.js';
import type { RunBook } from './run-book.js';
import { waitMatcher, waitResult, type WaitInput } from './waits.js';

/**
 * `rules.loop_breaker` in the config. Loops are found by cause: a run whose triggering message
 * came through a chain of `maxDepth` or more rule runs, among them this rule for this key, is a
 * loop (so is any chain ten times that deep, whatever its keys). Chains through a device (a
 * command whose state comes back) carry no cause; for them the rate guard suspends a key that runs
 * more than `maxRuns` times within `windowMs`, counting only runs whose trigger came from a topic
 * the rule's own chain publishes to, so a busy sensor never counts.
 */
export interface LoopBreakerSettings {
  readonly maxDepth: number;
  readonly maxRuns: number;
  readonly windowMs: number;
  readonly suspendForMs: number;
}

export const DEFAULT_LOOP_BREAKER: LoopBreakerSettings = {
  maxDepth: 10,
  maxRuns: 200,
  windowMs: 1_000,
  suspendForMs: 300_000,
};

/** The rate guard a rule runs under: the hub's, with the rule's `loop_guard` over it; null when off. */
function rateGuard(rule: Rule, settings: LoopBreakerSettings): { maxRuns: number; windowMs: number } | null {
  const own = rule.loopGuard;
  if (own === false) return null;
  return { maxRuns: own?.maxRuns ?? settings.maxRuns, windowMs: own?.windowMs ?? settings.windowMs };
}

/** `ping(gh-1) → pong(gh-1) → ping(gh-1)`: a chain as people read it. */
export function formatChain(chain: Cause): string {
  return chain.map((l) => `${l.rule}(${l.key})`).join(' → ');
}

export interface RunnerDeps {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly devices: DeviceDirectory | undefined;
  readonly actions: ActionContext;
  readonly conditions: ConditionEnv;
  readonly alerts: AlertBook;
  readonly loopBreaker: LoopBreakerSettings | null;
  readonly book: RunBook;
  /** Whether a trigger's runs may be the rule's own echo, from the set in force (`RuleSet.feeds`). */
  feed(rule: string, triggerIndex: number): TriggerFeed;
  /** Internal events (`rule.suspended`) to rules and to the hub. */
  emit(name: string, data: unknown): void;
  /** Keeps a promise for `whenIdle`. */
  track(run: Promise<void>): void;
}

interface ActiveWait {
  readonly run: RunState;
  readonly matches: (input: WaitInput) => boolean;
  readonly position: RunPosition;
}

/**
 * Starts runs (suspension, cooldown, mode, conditions, loop breaker), runs their actions, parks
 * them on delays and waits, wakes them, and records how each ended.
 */
export class Runner implements ExecutorHost {
  private readonly waits = new Set<ActiveWait>();
  readonly actions: ActionContext;
  readonly conditions: ConditionEnv;
  /**
   * Run ids are this engine's random prefix and a counter: unique across restarts (a parked run
   * keeps its stored id) without a UUID per run, which was a tenth of what a busy rule allocated.
   */
  private readonly runIdPrefix = randomUUID().slice(0, 13);
  private runCount = 0;

  constructor(private readonly deps: RunnerDeps) {
    this.actions = deps.actions;
    this.conditions = deps.conditions;
  }

  now(): number {
    return this.deps.clock.now();
  }

  private readonly lookupDevice = (id: unknown): unknown => {
    if (typeof id !== 'string') return null;
    const view = this.deps.devices?.get(id);
    if (!view) return null;
    return {
      id: view.id,
      status: view.status,
      last_seen: view.lastSeen,
      state: view.state,
      updated_at: view.updatedAt,
    };
  };

  scopeOf(run: RunState): Scope {
    return this.scope(run.runtime, run.input, run.wait);
  }

  private scope(rt: RuleRuntime, input: TriggerInput, wait: unknown): Scope {
    return new RunScope(input, rt.vars, this.deps.clock.now(), wait, this.lookupDevice);
  }

  private nextRunId(): string {
    return `${this.runIdPrefix}-${(++this.runCount).toString(36)}`;
  }

  /** A scope for the rule's `key` expression, before the key is known. */
  keyScope(rt: RuleRuntime, input: TriggerInput): Scope {
    return this.scope(rt, input, null);
  }

  /** A trigger let the input through: the rule runs for its key unless something blocks it. */
  start(rt: RuleRuntime, trigger: Trigger, input: TriggerInput): void {
    if (rt.disposed) return;
    const rule = rt.rule;
    const now = this.deps.clock.now();
    const k = rt.key(input.key);
    if (k.suspendedUntil !== null && now < k.suspendedUntil) return this.blocked(rt, input, 'suspended', []);
    if (rule.cooldownMs !== null && k.lastFiredAt !== null && now - k.lastFiredAt < rule.cooldownMs) {
      return this.blocked(rt, input, 'cooldown', []);
    }
    const holding = holdingRuns(k.active);
    switch (rule.mode) {
      case 'single':
        if (holding.length > 0) return this.blocked(rt, input, 'mode', []);
        break;
      case 'restart':
        for (const run of holding) this.cancel(run, 'restarted by a new trigger');
        break;
      case 'queued':
        if (holding.length > 0) {
          if (k.queue.length < rule.max) {
            k.queue.push({ trigger, input });
            rt.saveKey(input.key);
          } else this.blocked(rt, input, 'mode', []);
          return;
        }
        break;
      case 'parallel':
        if (holding.length >= rule.max) return this.blocked(rt, input, 'mode', []);
        break;
    }
    this.begin(rt, input, now);
  }

  /** The trigger's throttle dropped the input. */
  throttled(rt: RuleRuntime, _trigger: Trigger, input: TriggerInput): void {
    this.blocked(rt, input, 'throttle', []);
  }

  private begin(rt: RuleRuntime, input: TriggerInput, now: number): void {
    const rule = rt.rule;
    let held = false;
    let conditions: ConditionResult[] = [];
    try {
      const evaluated = evaluateConditions(rule.conditions, this.keyScope(rt, input), this.conditions);
      held = evaluated.held;
      conditions = evaluated.results;
    } catch (err) {
      // Expressions never throw; a condition reading a broken device port might.
      this.record(
        rt,
        this.summary(rt, input, now, { outcome: 'error', conditions, error: errorMessage(err) }),
      );
      return;
    }
    const branch = held ? 'then' : rule.else.length > 0 ? 'else' : null;
    if (branch === null) return this.blocked(rt, input, 'condition', conditions);
    const k = rt.key(input.key);
    const loop = this.loopOf(rt, input, now);
    if (loop !== null) {
      this.suspend(rt, input.key, now, loop);
      return this.blocked(rt, input, loop.chain ? 'loop' : 'suspended', conditions, loop.message);
    }
    if (held && rule.cooldownMs !== null) {
      k.lastFiredAt = now;
      rt.saveKey(input.key);
    }
    const run: RunState = {
      id: this.nextRunId(),
      runtime: rt,
      input,
      startedAt: now,
      branch,
      conditions,
      actions: [],
      wait: null,
      cancelled: null,
      error: null,
      parked: null,
      busy: false,
      stored: false,
      finished: false,
    };
    this.continue(run, { list: branch, index: 0 });
  }

  private continue(run: RunState, position: RunPosition): void {
    let outcome: ReturnType<typeof execute>;
    try {
      outcome = execute(run, position, this);
    } catch (err) {
      run.error = `rule run failed: ${errorMessage(err)}`;
      this.finish(run);
      return;
    }
    if (outcome === 'done') {
      this.finish(run);
      return;
    }
    // A run that ended within its message never joins its key's active runs: adding and removing
    // it would only reallocate the set, which lives as long as the key.
    run.runtime.key(run.input.key).active.add(run);
    if (outcome === 'parked') return;
    this.deps.track(
      outcome.then(
        (settled) => {
          if (settled === 'done') this.finish(run);
        },
        (err: unknown) => {
          run.error = `rule run failed: ${errorMessage(err)}`;
          this.finish(run);
        },
      ),
    );
  }

  /**
   * Why this run would be a loop, or null: its cause holds this rule and key at depth, or it is one
   * run too many of the rule's own echo within the rate guard's window.
   */
  private loopOf(
    rt: RuleRuntime,
    input: TriggerInput,
    now: number,
  ): { message: string; chain: Cause | null } | null {
    const settings = this.deps.loopBreaker;
    if (!settings) return null;
    const rule = rt.rule.id;
    const key = input.key;
    const cause = input.cause;
    if (cause !== undefined && cause.length >= settings.maxDepth) {
      const again = cause.some((l) => l.rule === rule && l.key === key);
      if (again || cause.length >= settings.maxDepth * 10) {
        const chain = [...cause, { rule, key }];
        return {
          chain,
          message: `rule ${rule} was caused by itself for key "${key}" through ${cause.length} rule runs: ${formatChain(chain)}; suspended for ${settings.suspendForMs} ms`,
        };
      }
    }
    const guard = rateGuard(rt.rule, settings);
    if (!guard) return null;
    const feed = this.deps.feed(rule, input.triggerIndex);
    // Device inputs have no topic: a feed reaching them counts every run.
    if (feed === 'never' || (input.topic !== '' && !feedMatches(feed, input.topic))) return null;
    const k = rt.key(key);
    k.recent = k.recent.filter((t) => t > now - guard.windowMs);
    k.recent.push(now);
    if (k.recent.length <= guard.maxRuns) return null;
    k.recent = [];
    return {
      chain: null,
      message: `rule ${rule} ran more than ${guard.maxRuns} times within ${guard.windowMs} ms for key "${key}", each time on a topic its own chain publishes to; suspended for ${settings.suspendForMs} ms`,
    };
  }

  /** Suspends the rule for the key: logged, alerted, and announced as `rule.suspended`. */
  private suspend(
    rt: RuleRuntime,
    key: string,
    now: number,
    loop: { message: string; chain: Cause | null },
  ): void {
    const settings = this.deps.loopBreaker;
    if (!settings) return;
    const k = rt.key(key);
    k.suspendedUntil = now + settings.suspendForMs;
    rt.saveKey(key);
    this.armSuspension(rt, key, k.suspendedUntil);
    const { message, chain } = loop;
    const by = chain ? 'cause' : 'rate';
    this.deps.logger.warn(message, {
      rule: rt.rule.id,
      key,
      by,
      ...(chain && { chain: formatChain(chain) }),
    });
    this.deps.track(
      this.deps.alerts
        .raise({ key: suspensionAlertKey(rt.rule.id, key), severity: 'major', message, source: 'engine' })
        .then(
          () => undefined,
          (err: unknown) =>
            this.deps.logger.error('raising the loop alert failed', { error: errorMessage(err) }),
        ),
    );
    this.deps.emit('rule.suspended', {
      rule: rt.rule.id,
      key,
      until: k.suspendedUntil,
      by,
      chain: chain?.map((l) => ({ rule: l.rule, key: l.key })) ?? null,
      max_depth: settings.maxDepth,
      max_runs: rateGuard(rt.rule, settings)?.maxRuns ?? null,
    });
  }

  /** Ends a suspension when it runs out (also after a restart) and clears its alert. */
  armSuspension(rt: RuleRuntime, key: string, until: number): void {
    rt.setTimer(`suspend:${key}`, until - this.deps.clock.now(), () => {
      const k = rt.key(key);
      k.suspendedUntil = null;
      rt.saveKey(key);
      this.deps.track(
        this.deps.alerts.clear(suspensionAlertKey(rt.rule.id, key)).then(
          () => undefined,
          (err: unknown) =>
            this.deps.logger.error('clearing the loop alert failed', { error: errorMessage(err) }),
        ),
      );
    });
  }

  /** Ends a run early; a parked run ends at once, a running one after its current action. */
  cancel(run: RunState, reason: string): void {
    run.cancelled ??= reason;
    if (run.parked) {
      run.parked.cancel();
      run.parked = null;
      this.finish(run);
    } else {
      run.runtime.keys.get(run.input.key)?.active.delete(run);
    }
  }

  park(
    run: RunState,
    position: RunPosition,
    on: { kind: 'delay'; dueAt: number } | { kind: 'wait'; dueAt: number; trigger: TriggerDefinition },
  ): void {
    const parked: ParkedRun = {
      key: run.input.key,
      input: run.input,
      startedAt: run.startedAt,
      branch: run.branch,
      conditions: run.conditions,
      actions: run.actions,
      wait: run.wait,
      position,
      kind: on.kind,
      dueAt: on.dueAt,
      ...(on.kind === 'wait' ? { trigger: on.trigger } : {}),
    };
    run.runtime.saveRun(run.id, parked);
    run.stored = true;
    this.arm(run, parked);
  }

  /** Brings back a run that was parked when the hub stopped. */
  restore(rt: RuleRuntime, runId: string, parked: ParkedRun): void {
    const run: RunState = {
      id: runId,
      runtime: rt,
      input: parked.input,
      startedAt: parked.startedAt,
      branch: parked.branch,
      conditions: parked.conditions,
      actions: [...parked.actions],
      wait: parked.wait,
      cancelled: null,
      error: null,
      parked: null,
      busy: false,
      stored: true,
      finished: false,
    };
    rt.key(parked.key).active.add(run);
    this.arm(run, parked);
  }

  private arm(run: RunState, parked: ParkedRun): void {
    const rt = run.runtime;
    const timer = `run:${run.id}`;
    const delayMs = parked.dueAt - this.deps.clock.now();
    if (parked.kind === 'delay') {
      rt.setTimer(timer, delayMs, () => this.wake(run, parked.position, run.wait));
      run.parked = { cancel: () => rt.clearTimer(timer) };
      return;
    }
    let trigger: Trigger;
    try {
      trigger = buildTrigger(parked.trigger as TriggerDefinition, 0);
    } catch (err) {
      run.error = `wait failed: ${errorMessage(err)}`;
      this.finish(run);
      return;
    }
    const wait: ActiveWait = { run, matches: waitMatcher(trigger), position: parked.position };
    this.waits.add(wait);
    const cancel = (): void => {
      rt.clearTimer(timer);
      rt.clearTimer(`${timer}:schedule`);
      this.waits.delete(wait);
    };
    run.parked = { cancel };
    rt.setTimer(timer, delayMs, () => {
      cancel();
      this.wake(run, parked.position, { timed_out: true });
    });
    if (trigger.kind === 'schedule') {
      const next = trigger.schedule.next(this.deps.clock.now(), this.deps.conditions.place);
      if (next !== null && next < parked.dueAt) {
        rt.setTimer(`${timer}:schedule`, next - this.deps.clock.now(), () => {
          cancel();
          this.wake(run, parked.position, { timed_out: false, kind: 'schedule', payload: { at: next } });
        });
      }
    }
  }

  private wake(run: RunState, position: RunPosition, wait: unknown): void {
    run.parked = null;
    run.wait = wait;
    if (run.finished) return;
    this.continue(run, position);
  }

  hasWaits(): boolean {
    return this.waits.size > 0;
  }

  /** Offers an input to every parked wait; those it satisfies continue. */
  offerToWaits(input: WaitInput): void {
    if (this.waits.size === 0) return;
    for (const wait of [...this.waits]) {
      if (!wait.matches(input)) continue;
      wait.run.parked?.cancel();
      this.wake(wait.run, wait.position, waitResult(input));
    }
  }

  setVars(run: RunState, values: Readonly<Record<string, unknown>>): void {
    run.runtime.vars = { ...run.runtime.vars, ...values };
    run.runtime.saveVars();
  }

  private finish(run: RunState): void {
    if (run.finished) return;
    run.finished = true;
    const rt = run.runtime;
    const k = rt.keys.get(run.input.key);
    k?.active.delete(run);
    if (run.stored && !rt.disposed) rt.saveRun(run.id, null);
    const actions: ActionResult[] = run.actions;
    if (run.cancelled !== null) {
      actions.push({ kind: 'cancelled', ok: false, detail: run.cancelled, error: null });
    }
    if (run.error !== null) {
      this.deps.logger.error(`rule ${rt.rule.id}: ${run.error}`, { rule: rt.rule.id, key: run.input.key });
    }
    const outcome: RunOutcome = run.error !== null ? 'error' : run.branch === 'then' ? 'fired' : 'blocked';
    this.record(
      rt,
      this.summary(rt, run.input, run.startedAt, {
        runId: run.id,
        outcome,
        reason: outcome === 'blocked' ? 'condition' : null,
        branch: run.branch,
        conditions: run.conditions,
        actions,
        error: run.error,
      }),
    );
    this.startQueued(rt, run.input.key);
  }

  /** Starts the next queued input of a key whose runs are done (after a run, or after a restart). */
  startQueued(rt: RuleRuntime, key: string): void {
    const k = rt.keys.get(key);
    if (!k || rt.disposed || k.queue.length === 0 || holdingRuns(k.active).length > 0) return;
    const next = k.queue.shift();
    rt.saveKey(key);
    if (next) this.start(rt, next.trigger, next.input);
  }

  private blocked(
    rt: RuleRuntime,
    input: TriggerInput,
    reason: BlockReason,
    conditions: ConditionResult[],
    why: string | null = null,
  ): void {
    this.record(
      rt,
      this.summary(rt, input, this.deps.clock.now(), { outcome: 'blocked', reason, conditions, error: why }),
    );
  }

  private summary(
    rt: RuleRuntime,
    input: TriggerInput,
    startedAt: number,
    parts: Partial<RuleRun> & { outcome: RunOutcome },
  ): RuleRun {
    return {
      runId: parts.runId ?? this.nextRunId(),
      ruleId: rt.rule.id,
      outcome: parts.outcome,
      reason: parts.reason ?? null,
      branch: parts.branch ?? null,
      key: input.key,
      trigger: {
        id: input.triggerId,
        kind: input.kind,
        topic: input.topic,
        captures: input.captures,
        payload: input.payload,
      },
      conditions: parts.conditions ?? [],
      actions: parts.actions ?? [],
      startedAt,
      finishedAt: this.deps.clock.now(),
      error: parts.error ?? null,
    };
  }

  private record(_rt: RuleRuntime, run: RuleRun): void {
    this.deps.book.record(run);
  }
}

/**
 * A run's scope. `levels` and `trigger` are made on first read: most expressions read neither, and
 * a scope is made for the conditions and again for every action.
 */
class RunScope implements Scope {
  private levelsRead: readonly string[] | undefined;
  private triggerRead: TriggerInfo | undefined;
  readonly payload: unknown;
  readonly topic: string;
  readonly captures: Readonly<Record<string, string>>;

  constructor(
    private readonly input: TriggerInput,
    readonly vars: Readonly<Record<string, unknown>>,
    readonly now: number,
    readonly wait: unknown,
    readonly lookupDevice: (id: unknown) => unknown,
  ) {
    this.payload = input.payload;
    this.topic = input.topic;
    this.captures = input.captures;
  }

  get levels(): readonly string[] {
    this.levelsRead ??= this.topic === '' ? [] : this.topic.split('/');
    return this.levelsRead;
  }

  get trigger(): TriggerInfo {
    const input = this.input;
    this.triggerRead ??= { id: input.triggerId, key: input.key, kind: input.kind };
    return this.triggerRead;
  }
}

/**
 * The runs that hold their key for `mode`: those waiting on a delay, a wait or an http call.
 * Steps that finish at once (publish, log, command, alert, set) do not, so a burst of messages for
 * one key each gets its run even while the broker is still delivering the previous publish.
 */
function holdingRuns(active: ReadonlySet<RunState>): RunState[] {
  const out: RunState[] = [];
  for (const run of active) if (run.parked !== null || run.busy) out.push(run);
  return out;
}

/** The loop breaker's alert for a rule and key, usable as a topic level path. */
export function suspensionAlertKey(ruleId: string, key: string): string {
  return `rule-suspended/${ruleId}/${key.replace(/[+#/]/g, '_') || '_'}`;
}
