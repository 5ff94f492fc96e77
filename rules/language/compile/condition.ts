import { formatDuration, parseDuration } from '../../../kernel/index.js';
import { parseDevicePattern } from '../device-pattern.js';
import type { Condition } from '../rule.js';
import { parseTimeOfDay } from '../local-time.js';
import { WEEKDAYS } from '../schema/common.js';
import type { ConditionDefinition } from '../schema/conditions.js';
import type { CompileContext } from './context.js';

/** `if:` as written (one condition or a list) → the list of compiled conditions, all of which must hold. */
export function compileConditionList(
  def: ConditionDefinition | ConditionDefinition[] | undefined,
  path: readonly PropertyKey[],
  ctx: CompileContext,
): (Condition | null)[] {
  if (def === undefined) return [];
  if (Array.isArray(def)) return def.map((c, i) => compileCondition(c, [...path, i], ctx));
  return [compileCondition(def, path, ctx)];
}

/** Sunday is 0, as `Date#getDay` and the local-time helper count. */
const WEEKDAY_NUMBER: Record<string, number> = Object.fromEntries(WEEKDAYS.map((d, i) => [d, (i + 1) % 7]));

export function compileCondition(
  def: ConditionDefinition,
  path: readonly PropertyKey[],
  ctx: CompileContext,
): Condition | null {
  if (typeof def === 'string') {
    const expression = ctx.expression(path, def);
    return expression ? { kind: 'expression', source: def, expression } : null;
  }
  if (def.all !== undefined || def.any !== undefined) {
    const kind = def.all !== undefined ? 'all' : 'any';
    const list = def.all ?? def.any ?? [];
    const items = list.map((c, i) => compileCondition(c, [...path, kind, i], ctx));
    if (items.some((c) => c === null)) return null;
    const kept = items.filter((c) => c !== null);
    return { kind, source: `${kind}(${kept.map((c) => c.source).join(', ')})`, items: kept };
  }
  if (def.not !== undefined) {
    const item = compileCondition(def.not, [...path, 'not'], ctx);
    return item ? { kind: 'not', source: `not(${item.source})`, item } : null;
  }
  if (def.time !== undefined) {
    const { after, before, weekdays } = def.time;
    const source = [
      'time',
      after !== undefined ? `after ${after}` : '',
      before !== undefined ? `before ${before}` : '',
      weekdays !== undefined ? `on ${weekdays.join(',')}` : '',
    ]
      .filter((p) => p !== '')
      .join(' ');
    return {
      kind: 'time',
      source,
      after: after !== undefined ? parseTimeOfDay(after) : null,
      before: before !== undefined ? parseTimeOfDay(before) : null,
      weekdays: weekdays !== undefined ? new Set(weekdays.map((d) => WEEKDAY_NUMBER[d] ?? 0)) : null,
    };
  }
  if (def.status !== undefined) {
    ctx.checkDevice(parseDevicePattern(def.status.device), [...path, 'status', 'device']);
    return {
      kind: 'status',
      source: `status ${def.status.device} is ${def.status.is}`,
      device: def.status.device,
      is: def.status.is,
    };
  }
  if (def.device !== undefined && def.metric !== undefined) {
    const pattern = parseDevicePattern(def.device);
    if (pattern.exact === null) {
      ctx.fail('RULE_INVALID', 'a device condition names one device; globs (* ?) go in triggers', [
        ...path,
        'device',
      ]);
      return null;
    }
    ctx.checkDevice(pattern, [...path, 'device']);
    const forMs = def.for !== undefined ? parseDuration(def.for) : null;
    const test =
      def.is !== undefined
        ? `is ${JSON.stringify(def.is)}`
        : [
            def.above !== undefined ? `above ${def.above}` : '',
            def.below !== undefined ? `below ${def.below}` : '',
          ]
            .filter((p) => p !== '')
            .join(' ');
    return {
      kind: 'device',
      source: `device ${def.device} ${def.metric} ${test}${forMs !== null ? ` for ${formatDuration(forMs)}` : ''}`,
      device: def.device,
      metric: def.metric,
      above: def.above ?? null,
      below: def.below ?? null,
      is: def.is !== undefined ? { value: def.is } : null,
      forMs,
    };
  }
  // The schema admits only the kinds above, so this is unreachable for validated input.
  return null;
}
