import { parseDuration, type ErrorCode } from '../../../kernel/index.js';
import { parseDevicePattern } from '../device-pattern.js';
import type { Trigger, TriggerTiming } from '../rule.js';
import { compileSchedule } from '../schedule.js';
import { THROTTLE } from '../schema/common.js';
import type { TriggerDefinition } from '../schema/triggers.js';
import { parseFilter } from '../topic-index.js';
import type { CompileContext } from './context.js';

/** How old a missed schedule firing may be for `catch_up: last` to run it, when not given. */
const DEFAULT_CATCH_UP_WITHIN = '24h';

/** Why a validated trigger still cannot run, and which of its keys to point at. */
export class TriggerProblem extends Error {
  constructor(
    message: string,
    readonly key: string | null,
    readonly code: ErrorCode = 'RULE_INVALID',
  ) {
    super(message);
    this.name = 'TriggerProblem';
  }
}

function timing(def: TriggerDefinition): TriggerTiming {
  let throttle: TriggerTiming['throttle'] = null;
  if (def.throttle !== undefined) {
    const m = THROTTLE.exec(def.throttle);
    throttle = { count: Number(m?.[1] ?? 1), periodMs: parseDuration(m?.[2] ?? '1s') };
  }
  return {
    forMs: def.for !== undefined ? parseDuration(def.for) : null,
    debounceMs: def.debounce !== undefined ? parseDuration(def.debounce) : null,
    throttle,
  };
}

const boxed = (value: unknown): { value: unknown } | null => (value === undefined ? null : { value });

/**
 * Turns a schema-valid trigger into a runnable one. Used at load time and for `wait` triggers
 * whose strings are rendered when the wait starts; throws {@link TriggerProblem}.
 */
export function buildTrigger(def: TriggerDefinition, index: number): Trigger {
  const base = { index, id: def.id ?? String(index), ...timing(def) };
  if (def.mqtt !== undefined) {
    const filter = parseFilter(def.mqtt);
    if ('error' in filter) throw new TriggerProblem(filter.error, 'mqtt');
    return { ...base, kind: 'mqtt', filter, payload: boxed(def.payload) };
  }
  if (def.device !== undefined) {
    const device = parseDevicePattern(def.device);
    if (def.status !== undefined) return { ...base, kind: 'status', device, status: def.status };
    const nested = def.changes !== null && typeof def.changes === 'object' ? def.changes : null;
    const changes =
      def.changes === undefined
        ? null
        : { from: boxed(nested ? nested.from : def.from), to: boxed(nested ? nested.to : def.to) };
    const range =
      def.above !== undefined || def.below !== undefined
        ? { above: def.above ?? null, below: def.below ?? null }
        : null;
    return {
      ...base,
      kind: 'reading',
      device,
      metric: def.metric ?? '',
      range,
      changes,
      hysteresis: def.hysteresis ?? 0,
      deadband: def.deadband ?? null,
    };
  }
  if (def.schedule !== undefined) {
    const key = (['cron', 'every', 'at', 'sun'] as const).find((k) => def.schedule?.[k] !== undefined);
    try {
      const catchUp =
        def.schedule.catch_up === 'last'
          ? { withinMs: parseDuration(def.schedule.catch_up_within ?? DEFAULT_CATCH_UP_WITHIN) }
          : null;
      return { ...base, kind: 'schedule', schedule: compileSchedule(def.schedule), catchUp };
    } catch (err) {
      const reason = err instanceof Error ? err.message.replace(/^CronPattern: /, '') : String(err);
      throw new TriggerProblem(
        key === 'cron' ? `not a valid cron pattern: ${reason}` : reason,
        key ?? 'schedule',
        'RULE_SCHEDULE_INVALID',
      );
    }
  }
  if (def.event !== undefined) return { ...base, kind: 'event', event: def.event };
  throw new TriggerProblem('a trigger needs one of: mqtt, device, schedule, event', null);
}

/** {@link buildTrigger} at load time: problems become located errors; devices are checked. */
export function compileTrigger(
  def: TriggerDefinition,
  path: readonly PropertyKey[],
  index: number,
  ctx: CompileContext,
): Trigger | null {
  let trigger: Trigger;
  try {
    trigger = buildTrigger(def, index);
  } catch (err) {
    if (!(err instanceof TriggerProblem)) throw err;
    const at =
      err.key === null ? path : err.key === 'schedule' ? [...path, 'schedule'] : keyPath(path, err.key);
    ctx.fail(err.code, err.message, at);
    return null;
  }
  if (trigger.kind === 'reading' || trigger.kind === 'status')
    ctx.checkDevice(trigger.device, [...path, 'device']);
  if (trigger.kind === 'schedule' && trigger.schedule.needsLocation && ctx.options.hasLocation === false) {
    ctx.fail(
      'RULE_SCHEDULE_INVALID',
      'sun: needs the hub location; set hub.latitude and hub.longitude in the config',
      [...path, 'schedule', 'sun'],
    );
    return null;
  }
  return trigger;
}

/** Schedule keys live one level down, under `schedule:`. */
function keyPath(path: readonly PropertyKey[], key: string): PropertyKey[] {
  return ['cron', 'every', 'at', 'sun'].includes(key) ? [...path, 'schedule', key] : [...path, key];
}
