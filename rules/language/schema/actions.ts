import * as z from 'zod';
import { deviceIdSchema, durationSchema, keyIssue, requireOneKind } from './common.js';
import { conditionListSchema, type ConditionDefinition } from './conditions.js';
import { waitTriggerSchema, type TriggerDefinition } from './triggers.js';

export const SEVERITIES = ['critical', 'major', 'minor', 'warning', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/** How loud a notification is, lowest first (ntfy's five levels); `urgent` passes quiet hours. */
export const NOTIFY_PRIORITIES = ['min', 'low', 'default', 'high', 'urgent'] as const;
export type NotifyPriority = (typeof NOTIFY_PRIORITIES)[number];

/** An action as written; the kind is the one key it holds (`default:` rides along with `choose:`). */
export interface ActionDefinition {
  publish?:
    | { topic: string; payload?: unknown; qos?: 0 | 1 | 2 | undefined; retain?: boolean | undefined }
    | undefined;
  log?: string | undefined;
  command?: { device: string; set: Record<string, unknown> } | undefined;
  alert?: { key: string; severity?: Severity | undefined; message?: string | undefined } | undefined;
  clear_alert?: { key: string } | undefined;
  http?:
    | {
        url: string;
        method?: (typeof HTTP_METHODS)[number] | undefined;
        headers?: Record<string, string> | undefined;
        body?: unknown;
        timeout?: string | undefined;
        retries?: number | undefined;
      }
    | undefined;
  delay?: string | undefined;
  wait?: { trigger: TriggerDefinition; timeout: string } | undefined;
  choose?: { if: ConditionDefinition | ConditionDefinition[]; then: ActionDefinition[] }[] | undefined;
  default?: ActionDefinition[] | undefined;
  set?: Record<string, unknown> | undefined;
  forward?: { to: string; destination: string; key?: string | undefined; payload?: unknown } | undefined;
  notify?:
    | { via: string; title?: string | undefined; message: string; priority?: NotifyPriority | undefined }
    | undefined;
}

export const publishActionSchema = z
  .object({
    topic: z.string().min(1).describe('Topic to publish to; {{ expr }} templates allowed'),
    payload: z
      .unknown()
      .optional()
      .describe('Text, number, map or list; templated recursively; maps and lists are sent as JSON'),
    qos: z.literal([0, 1, 2]).optional().describe('MQTT QoS, default 0'),
    retain: z.boolean().optional().describe('default false'),
  })
  .strict();

const commandActionSchema = z
  .object({
    device: deviceIdSchema.describe('The device to command; {{ expr }} templates allowed'),
    set: z
      .record(z.string(), z.unknown())
      .describe('Actuator states to set, e.g. { fan: true }; values templated'),
  })
  .strict();

const alertActionSchema = z
  .object({
    key: z.string().min(1).describe('One alert per key; {{ expr }} templates allowed, e.g. hot/{{ device }}'),
    severity: z.enum(SEVERITIES).optional().describe('critical, major, minor, warning (default) or info'),
    message: z.string().optional().describe('What to tell people; {{ expr }} templates allowed'),
  })
  .strict();

const httpActionSchema = z
  .object({
    url: z.string().min(1).describe('http:// or https:// URL; {{ expr }} templates allowed'),
    method: z.enum(HTTP_METHODS).optional().describe('Default POST with a body, else GET'),
    headers: z.record(z.string(), z.string()).optional(),
    body: z.unknown().optional().describe('Text is sent as it is; maps and lists as JSON'),
    timeout: durationSchema.optional().describe('Per attempt; default from the hub config'),
    retries: z.number().int().min(0).max(10).optional().describe('Retries after a failure, with backoff'),
  })
  .strict();

/** A connector id as the hub's config names it (`connectors[].id`). */
export const CONNECTOR_ID = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

const forwardActionSchema = z
  .object({
    to: z
      .string({ error: 'expected a connector id, e.g. cloud' })
      .regex(CONNECTOR_ID, 'a connector id uses letters, digits, _ . and -, starting with a letter or digit')
      .describe('The connector to send through: an id from the hub config (connectors[].id)'),
    destination: z
      .string({ error: 'expected where the message goes on the remote side' })
      .min(1, 'the destination may not be empty')
      .describe(
        'Where on the remote: MQTT topic, Kafka topic, AMQP routing key, SQS queue URL, SNS topic ARN or Redis stream; {{ expr }} templates allowed',
      ),
    key: z
      .string()
      .optional()
      .describe(
        'Message key (order is kept per key); {{ expr }} templates allowed; default the run key when the rule or trigger names one; "" for none',
      ),
    payload: z
      .unknown()
      .optional()
      .describe('Text, number, map or list; templated recursively; maps and lists are sent as JSON'),
  })
  .strict();

/** A notifier name as the hub's config names it (`notifiers.<name>`). */
export const NOTIFIER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

const notifyActionSchema = z
  .object({
    via: z
      .string({ error: 'expected a notifier name, e.g. phone' })
      .regex(
        NOTIFIER_NAME,
        'a notifier name uses letters, digits, _ . and -, starting with a letter or digit',
      )
      .describe('The notifier to send through: a name from the hub config (notifiers.<name>)'),
    title: z.string().optional().describe('Headline; {{ expr }} templates allowed; default the rule id'),
    message: z
      .string({ error: 'expected the text to send' })
      .min(1, 'the message may not be empty')
      .describe('What to tell people; {{ expr }} templates allowed'),
    priority: z
      .enum(NOTIFY_PRIORITIES)
      .optional()
      .describe('min, low, default (default), high or urgent; urgent is sent during quiet hours too'),
  })
  .strict();

const waitActionSchema = z
  .object({
    trigger: waitTriggerSchema.describe('What to wait for; mqtt and device may use {{ expr }} templates'),
    timeout: durationSchema.describe('Give up after this long; wait.timed_out tells which happened'),
  })
  .strict();

const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const ACTION_KINDS = [
  'publish',
  'log',
  'command',
  'alert',
  'clear_alert',
  'http',
  'delay',
  'wait',
  'choose',
  'set',
  'forward',
  'notify',
] as const;

export const actionSchema: z.ZodType<ActionDefinition> = z
  .lazy(() => actionMapSchema)
  .meta({ id: 'action', description: 'One action: a map with exactly one action key' });

const chooseOptionSchema = z
  .object({
    if: conditionListSchema.describe('Conditions of this branch; all must hold'),
    then: z.array(actionSchema).describe('Actions of this branch'),
  })
  .strict();

const actionMapSchema = z
  .object({
    publish: publishActionSchema.optional().describe('Publish through the embedded broker'),
    log: z.string().optional().describe('Write to the hub log and the trace; {{ expr }} templates allowed'),
    command: commandActionSchema.optional().describe('Send a command to a device through its adapter'),
    alert: alertActionSchema.optional().describe('Raise an alert (one record per key)'),
    clear_alert: z
      .object({ key: z.string().min(1) })
      .strict()
      .optional()
      .describe('Clear an alert'),
    http: httpActionSchema.optional().describe('Call a webhook'),
    delay: durationSchema.optional().describe('Wait this long on the hub clock; survives restarts'),
    wait: waitActionSchema.optional().describe('Wait for a trigger, or until the timeout'),
    choose: z
      .array(chooseOptionSchema)
      .min(1)
      .optional()
      .describe('Runs the first branch whose conditions hold, else default:'),
    default: z.array(actionSchema).optional().describe('With choose: actions when no branch holds'),
    set: z
      .record(
        z.string().regex(VAR_NAME, 'variable names use letters, digits and _, not starting with a digit'),
        z.unknown(),
      )
      .optional()
      .describe('Set rule variables (vars.NAME) to expressions; persisted'),
    forward: forwardActionSchema
      .optional()
      .describe('Send a composed message through a connector (Kafka, AMQP, SQS, SNS, Redis, MQTT)'),
    notify: notifyActionSchema
      .optional()
      .describe('Send a notification through a configured notifier (ntfy, Telegram, webhook, e-mail, MQTT)'),
  })
  .strict()
  .superRefine((action, ctx) => {
    requireOneKind(action, ACTION_KINDS, ctx, 'an action');
    if (action.default !== undefined && action.choose === undefined) {
      keyIssue(ctx, 'default', 'default: goes with choose:');
    }
  })
  .meta({ minProperties: 1 });
