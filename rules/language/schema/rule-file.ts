import * as z from 'zod';
import { actionSchema } from './actions.js';
import { durationSchema, expressionSchema } from './common.js';
import { conditionListSchema } from './conditions.js';
import { triggerSchema } from './triggers.js';

/**
 * The rule file language, validated once at load; the TypeScript types and the editors' JSON Schema
 * come from it. Expressions and templates are plain strings here; the loader compiles them.
 * Triggers, conditions and actions live in `schema/`.
 */

export { ACTION_KINDS, actionSchema, SEVERITIES, type ActionDefinition, type Severity } from './actions.js';
export { conditionSchema, type ConditionDefinition } from './conditions.js';
export { SUN_EVENTS, triggerSchema, type SunEvent, type TriggerDefinition } from './triggers.js';

export const RULE_MODES = ['single', 'restart', 'queued', 'parallel'] as const;
export type RuleMode = (typeof RULE_MODES)[number];

export const ruleSchema = z
  .object({
    id: z
      .string()
      .regex(/^[a-z0-9_-]+$/, 'rule ids use a-z, 0-9, _ and - only')
      .describe('Unique across the rules directory; traces and timers key on it'),
    description: z.string().optional(),
    enabled: z.boolean().default(true).describe('false keeps the rule loaded and validated but never run'),
    mode: z
      .enum(RULE_MODES)
      .default('single')
      .describe('A trigger while a run is going: single (drop), restart, queued or parallel'),
    max: z.number().int().min(1).optional().describe('Bound for queued/parallel runs per key; default 10'),
    key: expressionSchema
      .optional()
      .describe(
        'Expression naming the instance a trigger belongs to; default: first named capture, else the topic',
      ),
    cooldown: durationSchema
      .optional()
      .describe('After the rule fired for a key, triggers for that key within this time are suppressed'),
    loop_guard: z
      .union([
        z.literal(false),
        z
          .object({
            max_runs: z
              .number()
              .int()
              .min(1)
              .optional()
              .describe('Runs per key within the window; default rules.loop_breaker.max_runs'),
            window: durationSchema.optional().describe('Default rules.loop_breaker.window'),
          })
          .strict(),
      ])
      .optional()
      .describe(
        "This rule's own rate guard for loops through a device (runs on topics its chain publishes to); false turns it off. Loops found by cause are broken regardless",
      ),
    when: z
      .union([triggerSchema, z.array(triggerSchema).min(1)], {
        error: 'expected a trigger (a map such as mqtt: FILTER) or a list of them',
      })
      .describe('One trigger or a list; any of them fires the rule'),
    if: conditionListSchema.optional().describe('One condition or a list; all must hold'),
    then: z.array(actionSchema).describe('Actions run in order when the conditions hold'),
    else: z
      .array(actionSchema)
      .optional()
      .describe('Actions run when a trigger fired but the conditions did not hold'),
  })
  .strict()
  .superRefine((rule, ctx) => {
    if (rule.max !== undefined && rule.mode !== 'queued' && rule.mode !== 'parallel') {
      ctx.addIssue({ code: 'custom', path: ['max'], message: 'max: bounds mode: queued or parallel' });
    }
  });

export const ruleFileSchema = z
  .object({
    rules: z.array(ruleSchema).describe('The rules of this file'),
  })
  .strict();

export type RuleFileInput = z.input<typeof ruleFileSchema>;
export type RuleDefinition = z.output<typeof ruleSchema>;

/** The JSON Schema editors use to complete and check rule files (`# yaml-language-server: $schema=…`). */
export function ruleFileJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(ruleFileSchema, { io: 'input', unrepresentable: 'any', cycles: 'ref' });
}
