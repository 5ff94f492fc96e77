import { z } from 'zod';

/**
 * The rule file language, first cut: MQTT triggers, expression conditions, `publish` and `log`
 * actions. Validated once at load; the TypeScript types and the editors' JSON Schema come from it.
 * Expressions and templates are plain strings here; the loader compiles them.
 */

const expression = z.string().min(1).describe('An expression, e.g. payload.value > 30');

export const mqttTriggerSchema = z
  .object({
    mqtt: z
      .string()
      .min(1)
      .describe('MQTT filter; +name / #name capture levels by name, plain + / # capture nothing'),
    payload: z.unknown().optional().describe('Fire only when the payload equals this value exactly'),
    id: z.string().min(1).optional().describe('Readable in conditions and actions as trigger.id'),
  })
  .strict();

export const triggerSchema = mqttTriggerSchema;

export const publishActionSchema = z
  .object({
    topic: z.string().min(1).describe('Topic to publish to; {{ expr }} templates allowed'),
    payload: z
      .unknown()
      .optional()
      .describe('Text, number, map or list; templated recursively; maps and lists are sent as JSON'),
    qos: z.literal([0, 1, 2]).default(0).describe('MQTT QoS'),
    retain: z.boolean().default(false),
  })
  .strict();

/** The action kinds; an action map carries exactly one of them. */
export const ACTION_KINDS = ['publish', 'log'] as const;

export const actionSchema = z
  .object({
    publish: publishActionSchema.optional().describe('Publish through the embedded broker'),
    log: z.string().optional().describe('Write to the hub log; {{ expr }} templates allowed'),
  })
  .strict()
  .superRefine((action, ctx) => {
    const present = ACTION_KINDS.filter((k) => action[k] !== undefined);
    if (present.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message:
          present.length === 0
            ? `an action needs one of: ${ACTION_KINDS.join(', ')}`
            : `an action does one thing; found ${present.join(' and ')}`,
      });
    }
  })
  .meta({ minProperties: 1, maxProperties: 1 });

export const ruleSchema = z
  .object({
    id: z
      .string()
      .regex(/^[a-z0-9_-]+$/, 'rule ids use a-z, 0-9, _ and - only')
      .describe('Unique across the rules directory; traces and timers key on it'),
    description: z.string().optional(),
    enabled: z.boolean().default(true).describe('false keeps the rule loaded and validated but never run'),
    key: expression
      .optional()
      .describe(
        'Expression naming the instance a trigger belongs to; default: first named capture, else the topic',
      ),
    when: z
      .union([triggerSchema, z.array(triggerSchema).min(1)], {
        error: 'expected a trigger (a map such as mqtt: FILTER) or a list of them',
      })
      .describe('One trigger or a list; any of them fires the rule'),
    if: z
      .union([expression, z.array(expression).min(1)], {
        error: 'expected an expression or a list of expressions',
      })
      .optional()
      .describe('One condition or a list; all must hold'),
    then: z.array(actionSchema).describe('Actions run in order when the conditions hold'),
    else: z
      .array(actionSchema)
      .optional()
      .describe('Actions run when a trigger fired but the conditions did not hold'),
  })
  .strict();

export const ruleFileSchema = z
  .object({
    rules: z.array(ruleSchema).describe('The rules of this file'),
  })
  .strict();

export type RuleFileInput = z.input<typeof ruleFileSchema>;
export type RuleDefinition = z.output<typeof ruleSchema>;
export type TriggerDefinition = z.output<typeof triggerSchema>;
export type ActionDefinition = z.output<typeof actionSchema>;

/** The JSON Schema editors use to complete and check rule files (`# yaml-language-server: $schema=…`). */
export function ruleFileJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(ruleFileSchema, { io: 'input', unrepresentable: 'any' });
}
