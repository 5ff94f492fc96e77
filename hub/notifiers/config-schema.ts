import * as z from 'zod';
import { isDuration } from '../../kernel/index.js';
import { SEVERITIES } from '../../rules/index.js';

/*
 * The `notifiers:` map of the config (name → settings, a discriminated union on `type`) and the
 * `alerts:` routing of alerts to them. What every notifier has (timeout, retries, rate limit, quiet
 * hours) is declared once; each type adds where it sends and its secret. Secrets are never in the
 * config itself: `<secret>_file` names a file whose first line is it, `<secret>_env` an environment
 * variable.
 */

const duration = z
  .string()
  .refine(isDuration, { message: 'not a duration; write it like 500ms, 10s, 5m, 2h, 1d or 1h30m' });

const timeOfDay = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a local time of day as HH:MM, e.g. "22:00"');

/** Where a secret comes from; at most one of the two. */
function secretKeys<K extends string>(name: K) {
  return {
    [`${name}_file`]: z.string().min(1).optional(),
    [`${name}_env`]: z.string().min(1).optional(),
  } as { [P in `${K}_file` | `${K}_env`]: z.ZodOptional<z.ZodString> };
}

const common = {
  /** Per attempt. */
  timeout: duration.default('10s'),
  /** Attempts after the first one fails (a network error, a timeout, HTTP 5xx or 429, SMTP 4xx). */
  retries: z.number().int().min(0).max(20).default(3),
  /** Wait before the first retry; doubled for each further one, at most 10 minutes. */
  backoff: duration.default('2s'),
  /** At most `max` notifications per `per`; more are dropped, counted and logged once. */
  rate_limit: z
    .object({ max: z.number().int().min(1).default(30), per: duration.default('1m') })
    .strict()
    .prefault({}),
  /**
   * Local time (hub.timezone) in which notifications are held until `to`, then sent; `urgent` ones
   * (critical alerts) are sent at once. `from` after `to` spans midnight.
   */
  quiet_hours: z.object({ from: timeOfDay, to: timeOfDay }).strict().optional(),
};

const ntfySchema = z
  .object({
    type: z.literal('ntfy'),
    /** ntfy.sh or a self-hosted server. */
    server: z.url({ protocol: /^https?$/ }).default('https://ntfy.sh'),
    topic: z.string().regex(/^[-_A-Za-z0-9]{1,64}$/, 'an ntfy topic uses letters, digits, - and _ (1-64)'),
    ...secretKeys('token'),
    ...common,
  })
  .strict();

const telegramSchema = z
  .object({
    type: z.literal('telegram'),
    /** The chat, group or channel id (or @channelname). */
    chat_id: z.union([z.string().min(1), z.number().int()]),
    /** For a local Bot API server or a proxy. */
    api_base: z.url({ protocol: /^https?$/ }).default('https://api.telegram.org'),
    ...secretKeys('token'),
    ...common,
  })
  .strict();

const webhookSchema = z
  .object({
    type: z.literal('webhook'),
    url: z.url({ protocol: /^https?$/ }),
    /** Extra request headers (not secrets: they may be logged). */
    headers: z.record(z.string(), z.string()).default({}),
    /** The Standard Webhooks signing secret (`whsec_…`); unsigned without one. */
    ...secretKeys('secret'),
    ...common,
  })
  .strict();

const emailSchema = z
  .object({
    type: z.literal('email'),
    host: z.string().min(1),
    /** 587 for STARTTLS, 465 for TLS, 25 for none. */
    port: z.number().int().min(1).max(65535).optional(),
    /** `starttls` requires the upgrade, `tls` connects over TLS, `none` sends in the clear (loopback relays). */
    security: z.enum(['starttls', 'tls', 'none']).default('starttls'),
    /** A PEM CA bundle the server's certificate is checked against (a private relay). */
    ca: z.string().optional(),
    username: z.string().min(1).optional(),
    ...secretKeys('password'),
    from: z.string().min(3),
    to: z.array(z.string().min(3)).min(1),
    ...common,
  })
  .strict();

const mqttSchema = z
  .object({
    type: z.literal('mqtt'),
    /** Published through the hub's own broker, as a rule's `publish:` is. */
    topic: z.string().regex(/^[^+#]+$/, 'a published topic may not contain + or #'),
    qos: z.literal([0, 1, 2]).default(1),
    retain: z.boolean().default(false),
    ...common,
  })
  .strict();

const notifierSchema = z
  .discriminatedUnion('type', [ntfySchema, telegramSchema, webhookSchema, emailSchema, mqttSchema], {
    error: 'expected type: ntfy, telegram, webhook, email or mqtt',
  })
  .superRefine((n, ctx) => {
    const secret = { ntfy: 'token', telegram: 'token', webhook: 'secret', email: 'password' }[
      n.type as string
    ];
    if (secret === undefined) return;
    const keys = n as unknown as Record<string, unknown>;
    if (keys[`${secret}_file`] !== undefined && keys[`${secret}_env`] !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: [`${secret}_env`],
        message: `give one of ${secret}_file and ${secret}_env`,
      });
    if (n.type === 'telegram' && keys.token_file === undefined && keys.token_env === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['token_file'],
        message: 'a telegram notifier needs the bot token: token_file or token_env',
      });
    if (n.type === 'email' && (keys.password_file !== undefined || keys.password_env !== undefined))
      if (n.username === undefined)
        ctx.addIssue({ code: 'custom', path: ['username'], message: 'a password goes with a username' });
  });

export const NOTIFIER_NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export const notifiersSchema = z
  .record(
    z.string().regex(NOTIFIER_NAME_PATTERN, 'a notifier name uses letters, digits, _ . and -'),
    notifierSchema,
  )
  .default({});

/** Which alerts go to which notifiers, and how often an unacknowledged one is repeated. */
export const alertRoutingSchema = z
  .object({
    notify: z
      .array(
        z
          .object({
            /** Default: every severity. */
            severities: z.array(z.enum(SEVERITIES)).min(1).optional(),
            via: z.array(z.string().min(1)).min(1),
          })
          .strict(),
      )
      .default([]),
    /** Sends again while an alert is active and unacknowledged, this often; none when unset. */
    remind_every: duration.optional(),
    /** Tell the same notifiers when an alert clears. */
    on_clear: z.boolean().default(true),
  })
  .strict()
  .prefault({});

export type NotifierConfig = z.output<typeof notifierSchema>;
export type NotifierType = NotifierConfig['type'];
export type AlertRoutingConfig = z.output<typeof alertRoutingSchema>;
