import { errorMessage, type Clock, type Logger, type TimerHandle } from '../../kernel/index.js';
import type { Rule, Trigger } from '../language/rule.js';
import type { RuleStateStore } from './state/rule-state-store.js';
import type { ActionResult, ConditionResult } from './rule-run.js';
import type { TriggerInput, TriggerKeyState } from './detect.js';

/** Where a run continues: the action list (`then`, `else`, `then/2/choose/0`, `then/2/default`) and index. */
export interface RunPosition {
  readonly list: string;
  readonly index: number;
}

/** One run of a rule for one key, from its trigger until its last action (across delays and waits). */
export interface RunState {
  readonly id: string;
  readonly runtime: RuleRuntime;
  readonly input: TriggerInput;
  readonly startedAt: number;
  readonly branch: 'then' | 'else';
  readonly conditions: readonly ConditionResult[];
  readonly actions: ActionResult[];
  /** What the last `wait` saw; null before any. */
  wait: unknown;
  /** Set when a reload, a `restart` mode or a stop ended the run early; says why. */
  cancelled: string | null;
  error: string | null;
  /** Set while the run sits on a delay or wait: how to cancel that. */
  parked: { readonly cancel: () => void } | null;
  /** In an action that takes a while (http); with `parked`, what makes the run hold its key for `mode`. */
  busy: boolean;
  /** The run has a stored position to delete when it ends. */
  stored: boolean;
  finished: boolean;
}

/** A run parked on a delay or wait, as stored so it resumes after a restart. */
export interface ParkedRun {
  readonly key: string;
  readonly input: TriggerInput;
  readonly startedAt: number;
  readonly branch: 'then' | 'else';
  readonly conditions: readonly ConditionResult[];
  readonly actions: readonly ActionResult[];
  readonly wait: unknown;
  readonly position: RunPosition;
  readonly kind: 'delay' | 'wait';
  /** Epoch ms: the end of the delay, or the wait's timeout. */
  readonly dueAt: number;
  /** For a wait: its trigger with the templates rendered. */
  readonly trigger?: unknown;
}

/** The per-key state of a rule that is not per trigger. */
export interface KeyRuntime {
  /** Epoch ms the rule last fired for this key (cooldown). */
  lastFiredAt: number | null;
  /** The loop breaker stopped the key until then (epoch ms). */
  suspendedUntil: number | null;
  /** Epoch ms of recent runs, for the loop breaker. */
  recent: number[];
  readonly active: Set<RunState>;
  readonly queue: { trigger: Trigger; input: TriggerInput }[];
}

export interface RuleRuntimeDeps {
  readonly clock: Clock;
  readonly store: RuleStateStore;
  readonly logger: Logger;
}

/** The slot names of {@link StoredState}: one per trigger, one per key, runs and variables. */
export const SLOT = {
  trigger: (index: number) => `t${index}`,
  key: 'k',
  run: 'run',
  vars: 'vars',
} as const;

/**
 * Everything the engine keeps for one loaded rule: per-trigger and per-key state, its timers, its
 * runs and variables. Kept across a reload that leaves the rule unchanged; disposed otherwise.
 */
export class RuleRuntime {
  readonly triggerStates = new Map<string, TriggerKeyState>();
  readonly keys = new Map<string, KeyRuntime>();
  private readonly timers = new Map<string, TimerHandle>();
  vars: Record<string, unknown> = {};
  disposed = false;

  constructor(
    public rule: Rule,
    private readonly deps: RuleRuntimeDeps,
  ) {}

  triggerState(index: number, key: string): TriggerKeyState {
    const id = `${index}\u0000${key}`;
    let state = this.triggerStates.get(id);
    if (!state) {
      state = {};
      this.triggerStates.set(id, state);
    }
    return state;
  }

  /** Stores a trigger's state for a key; an empty state is deleted instead. */
  saveTriggerState(index: number, key: string): void {
    const state = this.triggerStates.get(`${index}\u0000${key}`);
    const empty = !state || Object.keys(state).length === 0;
    if (empty) this.triggerStates.delete(`${index}\u0000${key}`);
    this.write(() =>
      empty
        ? this.deps.store.delete(this.rule.id, SLOT.trigger(index), key)
        : this.put(SLOT.trigger(index), key, state),
    );
  }

  key(key: string): KeyRuntime {
    let k = this.keys.get(key);
    if (!k) {
      k = { lastFiredAt: null, suspendedUntil: null, recent: [], active: new Set(), queue: [] };
      this.keys.set(key, k);
    }
    return k;
  }

  saveKey(key: string): void {
    const k = this.keys.get(key);
    if (!k || (k.lastFiredAt === null && k.suspendedUntil === null && k.queue.length === 0)) {
      this.write(() => this.deps.store.delete(this.rule.id, SLOT.key, key));
      return;
    }
    // A `mode: queued` rule's waiting inputs survive a restart like its parked runs.
    const queue = k.queue.map((q) => ({ trigger: q.trigger.index, input: q.input }));
    this.write(() =>
      this.put(SLOT.key, key, { lastFiredAt: k.lastFiredAt, suspendedUntil: k.suspendedUntil, queue }),
    );
  }

  saveRun(runId: string, parked: ParkedRun | null): void {
    this.write(() =>
      parked ? this.put(SLOT.run, runId, parked) : this.deps.store.delete(this.rule.id, SLOT.run, runId),
    );
  }

  saveVars(): void {
    this.write(() => this.put(SLOT.vars, '', this.vars));
  }

  /** Starts (replacing) the timer called `name`; the clock sees `rule:<id>:<name>`. */
  setTimer(name: string, delayMs: number, fn: () => void): void {
    this.clearTimer(name);
    const handle = this.deps.clock.setTimer(`rule:${this.rule.id}:${name}`, delayMs, () => {
      this.timers.delete(name);
      fn();
    });
    this.timers.set(name, handle);
  }

  clearTimer(name: string): void {
    const handle = this.timers.get(name);
    if (handle) {
      this.deps.clock.clearTimer(handle);
      this.timers.delete(name);
    }
  }

  hasTimer(name: string): boolean {
    return this.timers.has(name);
  }

  /** Every run going for any key, parked or running. */
  activeRuns(): RunState[] {
    const runs: RunState[] = [];
    for (const k of this.keys.values()) runs.push(...k.active);
    return runs;
  }

  /**
   * Stops every timer and forgets queued triggers; with `dropState`, deletes the stored state too
   * (on a reload that changed or removed the rule, not on a stop, whose state must resume).
   */
  dispose(options: { dropState: boolean; keepVars: boolean }): void {
    this.disposed = true;
    for (const handle of this.timers.values()) this.deps.clock.clearTimer(handle);
    this.timers.clear();
    for (const k of this.keys.values()) k.queue.length = 0;
    if (options.dropState) {
      this.write(() => this.deps.store.deleteRule(this.rule.id, options.keepVars ? [SLOT.vars] : []));
    }
  }

  private put(slot: string, key: string, value: unknown): void {
    this.deps.store.put({ ruleId: this.rule.id, fingerprint: this.rule.fingerprint, slot, key, value });
  }

  /** A failing store is logged; the engine keeps running with what it has in memory. */
  private write(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.deps.logger.error('storing rule state failed; it is kept in memory only', {
        code: 'RULE_STATE_FAILED',
        rule: this.rule.id,
        error: errorMessage(err),
      });
    }
  }
}
