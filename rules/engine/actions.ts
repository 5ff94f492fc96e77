import {
  errorMessage,
  type Actuators,
  type Cause,
  type Clock,
  type Logger,
  type Publisher,
} from '../../kernel/index.js';
import type { TriggerInput } from './detect.js';
import { alertKeyProblem, type AlertBook } from './alert-book.js';
import { publishTopicProblem } from '../language/compile/action.js';
import type { Scope } from '../language/expression/scope.js';
import { toText } from '../language/expression/values.js';
import type { Action, Rule } from '../language/rule.js';
import type { NotifyPriority } from '../language/schema/actions.js';
import { sendHttp, type HttpSettings } from './http.js';
import type { ActionResult } from './rule-run.js';

/** A message a rule's `forward:` composed, for one connector. */
export interface ForwardMessage {
  /** Topic, routing key, queue URL, topic ARN or stream, as the connector's kind reads it. */
  readonly destination: string;
  /** Keeps order per key on the remote (Kafka partition key, SQS group id, …); null for none. */
  readonly key: string | null;
  readonly payload: Buffer;
}

/**
 * The hub's connectors, as the `forward` action sees them. `forward` resolves once the message is
 * the connector's to send (in its outbox); it rejects for an unknown connector or a failing store.
 */
export interface Forwarder {
  forward(connector: string, message: ForwardMessage): Promise<void>;
}

/** A message for people, as the hub's notifiers send it (ntfy, Telegram, webhook, e-mail, MQTT). */
export interface Notification {
  readonly title: string;
  readonly message: string;
  readonly priority: NotifyPriority;
  /** Who asked, for traces and the delivery list: `rule:<id>`, `alert:<key>`. */
  readonly source: string;
  /** Short labels a notifier may show (ntfy tags, the webhook's JSON), e.g. the alert severity. */
  readonly tags: readonly string[];
}

/**
 * What a notifier did with a notification: `queued` to send now, `held` until its quiet hours end,
 * `dropped` over its rate limit. `id` is the stored delivery (null when dropped).
 */
export interface NotifyReceipt {
  readonly id: number | null;
  readonly outcome: 'queued' | 'held' | 'dropped';
}

/**
 * The hub's notifiers, as the `notify` action sees them. `notify` resolves once the notification is
 * the notifier's to deliver (stored, queued); delivery, retries and quiet hours happen after the run,
 * so a notifier that is slow or down never holds a rule. It rejects for an unknown notifier.
 */
export interface Notifier {
  notify(via: string, notification: Notification): Promise<NotifyReceipt>;
}

/** What actions may touch; the engine passes its own deps. */
export interface ActionContext {
  readonly publisher: Publisher;
  readonly logger: Logger;
  readonly clock: Clock;
  /** Absent when the hub runs without device adapters; `command` then fails with a clear error. */
  readonly actuators: Actuators | undefined;
  readonly alerts: AlertBook;
  readonly http: HttpSettings;
  /** Absent when the hub has no connectors; `forward` then fails with a clear error. */
  readonly forwarder: Forwarder | undefined;
  /** Absent when the hub has no notifiers; `notify` then fails with a clear error. */
  readonly notifier: Notifier | undefined;
}

/** The actions that do one thing and finish; `delay`, `wait`, `choose` and `set` are the executor's. */
export type ImmediateAction = Exclude<Action, { kind: 'delay' | 'wait' | 'choose' | 'set' }>;

type Handler<A extends ImmediateAction> = (
  action: A,
  scope: Scope,
  rule: Rule,
  ctx: ActionContext,
  input: TriggerInput,
) => Omit<ActionResult, 'at'> | Promise<Omit<ActionResult, 'at'>>;

/** The chain a run's messages carry: its input's, then the run itself. */
export function causeOf(rule: Rule, input: TriggerInput): Cause {
  const link = { rule: rule.id, key: input.key };
  return input.cause ? [...input.cause, link] : [link];
}

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

