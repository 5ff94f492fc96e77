import { parseDuration } from '../../../kernel/index.js';
import { makeScope } from '../expression/scope.js';
import { BLOCKED_NAMES } from '../expression/values.js';
import { parseDevicePattern } from '../device-pattern.js';
import type { Action, WaitAction } from '../rule.js';
import type { ActionDefinition } from '../schema/actions.js';
import { compileConditionList } from './condition.js';
import type { CompileContext } from './context.js';
import { buildTrigger, TriggerProblem } from './trigger.js';

/** Why a concrete topic cannot be published to; null when it can. */
export function publishTopicProblem(topic: string): string | null {
  if (topic === '') return 'the topic is empty';
  if (topic.includes('+') || topic.includes('#')) return 'a published topic may not contain + or #';
  return null;
}

/** Compiles an action list; the result has the same length, with null where an action failed. */
export function compileActions(
  list: readonly ActionDefinition[] | undefined,
  path: readonly PropertyKey[],
  ctx: CompileContext,
): (Action | null)[] {
  return (list ?? []).map((action, i) => compileAction(action, [...path, i], ctx));
}

function all<T>(list: readonly (T | null)[]): T[] | null {
  return list.some((x) => x === null) ? null : (list as T[]);
}

export function compileAction(
  action: ActionDefinition,
  path: readonly PropertyKey[],
  ctx: CompileContext,
): Action | null {
  if (action.publish) {
    const p = action.publish;
    const topicPath = [...path, 'publish', 'topic'];
    const topic = ctx.template(topicPath, p.topic);
    if (topic?.isStatic) {
      const problem = publishTopicProblem(String(topic.render(makeScope())));
      if (problem) {
        ctx.fail('RULE_INVALID', problem, topicPath);
        return null;
      }
    }
    const payload = p.payload !== undefined ? ctx.template([...path, 'publish', 'payload'], p.payload) : null;
    if (!topic || (p.payload !== undefined && !payload)) return null;
    return { kind: 'publish', topic, payload, qos: p.qos ?? 0, retain: p.retain ?? false };
  }
  if (action.log !== undefined) {
    const message = ctx.template([...path, 'log'], action.log);
    return message ? { kind: 'log', message } : null;
  }
  if (action.command) {
    const c = action.command;
    const device = ctx.template([...path, 'command', 'device'], c.device);
    if (device?.isStatic) ctx.checkDevice(parseDevicePattern(c.device), [...path, 'command', 'device']);
    const set = ctx.template([...path, 'command', 'set'], c.set);
    return device && set ? { kind: 'command', device, set } : null;
  }
  if (action.alert) {
    const a = action.alert;
    const key = ctx.template([...path, 'alert', 'key'], a.key);
    const message = a.message !== undefined ? ctx.template([...path, 'alert', 'message'], a.message) : null;
    if (!key || (a.message !== undefined && !message)) return null;
    return { kind: 'alert', key, severity: a.severity ?? 'warning', message };
  }
  if (action.clear_alert) {
    const key = ctx.template([...path, 'clear_alert', 'key'], action.clear_alert.key);
    return key ? { kind: 'clear_alert', key } : null;
  }
  if (action.http) return compileHttp(action.http, [...path, 'http'], ctx);
  if (action.delay !== undefined) return { kind: 'delay', ms: parseDuration(action.delay) };
  if (action.wait) return compileWait(action.wait, [...path, 'wait'], ctx);
  if (action.choose) {
    const options = action.choose.map((option, i) => {
      const at = [...path, 'choose', i];
      const conditions = all(compileConditionList(option.if, [...at, 'if'], ctx));
      const then = all(compileActions(option.then, [...at, 'then'], ctx));
      return conditions && then ? { conditions, then } : null;
    });
    const otherwise = all(compileActions(action.default, [...path, 'default'], ctx));
    const compiled = all(options);
    return compiled && otherwise ? { kind: 'choose', options: compiled, otherwise } : null;
  }
  if (action.set) return compileSet(action.set, [...path, 'set'], ctx);
  if (action.forward) return compileForward(action.forward, [...path, 'forward'], ctx);
  if (action.notify) return compileNotify(action.notify, [...path, 'notify'], ctx);
  // The schema admits exactly one action kind, so this is unreachable for validated input.
  return null;
}

