import type { DeviceDirectory } from '../../kernel/index.js';
import type { Scope } from '../language/expression/scope.js';
import { jsonEqual, truthy } from '../language/expression/values.js';
import type { Condition, Rule, Action } from '../language/rule.js';
import type { ConditionResult } from './rule-run.js';
import { localTime } from '../language/local-time.js';
import type { HubPlace } from '../language/schedule.js';

type DeviceCondition = Extract<Condition, { kind: 'device' }>;

/** What conditions read besides the run's scope. */
export interface ConditionEnv {
  readonly devices: DeviceDirectory | undefined;
  /** The hub's time zone (for `time` windows) and location (for sun schedules). */
  readonly place: HubPlace;
  readonly trackers: HeldSinceTrackers;
}

/** Evaluates every condition (not stopping at the first false one, so traces show each value). */
export function evaluateConditions(
  conditions: readonly Condition[],
  scope: Scope,
  env: ConditionEnv,
): { held: boolean; results: ConditionResult[] } {
  let held = true;
  const results: ConditionResult[] = [];
  for (const c of conditions) {
    const r = evaluate(c, scope, env);
    results.push(r);
    held &&= r.held;
  }
  return { held, results };
}

function evaluate(c: Condition, scope: Scope, env: ConditionEnv): ConditionResult {
  switch (c.kind) {
    case 'expression': {
      const value = c.expression.evaluate(scope);
      return { expression: c.source, value, held: truthy(value) };
    }
    case 'all':
    case 'any': {
      const children = c.items.map((item) => evaluate(item, scope, env));
      const held = c.kind === 'all' ? children.every((r) => r.held) : children.some((r) => r.held);
      return { expression: c.source, value: held, held, children };
    }
    case 'not': {
      const child = evaluate(c.item, scope, env);
      return { expression: c.source, value: !child.held, held: !child.held, children: [child] };
    }
    case 'time': {
      const held = inTimeWindow(c, scope.now, env.place.timezone);
      return { expression: c.source, value: held, held };
    }
    case 'status': {
      const status = env.devices?.get(c.device)?.status ?? 'unknown';
      return { expression: c.source, value: status, held: status === c.is };
    }
    case 'device': {
      const view = env.devices?.get(c.device);
      const value = view?.state[c.metric] ?? null;
      let held = deviceTest(c, value);
      if (held && c.forMs !== null) {
        // Held since the engine saw it start to hold, else at least since the registry's last report.
        const since = env.trackers.heldSince(c) ?? view?.updatedAt[c.metric] ?? null;
        held = since !== null && scope.now - since >= c.forMs;
      }
      return { expression: c.source, value, held };
    }
  }
}

/** Whether `value` passes a device condition's above/below/is test (ignoring `for`). */
export function deviceTest(c: DeviceCondition, value: unknown): boolean {
  if (c.is !== null) return jsonEqual(value, c.is.value);
  if (typeof value !== 'number') return false;
  return (c.above === null || value > c.above) && (c.below === null || value < c.below);
}

/** Windows may span midnight (`after: 22:00, before: 06:00`); `before` is exclusive. */
export function inTimeWindow(
  c: Extract<Condition, { kind: 'time' }>,
  epochMs: number,
  timezone: string,
): boolean {
  const t = localTime(epochMs, timezone);
  if (c.weekdays !== null && !c.weekdays.has(t.weekday)) return false;
  const s = t.secondOfDay;
  if (c.after !== null && c.before !== null) {
    return c.after < c.before ? s >= c.after && s < c.before : s >= c.after || s < c.before;
  }
  if (c.after !== null) return s >= c.after;
  if (c.before !== null) return s < c.before;
  return true;
}

const signature = (c: DeviceCondition): string =>
  `${c.device}\u0000${c.metric}\u0000${JSON.stringify([c.above, c.below, c.is?.value ?? null])}`;

/**
 * Since when each device condition with `for:` has held, followed from the readings the hub feeds
 * the engine. Keyed by device, metric and test, so the same condition in two rules (or across a
 * reload) shares what was seen. Not stored: after a restart, `for` counts from the first reading.
 */
export class HeldSinceTrackers {
  private readonly byMetric = new Map<string, DeviceCondition[]>();
  private readonly since = new Map<string, number | null>();

  /** Follows the device conditions with `for:` of `rules`; what was seen of kept ones stays. */
  reset(rules: readonly Rule[]): void {
    this.byMetric.clear();
    const keep = new Set<string>();
    const visit = (c: Condition): void => {
      if (c.kind === 'all' || c.kind === 'any') c.items.forEach(visit);
      else if (c.kind === 'not') visit(c.item);
      else if (c.kind === 'device' && c.forMs !== null) {
        const id = `${c.device}\u0000${c.metric}`;
        const list = this.byMetric.get(id) ?? [];
        list.push(c);
        this.byMetric.set(id, list);
        keep.add(signature(c));
      }
    };
    const visitActions = (list: readonly Action[]): void => {
      for (const a of list) {
        if (a.kind !== 'choose') continue;
        for (const o of a.options) {
          o.conditions.forEach(visit);
          visitActions(o.then);
        }
        visitActions(a.otherwise);
      }
    };
    for (const rule of rules) {
      rule.conditions.forEach(visit);
      visitActions(rule.then);
      visitActions(rule.else);
    }
    for (const id of this.since.keys()) if (!keep.has(id)) this.since.delete(id);
  }

  onReading(deviceId: string, metric: string, value: unknown, at: number): void {
    const list = this.byMetric.get(`${deviceId}\u0000${metric}`);
    if (!list) return;
    for (const c of list) {
      const id = signature(c);
      if (!deviceTest(c, value)) this.since.set(id, null);
      else if ((this.since.get(id) ?? null) === null) this.since.set(id, at);
    }
  }

  /** Epoch ms since which it has held, null when it does not hold or nothing was seen yet. */
  heldSince(c: DeviceCondition): number | null {
    return this.since.get(signature(c)) ?? null;
  }
}
