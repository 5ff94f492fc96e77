import * as z from 'zod';
import {
  AVAILABILITY,
  deviceIdSchema,
  durationSchema,
  keyIssue,
  metricSchema,
  requireOneKind,
  signedDurationSchema,
  throttleSchema,
  timeOfDaySchema,
} from './common.js';

/** Sun events a schedule can follow, in the words of the rule language (suncalc's names differ). */
export const SUN_EVENTS = [
  'sunrise',
  'sunset',
  'sunrise_end',
  'sunset_start',
  'dawn',
  'dusk',
  'nautical_dawn',
  'nautical_dusk',
  'night',
  'night_end',
  'golden_hour',
  'golden_hour_end',
  'solar_noon',
  'nadir',
] as const;
export type SunEvent = (typeof SUN_EVENTS)[number];

const SCHEDULE_KINDS = ['cron', 'every', 'at', 'sun'] as const;

export const scheduleSchema = z
  .object({
    cron: z
      .string({ error: 'expected a cron pattern in quotes, e.g. "0 7 * * 1-5"' })
      .min(1)
      .optional()
      .describe('Cron pattern (5 fields, or 6 with seconds first), in the hub time zone'),
    every: durationSchema.optional().describe('Fire every period, aligned to multiples of it since 1970 UTC'),
    at: timeOfDaySchema.optional().describe('Fire every day at this time of day'),
    sun: z.enum(SUN_EVENTS).optional().describe("A sun event at the hub's latitude/longitude"),
    offset: signedDurationSchema.optional().describe('Shift a sun event, e.g. -15m for 15 minutes before'),
    catch_up: z
      .enum(['none', 'last'])
      .optional()
      .describe('Firings missed while the hub was down: none (default), or the last one, once at start-up'),
    catch_up_within: durationSchema
      .optional()
      .describe('With catch_up: last, how old a missed firing may be and still run (default 24h)'),
  })
  .strict()
  .superRefine((s, ctx) => {
    requireOneKind(s, SCHEDULE_KINDS, ctx, 'a schedule');
    if (s.offset !== undefined && s.sun === undefined) {
      keyIssue(ctx, 'offset', 'offset shifts a sun event; it goes with sun:');
    }
    if (s.catch_up_within !== undefined && s.catch_up !== 'last') {
      keyIssue(ctx, 'catch_up_within', 'catch_up_within bounds catch_up: last; it goes with it');
    }
  });

const changesSchema = z
  .object({
    from: z.unknown().optional().describe('Fire only when the value changes from this'),
    to: z.unknown().optional().describe('Fire only when the value changes to this'),
  })
  .strict();

const triggerShape = {
  id: z.string().min(1).optional().describe('Readable in conditions and actions as trigger.id'),
  mqtt: z
    .string()
    .min(1)
    .optional()
    .describe('MQTT filter; +name / #name capture levels by name, plain + / # capture nothing'),
  payload: z.unknown().optional().describe('With mqtt: fire only when the payload equals this value exactly'),
  device: deviceIdSchema.optional(),
  metric: metricSchema.optional(),
  above: z
    .number()
    .optional()
    .describe('Fire when the metric crosses to greater than this (exactly the value is not above)'),
  below: z.number().optional().describe('Fire when the metric crosses to less than this'),
  changes: z
    .union([z.literal(true), z.null(), changesSchema], {
      error: 'changes: is empty, true, or a map with from: and/or to:',
    })
    .optional()
    .describe('Fire when the metric changes value'),
  from: z.unknown().optional().describe('With changes: the value it changes from'),
  to: z.unknown().optional().describe('With changes: the value it changes to'),
  status: z.enum(AVAILABILITY).optional().describe('Fire when the device becomes online, offline or stale'),
  schedule: scheduleSchema.optional(),
  event: z.string().min(1).optional().describe('An internal or HTTP-posted event, e.g. hub.started'),
  for: durationSchema.optional().describe('The trigger must keep holding this long, per key'),
  hysteresis: z
    .number()
    .positive()
    .optional()
    .describe('With above/below: re-arm only once the value is this far back past the threshold'),
  debounce: durationSchema.optional().describe('Fire once inputs have been quiet this long; the last wins'),
  deadband: z
    .number()
    .positive()
    .optional()
    .describe('Ignore readings that differ from the last accepted one by less than this'),
  throttle: throttleSchema.optional(),
};

export const TRIGGER_KINDS = ['mqtt', 'device', 'schedule', 'event'] as const;
export type TriggerKindName = (typeof TRIGGER_KINDS)[number];

type TriggerShape = { [K in keyof typeof triggerShape]?: unknown };