// Not async: a QoS 0 message that is not retained is accepted (or refused) the moment the broker
// has it, so the run goes on without a promise; the others wait until the broker accepted them.
const publish: Handler<Extract<Action, { kind: 'publish' }>> = (action, scope, rule, ctx, input) => {
  const topic = toText(action.topic.render(scope));
  const problem = publishTopicProblem(topic);
  if (problem) throw new Error(`cannot publish to "${topic}": ${problem}`);
  const payload = action.payload ? serialisePayload(action.payload.render(scope)) : '';
  // A publish to an actuator's command topic is a command: the safety envelope decides.
  const verdict = ctx.actuators?.guard?.(topic, payload, `rule:${rule.id}`);
  if (verdict && !verdict.accepted)
    throw new Error(`${topic} refused the command: ${verdict.reason ?? 'no reason given'}`);
  const message = { topic, payload, qos: action.qos, retain: action.retain, cause: causeOf(rule, input) };
  const result = { kind: 'publish', ok: true, detail: `${topic} ${clip(payload)}`, error: null } as const;
  if (action.qos === 0 && !action.retain && ctx.publisher.publishNow) {
    ctx.publisher.publishNow(message);
    return result;
  }
  return ctx.publisher.publish(message).then(() => result);
};

const log: Handler<Extract<Action, { kind: 'log' }>> = (action, scope, rule, ctx) => {
  const message = toText(action.message.render(scope));
  ctx.logger.info(message, { rule: rule.id });
  return { kind: 'log', ok: true, detail: clip(message), error: null };
};

const command: Handler<Extract<Action, { kind: 'command' }>> = async (action, scope, rule, ctx) => {
  const device = toText(action.device.render(scope));
  const set = action.set.render(scope);
  if (set === null || typeof set !== 'object' || Array.isArray(set)) throw new Error('set: must be a map');
  if (!ctx.actuators) {
    throw new Error(`no device adapters are configured, so the command to ${device} cannot be sent`);
  }
  const result = await ctx.actuators.command(device, set as Record<string, unknown>, `rule:${rule.id}`);
  const detail = `${device} ${clip(JSON.stringify(set))}`;
  if (!result.accepted)
    throw new Error(`${device} refused the command: ${result.reason ?? 'no reason given'}`);
  return { kind: 'command', ok: true, detail, error: null };
};

const alert: Handler<Extract<Action, { kind: 'alert' }>> = async (action, scope, rule, ctx) => {
  const key = toText(action.key.render(scope));
  const problem = alertKeyProblem(key);
  if (problem) throw new Error(`cannot raise alert "${key}": ${problem}`);
  const message = action.message ? toText(action.message.render(scope)) : key;
  const record = await ctx.alerts.raise({ key, severity: action.severity, message, source: rule.id });
  const state = record.count === 1 ? 'raised' : `still active, raised ${record.count} times`;
  return { kind: 'alert', ok: true, detail: `${key} ${action.severity} ${state}`, error: null };
};

const clearAlert: Handler<Extract<Action, { kind: 'clear_alert' }>> = async (action, scope, _rule, ctx) => {
  const key = toText(action.key.render(scope));
  const cleared = await ctx.alerts.clear(key);
  return {
    kind: 'clear_alert',
    ok: true,
    detail: cleared ? `${key} cleared` : `${key} was not active`,
    error: null,
  };
};

const http: Handler<Extract<Action, { kind: 'http' }>> = async (action, scope, rule, ctx) => {
  const url = toText(action.url.render(scope));
  if (!/^https?:\/\/\S+$/.test(url)) throw new Error(`"${url}" is not an http:// or https:// URL`);
  const headers: Record<string, string> = {};
  const rendered = action.headers?.render(scope);
  if (rendered && typeof rendered === 'object' && !Array.isArray(rendered)) {
    for (const [k, v] of Object.entries(rendered)) headers[k] = toText(v);
  }
  let body: string | undefined;
  if (action.body) {
    const value = action.body.render(scope);
    body = serialisePayload(value);
    if (typeof value !== 'string' && !Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) {
      headers['content-type'] = 'application/json';
    }
  }
  const outcome = await sendHttp(
    {
      url,
      method: action.method,
      headers,
      body,
      timeoutMs: action.timeoutMs ?? ctx.http.timeoutMs,
      retries: action.retries ?? ctx.http.retries,
    },
    ctx.http,
    ctx.clock,
    `rule:${rule.id}:http`,
  );
  const tries = outcome.attempts === 1 ? '' : ` after ${outcome.attempts} attempts`;
  const detail = `${action.method} ${url} → ${outcome.status ?? 'no answer'}${tries}`;
  if (!outcome.ok) throw new Error(`${detail}: ${outcome.error ?? 'failed'}`);
  return { kind: 'http', ok: true, detail, error: null };
};

