import * as z from 'zod';
import {
  AVAILABILITY,
  deviceIdSchema,
  durationSchema,
  expressionSchema,
  keyIssue,
  metricSchema,
  requireOneKind,
  timeOfDaySchema,
  WEEKDAYS,
} from './common.js';

export type Weekday = (typeof WEEKDAYS)[number];

/** `if:` items: an expression, or a map naming one kind of condition. */
export type ConditionDefinition = string | ConditionMapDefinition;

export interface TimeWindowDefinition {
  after?: string | undefined;
  before?: string | undefined;
  weekdays?: Weekday[] | undefined;
}

export interface ConditionMapDefinition {
  all?: ConditionDefinition[] | undefined;
  any?: ConditionDefinition[] | undefined;
  not?: ConditionDefinition | undefined;
  time?: TimeWindowDefinition | undefined;
  device?: string | undefined;
  metric?: string | undefined;
  above?: number | undefined;
  below?: number | undefined;
  is?: unknown;
  for?: string | undefined;
  status?: { device: string; is: (typeof AVAILABILITY)[number] | 'unknown' } | undefined;
}

const timeWindowSchema = z
  .object({
    after: timeOfDaySchema.optional().describe('From this time of day (inclusive)'),
    before: timeOfDaySchema.optional().describe('Until this time of day (exclusive); may be past midnight'),
    weekdays: z
      .array(z.enum(WEEKDAYS))
      .min(1)
      .optional()
      .describe('Only on these days: mon, tue, wed, thu, fri, sat, sun'),
  })
  .strict()
  .superRefine((w, ctx) => {
    if (w.after === undefined && w.before === undefined && w.weekdays === undefined) {
      ctx.addIssue({ code: 'custom', message: 'a time condition needs after:, before: and/or weekdays:' });
    }
    if (w.after !== undefined && w.after === w.before) {
      keyIssue(ctx, 'before', 'after: and before: are the same time, so the window is empty');
    }
  });

const statusConditionSchema = z
  .object({
    device: deviceIdSchema.describe('A device id'),
    is: z.enum([...AVAILABILITY, 'unknown']).describe('online, offline, stale or unknown'),
  })
  .strict();

const CONDITION_KINDS = ['all', 'any', 'not', 'time', 'device', 'status'] as const;
const DEVICE_KEYS = ['metric', 'above', 'below', 'is', 'for'] as const;

export const conditionSchema: z.ZodType<ConditionDefinition> = z
  .lazy(() =>
    z.union([expressionSchema, conditionMapSchema], {
      error: 'expected an expression, or a map with all:, any:, not:, time:, device: or status:',
    }),
  )
  .meta({
    id: 'condition',
    description: 'An expression, or a map with all, any, not, time, device or status',
  });

const conditionMapSchema: z.ZodType<ConditionMapDefinition> = z
  .object({
    all: z.array(conditionSchema).min(1).optional().describe('Holds when every item holds'),
    any: z.array(conditionSchema).min(1).optional().describe('Holds when at least one item holds'),
    not: conditionSchema.optional().describe('Holds when the item does not'),
    time: timeWindowSchema.optional().describe('A time window in the hub time zone'),
    device: deviceIdSchema.optional().describe("With metric: the registry's current value"),
    metric: metricSchema.optional(),
    above: z.number().optional().describe('The current value is greater than this'),
    below: z.number().optional().describe('The current value is less than this'),
    is: z.unknown().optional().describe('The current value equals this'),
    for: durationSchema.optional().describe('…and has been so for at least this long'),
    status: statusConditionSchema.optional().describe('A device is online, offline, stale or unknown'),
  })
  .strict()
  .superRefine((c, ctx) => {
    const kind = requireOneKind(c, CONDITION_KINDS, ctx, 'a condition');
    if (kind === null) return;
    const has = (k: keyof ConditionMapDefinition) => c[k] !== undefined;
    if (kind === 'device') {
      if (!has('metric')) {
        keyIssue(ctx, 'device', 'a device condition needs metric: with above:, below: or is:');
        return;
      }
      if (!has('above') && !has('below') && !has('is')) {
        keyIssue(ctx, 'metric', 'a device condition needs above:, below: or is:');
      }
      if (has('is') && (has('above') || has('below'))) {
        keyIssue(ctx, 'is', 'is: compares for equality; use it without above:/below:');
      }
      if (typeof c.above === 'number' && typeof c.below === 'number' && c.above >= c.below) {
        keyIssue(ctx, 'below', `below (${c.below}) must be greater than above (${c.above})`);
      }
      return;
    }
    for (const key of DEVICE_KEYS) {
      if (has(key)) keyIssue(ctx, key, `${key}: goes with a device condition (device: + metric:)`);
    }
  });

/** `if:`: one condition or a list, all of which must hold. */
export const conditionListSchema = z.union([conditionSchema, z.array(conditionSchema).min(1)], {
  error: 'expected a condition or a list of conditions',
});