/** Keys each kind of trigger accepts besides its kind key and `id`. */
const ACCEPTS: Record<string, readonly string[]> = {
  mqtt: ['payload', 'for', 'debounce', 'throttle'],
  reading: [
    'metric',
    'above',
    'below',
    'changes',
    'from',
    'to',
    'for',
    'hysteresis',
    'debounce',
    'deadband',
    'throttle',
  ],
  status: ['status', 'for', 'debounce', 'throttle'],
  schedule: [],
  event: ['debounce', 'throttle'],
};

/** Where a key belongs, for "does not apply here" messages. */
const HOME: Record<string, string> = {
  payload: 'mqtt triggers',
  metric: 'device triggers',
  above: 'device triggers with metric:',
  below: 'device triggers with metric:',
  changes: 'device triggers with metric:',
  from: 'changes:',
  to: 'changes:',
  status: 'device triggers',
  hysteresis: 'above: or below:',
  deadband: 'device triggers with metric:',
  for: 'mqtt and device triggers',
  debounce: 'mqtt, device and event triggers',
  throttle: 'mqtt, device and event triggers',
};

const MODIFIERS = ['for', 'hysteresis', 'debounce', 'deadband', 'throttle'] as const;

function checkTrigger(t: TriggerShape, ctx: z.RefinementCtx, inWait: boolean): void {
  const kind = requireOneKind(t, TRIGGER_KINDS, ctx, 'a trigger');
  if (kind === null) return;
  const has = (k: keyof TriggerShape) => t[k] !== undefined;
  let variant: string = kind;
  if (kind === 'device') {
    if (has('status') && has('metric')) {
      keyIssue(ctx, 'status', 'a device trigger watches either status: or metric:, not both');
      return;
    }
    if (!has('status') && !has('metric')) {
      const valueKey = (['above', 'below', 'changes'] as const).find(has);
      if (valueKey) keyIssue(ctx, valueKey, `${valueKey}: needs metric: to say which reading of the device`);
      else
        keyIssue(
          ctx,
          'device',
          'a device trigger needs metric: (with above:, below: or changes:) or status:',
        );
      return;
    }
    variant = has('status') ? 'status' : 'reading';
    if (variant === 'reading') checkReading(t, ctx);
  }
  const accepted = ACCEPTS[variant] ?? [];
  for (const key of Object.keys(triggerShape) as (keyof TriggerShape)[]) {
    if (key === 'id' || key === kind || !has(key) || accepted.includes(key)) continue;
    keyIssue(
      ctx,
      key,
      `${key}: does not apply to ${kind} triggers; it goes with ${HOME[key] ?? 'other triggers'}`,
    );
  }
  if (inWait) {
    for (const key of MODIFIERS) {
      if (has(key))
        keyIssue(ctx, key, `${key}: does not apply to a wait trigger; a wait ends on the first match`);
    }
  }
}

function checkReading(t: TriggerShape, ctx: z.RefinementCtx): void {
  const has = (k: keyof TriggerShape) => t[k] !== undefined;
  const range = has('above') || has('below');
  if (!range && !has('changes')) {
    keyIssue(ctx, 'metric', 'a metric trigger needs above:, below: or changes:');
    return;
  }
  if (range && has('changes')) {
    keyIssue(ctx, 'changes', 'a trigger fires on crossing (above:/below:) or on changes:, not both');
  }
  if (typeof t.above === 'number' && typeof t.below === 'number' && t.above >= t.below) {
    keyIssue(
      ctx,
      'below',
      `below (${t.below}) must be greater than above (${t.above}); the range between them is empty`,
    );
  }
  if ((has('from') || has('to')) && !has('changes')) {
    keyIssue(ctx, has('from') ? 'from' : 'to', 'from: and to: go with changes:');
  }
  if (t.changes !== null && typeof t.changes === 'object' && (has('from') || has('to'))) {
    keyIssue(
      ctx,
      has('from') ? 'from' : 'to',
      'give from:/to: either inside changes: or beside it, not both',
    );
  }
  if (has('hysteresis') && !range) keyIssue(ctx, 'hysteresis', 'hysteresis: goes with above: or below:');
}

const triggerObject = z.object(triggerShape).strict();

export const triggerSchema = triggerObject.superRefine((t, ctx) => checkTrigger(t, ctx, false));

/** The trigger of a `wait` action: the same kinds, without timing modifiers. */
export const waitTriggerSchema = triggerObject.superRefine((t, ctx) => checkTrigger(t, ctx, true));

export type TriggerDefinition = z.output<typeof triggerSchema>;
export type ScheduleDefinition = z.output<typeof scheduleSchema>;
