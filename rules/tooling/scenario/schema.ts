import * as z from 'zod';
import { isDuration } from '../../../kernel/index.js';

/**
 * Scenario files for `edgehub test`: a rules directory, devices with their initial state, timed
 * input steps and the publishes, commands, forwards and alerts expected of the rules. Validated once here;
 * errors name file:line:col and the key path.
 */

const duration = z
  .string({ error: 'expected a duration such as 10s, 5m or 1h30m' })
  .refine(isDuration, { message: 'not a duration; write it like 500ms, 10s, 5m, 2h, 1d or 1h30m' });

function validTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const topic = z.string().min(1, 'a topic may not be empty');

const publishInput = z
  .object({
    topic: topic.describe('Topic the message arrives on, as if a device published it'),
    payload: z.unknown().optional().describe('Text as it is; numbers, maps and lists as JSON'),
    retain: z.boolean().optional(),
  })
  .strict();

const STEP_KINDS = ['publish', 'event', 'device', 'advance'] as const;

const stepSchema = z
  .object({
    at: duration
      .optional()
      .describe('When, from the start of the scenario (default: right after the previous step)'),
    advance: duration.optional().describe('Let this much time pass (timers fire on the way)'),
    publish: publishInput.optional().describe('A message arrives'),
    event: z.string().min(1).optional().describe('An event is posted, as to POST /api/events/<name>'),
    data: z.unknown().optional().describe('With event: its JSON body'),
    device: z.string().min(1).optional().describe('With metric and value, or with status: a device reports'),
    metric: z.string().min(1).optional(),
    value: z.unknown().optional(),
    status: z.enum(['online', 'offline']).optional().describe('With device: its availability changes'),
  })
  .strict()
  .superRefine((step, ctx) => {
    const kinds = STEP_KINDS.filter((k) => step[k] !== undefined);
    if (kinds.length === 0 && step.at === undefined) {
      ctx.addIssue({ code: 'custom', message: `a step needs one of: ${STEP_KINDS.join(', ')} (or at:)` });
    } else if (kinds.length > 1) {
      ctx.addIssue({ code: 'custom', message: `a step does one thing; found ${kinds.join(' and ')}` });
    }
    if (step.advance !== undefined && step.at !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['advance'], message: 'use at: or advance:, not both' });
    }
    if (step.data !== undefined && step.event === undefined) {
      ctx.addIssue({ code: 'custom', path: ['data'], message: 'data: goes with event:' });
    }
    if (step.device !== undefined) {
      const reading = step.metric !== undefined;
      if (reading === (step.status !== undefined)) {
        ctx.addIssue({
          code: 'custom',
          path: ['device'],
          message: 'a device step has metric: and value:, or status:',
        });
      } else if (reading && step.value === undefined) {
        ctx.addIssue({ code: 'custom', path: ['value'], message: 'missing required key "value"' });
      }
    } else {
      for (const key of ['metric', 'value', 'status'] as const) {
        if (step[key] !== undefined)
          ctx.addIssue({ code: 'custom', path: [key], message: `${key}: goes with device:` });
      }
    }
  });

const window = {
  after: duration.optional().describe('The window opens this long after the start (default 0s)'),
  within: duration.optional().describe('The window lasts this long (default: to the end of the scenario)'),
  times: z
    .number()
    .int()
    .min(0)
    .optional()
    .describe('Exactly this many matches in the window (default: at least one; 0: none)'),
};

const EXPECT_KINDS = ['publish', 'no_publish', 'command', 'alert', 'forward'] as const;

const expectSchema = z
  .object({
    publish: z
      .object({
        topic: topic.describe('Topic or MQTT filter (+, #) the rule publishes to'),
        payload: z
          .unknown()
          .optional()
          .describe('Partial match: listed keys must be equal, others may differ'),
        retain: z.boolean().optional(),
      })
      .strict()
      .optional(),
    no_publish: z
      .object({ topic: topic.describe('Topic or MQTT filter nothing may be published to') })
      .strict()
      .optional(),
    command: z
      .object({
        device: z.string().min(1),
        set: z.record(z.string(), z.unknown()).optional().describe('Partial match of what was set'),
      })
      .strict()
      .optional(),
    alert: z
      .object({
        key: z.string().min(1),
        severity: z.enum(['critical', 'major', 'minor', 'warning', 'info']).optional(),
      })
      .strict()
      .optional(),
    forward: z
      .object({
        to: z.string().min(1).describe('The connector id the rule forwards through'),
        destination: z
          .string()
          .min(1)
          .optional()
          .describe('Where on the remote, exactly as rendered (default: any)'),
        key: z.string().nullable().optional().describe('The message key; null for none (default: any)'),
        payload: z
          .unknown()
          .optional()
          .describe('Partial match: listed keys must be equal, others may differ'),
      })
      .strict()
      .optional(),
    ...window,
  })
  .strict()
  .superRefine((e, ctx) => {
    const kinds = EXPECT_KINDS.filter((k) => e[k] !== undefined);
    if (kinds.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message:
          kinds.length === 0
            ? `an expectation needs one of: ${EXPECT_KINDS.join(', ')}`
            : `an expectation checks one thing; found ${kinds.join(' and ')}`,
      });
    }
    if (e.no_publish !== undefined && e.times !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['times'], message: 'no_publish means times: 0 already' });
    }
  });

const deviceSchema = z
  .object({
    id: z.string().min(1),
    status: z.enum(['online', 'offline', 'stale', 'unknown']).optional().describe('Default online'),
    state: z.record(z.string(), z.unknown()).optional().describe('Latest value of each metric, by name'),
  })
  .strict();

export const scenarioSchema = z
  .object({
    scenario: z.string().min(1).describe('What the scenario shows, printed with its result'),
    rules: z.string().min(1).describe('The rules directory, relative to this file'),
    start: z
      .string()
      .refine((t) => !Number.isNaN(Date.parse(t)), {
        message: 'expected an ISO 8601 time, e.g. 2026-06-01T07:00:00Z',
      })
      .optional()
      .describe('Virtual clock time at the start (default 2026-01-01T00:00:00Z)'),
    timezone: z
      .string()
      .refine(validTimeZone, { message: 'expected an IANA time zone such as UTC or Europe/Berlin' })
      .optional()
      .describe('Time zone of schedules and time windows (default UTC)'),
    location: z
      .object({ latitude: z.number().min(-90).max(90), longitude: z.number().min(-180).max(180) })
      .strict()
      .optional()
      .describe('Degrees, for sun: schedules'),
    devices: z.array(deviceSchema).optional(),
    steps: z.array(stepSchema).min(1, 'a scenario needs at least one step'),
    expect: z.array(expectSchema).min(1, 'a scenario needs at least one expectation'),
  })
  .strict();

export type Scenario = z.output<typeof scenarioSchema>;
export type ScenarioStep = z.output<typeof stepSchema>;
export type ScenarioExpectation = z.output<typeof expectSchema>;
export type ScenarioDevice = z.output<typeof deviceSchema>;
