import type { Cause, DeviceDirectory } from '../../kernel/index.js';
import { jsonEqual } from '../language/expression/values.js';
import type { ReadingTrigger, StatusTrigger, Trigger } from '../language/rule.js';

/**
 * A trigger input as the engine keeps it: everything a run's scope is built from, as JSON, so a
 * pending `for`, a debounce or a parked run can be stored and resumed after a restart.
 */
export interface TriggerInput {
  readonly triggerIndex: number;
  readonly triggerId: string;
  readonly kind: Trigger['kind'];
  readonly key: string;
  /** The topic of an MQTT trigger; empty for the other kinds. */
  readonly topic: string;
  readonly captures: Readonly<Record<string, string>>;
  readonly payload: unknown;
  /** Epoch ms the input arrived. */
  readonly at: number;
  /** The rule runs that led to the triggering message, when rules published it (loop detection). */
  readonly cause?: Cause | undefined;
}

/**
 * The state of one trigger for one key, stored as one JSON record whenever it changes.
 * Every field is optional so an empty state is `{}`.
 */
export interface TriggerKeyState {
  /** above/below: false after firing until the value has gone back (past the hysteresis). */
  armed?: boolean;
  /** deadband / changes: the last accepted value; `hasLast` tells a stored null from none. */
  hasLast?: boolean;
  last?: unknown;
  pendingFor?: { dueAt: number; input: TriggerInput };
  /** schedule: epoch ms of the last firing, so `catch_up: last` can tell what was missed. */
  scheduledAt?: number;
  pendingDebounce?: { dueAt: number; input: TriggerInput };
  /** throttle: epoch ms of the firings within the current period. */
  fired?: number[];
}

/**
 * What an input means for a trigger: `fire` (the trigger's condition is met now), `break` (it no
 * longer holds: cancel a pending `for`), both (a new change replaces a pending one), or neither.
 * `changed` says the key state was updated and should be stored.
 */
export interface Detection {
  readonly fire: boolean;
  readonly break: boolean;
  readonly changed: boolean;
}

const IGNORE: Detection = { fire: false, break: false, changed: false };

function inRange(trigger: ReadingTrigger, value: number): boolean {
  const r = trigger.range;
  if (!r) return false;
  return (r.above === null || value > r.above) && (r.below === null || value < r.below);
}

/** Past the hysteresis band on the far side of the threshold(s), so the trigger may fire again. */
function rearms(trigger: ReadingTrigger, value: number): boolean {
  const r = trigger.range;
  if (!r) return false;
  const h = trigger.hysteresis;
  if (h === 0) return !inRange(trigger, value);
  return (r.above !== null && value < r.above - h) || (r.below !== null && value > r.below + h);
}

/**
 * A reading for a `device`+`metric` trigger. `previous` is the registry's previous value, used by
 * `changes` when the trigger has not seen the key before.
 *
 * Crossing: a key starts armed, so the first reading inside the range fires (a greenhouse that
 * boots at 35 °C gets its fan). The arming is stored, so a restart does not fire it again.
 */
export function detectReading(
  trigger: ReadingTrigger,
  state: TriggerKeyState,
  value: unknown,
  previous: unknown,
): Detection {
  let changed = false;
  if (trigger.deadband !== null && typeof value === 'number') {
    if (state.hasLast && typeof state.last === 'number' && Math.abs(value - state.last) < trigger.deadband) {
      return IGNORE;
    }
  }
  if (trigger.changes) {
    const before = state.hasLast ? state.last : previous;
    const known = state.hasLast === true || previous !== undefined;
    if (!state.hasLast || !jsonEqual(state.last, value)) {
      state.hasLast = true;
      state.last = value;
      changed = true;
    }
    if (!known || jsonEqual(before, value)) return { fire: false, break: false, changed };
    const { from, to } = trigger.changes;
    const fire =
      (from === null || jsonEqual(before, from.value)) && (to === null || jsonEqual(value, to.value));
    return { fire, break: true, changed };
  }
  if (trigger.deadband !== null && typeof value === 'number') {
    state.hasLast = true;
    state.last = value;
    changed = true;
  }
  if (typeof value !== 'number') return { fire: false, break: false, changed };
  if (inRange(trigger, value)) return { fire: state.armed !== false, break: false, changed };
  if (state.armed === false && rearms(trigger, value)) {
    state.armed = true;
    changed = true;
  }
  return { fire: false, break: true, changed };
}

export function detectStatus(trigger: StatusTrigger, status: string): Detection {
  const fire = status === trigger.status;
  return { fire, break: !fire, changed: false };
}

/**
 * Whether a pending `for` still holds when it falls due, read from the registry: after a restart
 * the engine missed whatever happened while it was down. Without a directory the engine trusts
 * what it saw; with one, a device or value the registry does not know does not hold.
 */
export function stillHolds(
  trigger: Trigger,
  input: TriggerInput,
  state: TriggerKeyState,
  devices: DeviceDirectory | undefined,
): boolean {
  if (!devices) return true;
  if (trigger.kind === 'status') return devices.get(captured(input))?.status === trigger.status;
  if (trigger.kind !== 'reading') return true;
  const view = devices.get(captured(input));
  if (!view || !Object.hasOwn(view.state, trigger.metric)) return false;
  const value = view.state[trigger.metric];
  if (trigger.changes) {
    const expected = trigger.changes.to ? trigger.changes.to.value : state.hasLast ? state.last : undefined;
    return jsonEqual(value, expected);
  }
  return typeof value === 'number' && inRange(trigger, value);
}

function captured(input: TriggerInput): string {
  return input.captures.device ?? '';
}

/** After a reading trigger fires (or its `for` completes), it stays quiet until re-armed. */
export function disarm(trigger: Trigger, state: TriggerKeyState): boolean {
  if (trigger.kind !== 'reading' || !trigger.range) return false;
  state.armed = false;
  return true;
}
