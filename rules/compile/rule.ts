import { EdgehubError } from '../kernel/index.js';
import { compileExpression, type CompiledExpression } from './expression/compile.js';
import { makeScope } from './expression/scope.js';
import { compileTemplate, type CompiledTemplate } from './expression/template.js';
import type { Action, MqttTrigger, Rule } from './rule.js';
import type { RuleSource } from './rule-source.js';
import type { ActionDefinition, RuleDefinition } from './schema.js';
import type { CheckedRule } from './validate.js';
import { parseFilter } from './topic-index.js';

/** Why a concrete topic cannot be published to; null when it can. */
export function publishTopicProblem(topic: string): string | null {
  if (topic === '') return 'the topic is empty';
  if (topic.includes('+') || topic.includes('#')) return 'a published topic may not contain + or #';
  return null;
}

/**
 * Turns a checked rule into a runnable {@link Rule}: parses filters and compiles every expression
 * and template. Problems go to `errors` (all of them, each located). The rule is null when there
 * was any, or when the definition is incomplete (a broken rule is compiled only to report more).
 */
export function compileRule(
  checked: CheckedRule,
  at: { source: RuleSource; ordinal: number },
  errors: EdgehubError[],
): Rule | null {
  const definition: Partial<RuleDefinition> = checked.definition;
  const { source } = at;
  const base: PropertyKey[] = ['rules', checked.index];
  const before = errors.length;

  const attempt = <T>(fn: () => T): T | null => {
    try {
      return fn();
    } catch (err) {
      if (err instanceof EdgehubError) {
        errors.push(err);
        return null;
      }
      throw err;
    }
  };
  const expression = (path: PropertyKey[], text: string): CompiledExpression | null =>
    attempt(() => compileExpression(text, (offset) => source.inString(path, offset)));
  const template = (path: PropertyKey[], value: unknown): CompiledTemplate | null =>
    attempt(() => compileTemplate(value, (inner, offset) => source.inString([...path, ...inner], offset)));

  const when = definition.when;
  const triggerList = when === undefined ? [] : Array.isArray(when) ? when : [when];
  const triggers: MqttTrigger[] = [];
  triggerList.forEach((t, i) => {
    const path = Array.isArray(when) ? [...base, 'when', i] : [...base, 'when'];
    const filter = parseFilter(t.mqtt);
    if ('error' in filter) {
      errors.push(new EdgehubError('RULE_INVALID', filter.error, { location: source.at([...path, 'mqtt']) }));
      return;
    }
    triggers.push({
      kind: 'mqtt',
      index: i,
      id: t.id ?? String(i),
      filter,
      payload: t.payload !== undefined ? { value: t.payload } : null,
    });
  });

  const key = definition.key !== undefined ? expression([...base, 'key'], definition.key) : null;

  const conditionTexts =
    definition.if === undefined
      ? []
      : typeof definition.if === 'string'
        ? [{ path: [...base, 'if'], text: definition.if }]
        : definition.if.map((text, i) => ({ path: [...base, 'if', i], text }));
  const conditions = conditionTexts.map((c) => expression(c.path, c.text));

  const actions = (
    branch: 'then' | 'else',
    list: readonly ActionDefinition[] | undefined,
  ): (Action | null)[] =>
    (list ?? []).map((action, i) =>
      compileAction(action, [...base, branch, i], { template, source, errors }),
    );
  const then = actions('then', definition.then);
  const otherwise = actions('else', definition.else);

  if (errors.length > before || !checked.complete) return null;
  const complete = checked.definition;
  return {
    id: complete.id,
    description: complete.description ?? null,
    enabled: complete.enabled,
    ordinal: at.ordinal,
    location: source.at(base),
    fingerprint: JSON.stringify(complete),
    key,
    triggers,
    conditions: conditions.filter((c) => c !== null),
    then: then.filter((a) => a !== null),
    else: otherwise.filter((a) => a !== null),
  };
}

function compileAction(
  action: ActionDefinition,
  path: PropertyKey[],
  ctx: {
    template: (path: PropertyKey[], value: unknown) => CompiledTemplate | null;
    source: RuleSource;
    errors: EdgehubError[];
  },
): Action | null {
  if (action.publish) {
    const p = action.publish;
    const topicPath = [...path, 'publish', 'topic'];
    const topic = ctx.template(topicPath, p.topic);
    if (topic?.isStatic) {
      const problem = publishTopicProblem(String(topic.render(makeScope())));
      if (problem) {
        ctx.errors.push(new EdgehubError('RULE_INVALID', problem, { location: ctx.source.at(topicPath) }));
        return null;
      }
    }
    const payload = p.payload !== undefined ? ctx.template([...path, 'publish', 'payload'], p.payload) : null;
    if (!topic || (p.payload !== undefined && !payload)) return null;
    return { kind: 'publish', topic, payload, qos: p.qos, retain: p.retain };
  }
  if (action.log !== undefined) {
    const message = ctx.template([...path, 'log'], action.log);
    return message ? { kind: 'log', message } : null;
  }
  // The schema admits exactly one action kind, so this is unreachable for validated input.
  return null;
}