function compileHttp(
  h: NonNullable<ActionDefinition['http']>,
  path: readonly PropertyKey[],
  ctx: CompileContext,
): Action | null {
  const url = ctx.template([...path, 'url'], h.url);
  if (url?.isStatic && !/^https?:\/\/\S+$/.test(h.url)) {
    ctx.fail('RULE_INVALID', 'expected an http:// or https:// URL', [...path, 'url']);
    return null;
  }
  const headers = h.headers !== undefined ? ctx.template([...path, 'headers'], h.headers) : null;
  const body = h.body !== undefined ? ctx.template([...path, 'body'], h.body) : null;
  if (!url || (h.headers !== undefined && !headers) || (h.body !== undefined && !body)) return null;
  return {
    kind: 'http',
    url,
    method: h.method ?? (h.body !== undefined ? 'POST' : 'GET'),
    headers,
    body,
    timeoutMs: h.timeout !== undefined ? parseDuration(h.timeout) : null,
    retries: h.retries ?? null,
  };
}

function compileForward(
  f: NonNullable<ActionDefinition['forward']>,
  path: readonly PropertyKey[],
  ctx: CompileContext,
): Action | null {
  ctx.checkConnector(f.to, [...path, 'to']);
  const destination = ctx.template([...path, 'destination'], f.destination);
  const key = f.key !== undefined ? ctx.template([...path, 'key'], f.key) : null;
  const payload = f.payload !== undefined ? ctx.template([...path, 'payload'], f.payload) : null;
  if (!destination || (f.key !== undefined && !key) || (f.payload !== undefined && !payload)) return null;
  return { kind: 'forward', to: f.to, destination, key, payload };
}

function compileNotify(
  n: NonNullable<ActionDefinition['notify']>,
  path: readonly PropertyKey[],
  ctx: CompileContext,
): Action | null {
  ctx.checkNotifier(n.via, [...path, 'via']);
  const title = n.title !== undefined ? ctx.template([...path, 'title'], n.title) : null;
  const message = ctx.template([...path, 'message'], n.message);
  if (!message || (n.title !== undefined && !title)) return null;
  return { kind: 'notify', via: n.via, title, message, priority: n.priority ?? 'default' };
}

function compileWait(
  w: NonNullable<ActionDefinition['wait']>,
  path: readonly PropertyKey[],
  ctx: CompileContext,
): WaitAction | null {
  const templates: {
    key: 'mqtt' | 'device' | 'event';
    template: NonNullable<ReturnType<CompileContext['template']>>;
  }[] = [];
  let ok = true;
  for (const key of ['mqtt', 'device', 'event'] as const) {
    const text = w.trigger[key];
    if (text === undefined) continue;
    const template = ctx.template([...path, 'trigger', key], text);
    if (!template) ok = false;
    else if (!template.isStatic) templates.push({ key, template });
  }
  if (!ok) return null;
  if (templates.length === 0) {
    // Nothing to render later, so the trigger can be checked completely now.
    try {
      buildTrigger(w.trigger, 0);
    } catch (err) {
      if (!(err instanceof TriggerProblem)) throw err;
      ctx.fail(err.code, err.message, err.key ? [...path, 'trigger', err.key] : [...path, 'trigger']);
      return null;
    }
    if (w.trigger.device !== undefined) {
      ctx.checkDevice(parseDevicePattern(w.trigger.device), [...path, 'trigger', 'device']);
    }
  }
  return { kind: 'wait', trigger: w.trigger, templates, timeoutMs: parseDuration(w.timeout) };
}

function compileSet(
  vars: Record<string, unknown>,
  path: readonly PropertyKey[],
  ctx: CompileContext,
): Action | null {
  const out: {
    name: string;
    value: NonNullable<ReturnType<CompileContext['expression']>> | { literal: unknown };
  }[] = [];
  let ok = true;
  for (const [name, value] of Object.entries(vars)) {
    if (BLOCKED_NAMES.has(name)) {
      ctx.fail('RULE_INVALID', `"${name}" cannot be a variable name`, [...path, name]);
      ok = false;
      continue;
    }
    if (typeof value === 'string') {
      const expression = ctx.expression([...path, name], value);
      if (expression) out.push({ name, value: expression });
      else ok = false;
    } else {
      // Numbers, booleans, null, lists and maps are taken as they are.
      out.push({ name, value: { literal: value } });
    }
  }
  return ok ? { kind: 'set', vars: out } : null;
}
