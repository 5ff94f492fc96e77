import * as z from 'zod';
import { isDuration } from '../../../kernel/index.js';

/**
 * Building blocks shared by the trigger, condition and action schemas. Messages are written for the
 * person editing the file: they name the form that is expected.
 */

export const DURATION_HINT = 'write it like 500ms, 10s, 5m, 2h, 1d or 1h30m';

export const expressionSchema = z
  .string({ error: 'expected an expression (text), e.g. payload.value > 30' })
  .min(1)
  .describe('An expression, e.g. payload.value > 30');

export const durationSchema = z
  .string({ error: `expected a duration with a unit; ${DURATION_HINT}` })
  .refine(isDuration, { message: `not a duration; ${DURATION_HINT}` })
  .describe('A duration: 500ms, 10s, 5m, 2h, 1d, or combined like 1h30m');

/** `-15m`, `+1h`, `30s`: a duration that may be negative (sun offsets). */
export const signedDurationSchema = z
  .string({ error: `expected a duration such as -15m or 30m; ${DURATION_HINT}` })
  .refine((text) => isDuration(text.replace(/^\s*[-+]/, '')), {
    message: `not a duration; write it like -15m, 30s or +1h`,
  })
  .describe('A duration that may start with - (earlier) or + (later), e.g. -15m');

const TIME_OF_DAY = /^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$/;

/** `07:30` or `07:30:15`, in the hub's time zone. */
export const timeOfDaySchema = z
  .string({ error: 'expected a time of day as "HH:MM" in quotes, e.g. "07:30"' })
  .regex(TIME_OF_DAY, 'expected a time of day as HH:MM or HH:MM:SS (24-hour), e.g. "07:30"')
  .describe('A time of day, HH:MM or HH:MM:SS (24-hour), in the hub time zone');

export const THROTTLE = /^\s*(\d+)\s*\/\s*(\S+)\s*$/;

/** `10/1m`: at most 10 firings per minute. */
export const throttleSchema = z
  .string({ error: 'expected N/period, e.g. 10/1m' })
  .refine(
    (text) => {
      const m = THROTTLE.exec(text);
      return m !== null && Number(m[1]) > 0 && isDuration(m[2] ?? '');
    },
    { message: 'expected N/period with N ≥ 1 and a duration, e.g. 10/1m (at most 10 per minute)' },
  )
  .describe('At most N firings per period per key, e.g. 10/1m; the rest are dropped and counted');

/** A device id, or in triggers a glob (`gh-*`, `shed-?`). */
export const deviceIdSchema = z
  .string({ error: 'expected a device id' })
  .min(1)
  .describe('A device id; in triggers a glob such as gh-* is allowed');

export const metricSchema = z
  .string({ error: 'expected a metric name, e.g. temperature' })
  .min(1)
  .describe('A metric (or actuator state) name, e.g. temperature');

export const AVAILABILITY = ['online', 'offline', 'stale'] as const;

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

/** Which of `keys` an object holds (not undefined). */
export function present<T extends object>(value: T, keys: readonly (keyof T & string)[]): string[] {
  return keys.filter((k) => value[k] !== undefined);
}

/** Adds "needs exactly one of" / "does one thing" issues for maps that name their kind by a key. */
export function requireOneKind(
  value: object,
  kinds: readonly string[],
  ctx: z.RefinementCtx,
  what: string,
): string | null {
  const found = kinds.filter((k) => (value as Record<string, unknown>)[k] !== undefined);
  if (found.length === 1) return found[0] ?? null;
  ctx.addIssue({
    code: 'custom',
    message:
      found.length === 0
        ? `${what} needs one of: ${kinds.join(', ')}`
        : `${what} is one of ${kinds.join(', ')}; found ${found.join(' and ')}`,
  });
  return null;
}

/** An issue on one key of the map being refined. */
export function keyIssue(ctx: z.RefinementCtx, key: string, message: string): void {
  ctx.addIssue({ code: 'custom', path: [key], message });
}
