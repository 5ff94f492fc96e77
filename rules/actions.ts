import type { Logger, Publisher } from '../kernel/index.js';
import { publishTopicProblem } from './compile-rule.js';
import type { Scope } from './expression/scope.js';
import { toText } from './expression/values.js';
import type { Action, Rule } from './rule.js';
import type { ActionResult } from './trace.js';

/** What actions may touch; the engine passes its own deps. */
export interface ActionContext {
  readonly publisher: Publisher;
  readonly logger: Logger;
}

type Handler<A extends Action> = (
  action: A,
  scope: Scope,
  rule: Rule,
  ctx: ActionContext,
) => Promise<ActionResult>;

/** Strings go as they are; everything else as JSON, so `{{ payload.value }}` alone sends `21.5`. */
export function serialisePayload(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined) return '';
  return JSON.stringify(value) ?? '';
}

/** Trace details stay short; payloads may be large. */
function clip(text: string, max = 200): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

const publish: Handler<Extract<Action, { kind: 'publish' }>> = async (action, scope, _rule, ctx) => {
  const topic = toText(action.topic.render(scope));
  const problem = publishTopicProblem(topic);
  if (problem) throw new Error(`cannot publish to "${topic}": ${problem}`);
  const payload = action.payload ? serialisePayload(action.payload.render(scope)) : '';
  await ctx.publisher.publish({ topic, payload, qos: action.qos, retain: action.retain });
  return { kind: 'publish', ok: true, detail: `${topic} ${clip(payload)}`, error: null };
};

const log: Handler<Extract<Action, { kind: 'log' }>> = (action, scope, rule, ctx) => {
  const message = toText(action.message.render(scope));
  ctx.logger.info(message, { rule: rule.id });
  return Promise.resolve({ kind: 'log', ok: true, detail: clip(message), error: null });
};

/** One handler per action kind; a new kind is a new entry here and in the schema. */
const HANDLERS: { readonly [K in Action['kind']]: Handler<Extract<Action, { kind: K }>> } = { publish, log };

export function runAction(
  action: Action,
  scope: Scope,
  rule: Rule,
  ctx: ActionContext,
): Promise<ActionResult> {
  const handler = HANDLERS[action.kind] as Handler<Action>;
  return handler(action, scope, rule, ctx);
}