/**
 * The key a `forward` without `key:` sends: the run's key when it names an instance (the rule's
 * `key:`, a reading's or status's device, an MQTT trigger's first capture); null when the key only
 * names the trigger (a schedule, an event, a topic without captures).
 */
export function defaultForwardKey(rule: Rule, input: TriggerInput): string | null {
  if (rule.key !== null) return input.key;
  switch (input.kind) {
    case 'reading':
    case 'status':
      return input.key;
    case 'mqtt':
      return Object.keys(input.captures).length > 0 ? input.key : null;
    case 'schedule':
    case 'event':
      return null;
  }
}

const forward: Handler<Extract<Action, { kind: 'forward' }>> = async (action, scope, rule, ctx, input) => {
  const destination = toText(action.destination.render(scope));
  if (destination === '') throw new Error(`cannot forward through ${action.to}: the destination is empty`);
  const where = `${action.to} ${destination}`;
  let key = defaultForwardKey(rule, input);
  if (action.key) {
    const rendered = action.key.render(scope);
    key = rendered === null || rendered === undefined ? null : toText(rendered) || null;
  }
  const text = action.payload ? serialisePayload(action.payload.render(scope)) : '';
  if (!ctx.forwarder) {
    throw new Error(
      `no connectors are configured, so the forward to connector "${action.to}" cannot be sent`,
    );
  }
  try {
    await ctx.forwarder.forward(action.to, { destination, key, payload: Buffer.from(text) });
  } catch (err) {
    throw new Error(`${where}: ${errorMessage(err)}`, { cause: err });
  }
  const detail = `${where}${key === null ? '' : ` key ${key}`}${text === '' ? '' : ` ${clip(text)}`}`;
  return { kind: 'forward', ok: true, detail, error: null };
};

const notify: Handler<Extract<Action, { kind: 'notify' }>> = async (action, scope, rule, ctx) => {
  const message = toText(action.message.render(scope));
  const title = action.title ? toText(action.title.render(scope)) : rule.id;
  if (!ctx.notifier) {
    throw new Error(`no notifiers are configured, so the notification via "${action.via}" cannot be sent`);
  }
  const notification = { title, message, priority: action.priority, source: `rule:${rule.id}`, tags: [] };
  let receipt: NotifyReceipt;
  try {
    receipt = await ctx.notifier.notify(action.via, notification);
  } catch (err) {
    throw new Error(`${action.via}: ${errorMessage(err)}`, { cause: err });
  }
  const what = `${action.via} ${action.priority} "${clip(title, 60)}"`;
  const detail =
    receipt.outcome === 'dropped'
      ? `${what} dropped: over the notifier's rate limit`
      : `${what} ${receipt.outcome === 'held' ? 'held for quiet hours' : 'queued'} as delivery ${receipt.id}`;
  return { kind: 'notify', ok: true, detail, error: null };
};

/** One handler per action kind; a new kind is a new entry here and in the schema. */
const HANDLERS: { readonly [K in ImmediateAction['kind']]: Handler<Extract<ImmediateAction, { kind: K }>> } =
  {
    publish,
    log,
    command,
    alert,
    clear_alert: clearAlert,
    http,
    forward,
    notify,
  };

/** Runs one action: its result at once when it finished at once, else a promise of it; throws or rejects on failure. */
export function runAction(
  action: ImmediateAction,
  scope: Scope,
  rule: Rule,
  ctx: ActionContext,
  input: TriggerInput,
): Omit<ActionResult, 'at'> | Promise<Omit<ActionResult, 'at'>> {
  const handler = HANDLERS[action.kind] as Handler<ImmediateAction>;
  return handler(action, scope, rule, ctx, input);
}
