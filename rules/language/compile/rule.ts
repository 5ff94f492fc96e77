import { parseDuration, type EdgehubError } from '../../../kernel/index.js';
import type { Rule, Trigger } from '../rule.js';
import type { RuleSource } from '../rule-source.js';
import type { RuleDefinition } from '../schema/rule-file.js';
import type { CheckedRule } from '../validate.js';
import { compileActions } from './action.js';
import { compileConditionList } from './condition.js';
import { CompileContext, type RuleLoadOptions } from './context.js';
import { compileTrigger } from './trigger.js';
import { ruleTopics } from '../loops.js';

/** Runs per key a queued or parallel rule allows when `max:` is not given. */
const DEFAULT_MAX = 10;

/**
 * Turns a checked rule into a runnable {@link Rule}: parses filters, schedules and device patterns
 * and compiles every expression and template. Problems go to `errors` (all of them, each located),
 * doubts to `warnings`. The rule is null when there was any error, or when the definition is
 * incomplete (a broken rule is compiled only to report more).
 */
export function compileRule(
  checked: CheckedRule,
  at: { source: RuleSource; ordinal: number; options?: RuleLoadOptions; warnings?: EdgehubError[] },
  errors: EdgehubError[],
): Rule | null {
  const definition: Partial<RuleDefinition> = checked.definition;
  const ctx = new CompileContext(at.source, errors, at.warnings ?? [], at.options ?? {});
  const base: PropertyKey[] = ['rules', checked.index];
  const before = errors.length;

  const when = definition.when;
  const triggerList = when === undefined ? [] : Array.isArray(when) ? when : [when];
  const triggers: Trigger[] = [];
  triggerList.forEach((t, i) => {
    const path = Array.isArray(when) ? [...base, 'when', i] : [...base, 'when'];
    const trigger = compileTrigger(t, path, i, ctx);
    if (trigger) triggers.push(trigger);
  });

  const key = definition.key !== undefined ? ctx.expression([...base, 'key'], definition.key) : null;
  const conditions = compileConditionList(definition.if, [...base, 'if'], ctx);
  const then = compileActions(definition.then, [...base, 'then'], ctx);
  const otherwise = compileActions(definition.else, [...base, 'else'], ctx);

  if (errors.length > before || !checked.complete) return null;
  const complete = checked.definition;
  return {
    id: complete.id,
    description: complete.description ?? null,
    enabled: complete.enabled,
    ordinal: at.ordinal,
    location: at.source.at(base),
    fingerprint: JSON.stringify(complete),
    mode: complete.mode,
    max: complete.max ?? DEFAULT_MAX,
    cooldownMs: complete.cooldown !== undefined ? parseDuration(complete.cooldown) : null,
    loopGuard: compileLoopGuard(complete.loop_guard),
    key,
    triggers,
    conditions: conditions.filter((c) => c !== null),
    then: then.filter((a) => a !== null),
    else: otherwise.filter((a) => a !== null),
    outputs: ruleTopics(complete).outputs,
  };
}

function compileLoopGuard(guard: RuleDefinition['loop_guard']): Rule['loopGuard'] {
  if (guard === undefined) return null;
  if (guard === false) return false;
  return {
    ...(guard.max_runs !== undefined && { maxRuns: guard.max_runs }),
    ...(guard.window !== undefined && { windowMs: parseDuration(guard.window) }),
  };
}
