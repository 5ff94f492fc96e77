import type { Clock, DeviceDirectory } from '../../kernel/index.js';
import type { Trigger } from '../language/rule.js';
import { disarm, stillHolds, type Detection, type TriggerInput } from './detect.js';
import type { RuleRuntime } from './rule-runtime.js';

/** Where an input goes once the trigger's timing modifiers let it through, or when throttle drops it. */
export interface PipelineHost {
  readonly clock: Clock;
  readonly devices: DeviceDirectory | undefined;
  fire(rt: RuleRuntime, trigger: Trigger, input: TriggerInput): void;
  throttled(rt: RuleRuntime, trigger: Trigger, input: TriggerInput): void;
}

const forTimer = (t: Trigger, key: string) => `for:${t.index}:${key}`;
const debounceTimer = (t: Trigger, key: string) => `debounce:${t.index}:${key}`;

/** True when the trigger has no timing modifiers and no per-key state: the fast path. */
export function isPlain(trigger: Trigger): boolean {
  return (
    trigger.forMs === null &&
    trigger.debounceMs === null &&
    trigger.throttle === null &&
    trigger.kind !== 'reading'
  );
}

/**
 * The per-key stages a trigger input goes through, in order: `for` (must keep holding), `debounce`
 * (trailing edge, last input wins), `throttle` (N per period). Every change of stage state is
 * stored, so pending timers resume after a restart.
 */
export class TriggerPipeline {
  constructor(private readonly host: PipelineHost) {}

  /** An input with what it means for the trigger (from the detectors, or fire for plain kinds). */
  accept(rt: RuleRuntime, trigger: Trigger, input: TriggerInput, detection: Detection): void {
    const key = input.key;
    const state = rt.triggerState(trigger.index, key);
    let dirty = detection.changed;
    if (detection.break && state.pendingFor) {
      delete state.pendingFor;
      rt.clearTimer(forTimer(trigger, key));
      dirty = true;
    }
    if (!detection.fire) {
      if (dirty) rt.saveTriggerState(trigger.index, key);
      return;
    }
    if (trigger.forMs !== null) {
      // A reading inside the range while `for` is pending neither restarts nor shortens it.
      if (!state.pendingFor) {
        const dueAt = this.host.clock.now() + trigger.forMs;
        state.pendingFor = { dueAt, input };
        this.armFor(rt, trigger, key, dueAt);
        dirty = true;
      }
      if (dirty) rt.saveTriggerState(trigger.index, key);
      return;
    }
    if (disarm(trigger, state)) dirty = true;
    if (dirty && trigger.debounceMs === null) rt.saveTriggerState(trigger.index, key);
    this.afterFor(rt, trigger, input);
  }

  /** Sets the timer of a pending `for` (also when restoring one after a restart). */
  armFor(rt: RuleRuntime, trigger: Trigger, key: string, dueAt: number): void {
    rt.setTimer(forTimer(trigger, key), dueAt - this.host.clock.now(), () => this.forDue(rt, trigger, key));
  }

  armDebounce(rt: RuleRuntime, trigger: Trigger, key: string, dueAt: number): void {
    rt.setTimer(debounceTimer(trigger, key), dueAt - this.host.clock.now(), () =>
      this.debounceDue(rt, trigger, key),
    );
  }

  /** A pending `for` fell due: it fires if it still holds, re-checked against the registry. */
  private forDue(rt: RuleRuntime, trigger: Trigger, key: string): void {
    const state = rt.triggerState(trigger.index, key);
    const pending = state.pendingFor;
    if (!pending) return;
    delete state.pendingFor;
    const holds = stillHolds(trigger, pending.input, state, this.host.devices);
    if (holds) disarm(trigger, state);
    rt.saveTriggerState(trigger.index, key);
    if (holds) this.afterFor(rt, trigger, pending.input);
  }

  private afterFor(rt: RuleRuntime, trigger: Trigger, input: TriggerInput): void {
    if (trigger.debounceMs === null) {
      this.afterDebounce(rt, trigger, input);
      return;
    }
    const state = rt.triggerState(trigger.index, input.key);
    const dueAt = this.host.clock.now() + trigger.debounceMs;
    state.pendingDebounce = { dueAt, input };
    rt.saveTriggerState(trigger.index, input.key);
    this.armDebounce(rt, trigger, input.key, dueAt);
  }

  private debounceDue(rt: RuleRuntime, trigger: Trigger, key: string): void {
    const state = rt.triggerState(trigger.index, key);
    const pending = state.pendingDebounce;
    if (!pending) return;
    delete state.pendingDebounce;
    rt.saveTriggerState(trigger.index, key);
    this.afterDebounce(rt, trigger, pending.input);
  }

  private afterDebounce(rt: RuleRuntime, trigger: Trigger, input: TriggerInput): void {
    const throttle = trigger.throttle;
    if (throttle !== null) {
      const now = this.host.clock.now();
      const state = rt.triggerState(trigger.index, input.key);
      // A sliding window: firings within the last period count.
      const fired = (state.fired ?? []).filter((t) => t > now - throttle.periodMs);
      if (fired.length >= throttle.count) {
        state.fired = fired;
        this.host.throttled(rt, trigger, input);
        return;
      }
      fired.push(now);
      state.fired = fired;
      rt.saveTriggerState(trigger.index, input.key);
    }
    this.host.fire(rt, trigger, input);
  }
}
