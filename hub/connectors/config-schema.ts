import * as z from 'zod';
import { assertTopicFilter, isDuration } from '../../kernel/index.js';

/*
 * The `connectors:` list of the config: one entry per remote system, a discriminated union on
 * `type`. What is common (credentials, TLS, backlog bounds, batching, retry, the selectors of an
 * `out` route) is declared once here; each type adds its connection settings and where its routes
 * send to and read from.
 */

const duration = z
  .string()
  .refine(isDuration, { message: 'not a duration; write it like 500ms, 10s, 5m, 2h, 1d or 1h30m' });

const topicFilter = z.string().superRefine((filter, ctx) => {
  try {
    assertTopicFilter(filter);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
});

/** Placeholders a destination or local topic may use, filled per message. */
const TEMPLATE_FIELDS = ['device', 'metric', 'topic', 'key', 'hub'] as const;

/** A string with `{device}`, `{metric}`, `{topic}`, `{key}` or `{hub}` placeholders. */
const template = z
  .string()
  .min(1)
  .superRefine((text, ctx) => {
    for (const m of text.matchAll(/\{([^}]*)\}/g)) {
      if (!(TEMPLATE_FIELDS as readonly string[]).includes(m[1] ?? ''))
        ctx.addIssue({
          code: 'custom',
          message: `unknown placeholder {${m[1]}}; use ${TEMPLATE_FIELDS.map((f) => `{${f}}`).join(', ')}`,
        });
    }
  });

/** TLS toward the remote; on when the URL says so (mqtts, amqps, rediss, https) or `tls:` is given. */
const tlsSchema = z
  .object({
    /** PEM CA bundle the remote's certificate is checked against; the system's CAs when unset. */
    ca: z.string().optional(),
    /** PEM client certificate and key, for remotes that ask for one. */
    cert: z.string().optional(),
    key: z.string().optional(),
    /** Check the remote's certificate and name. Turning it off is logged as a warning at start. */
    verify: z.boolean().default(true),
    /** The name to check the certificate against when it differs from the host. */
    servername: z.string().optional(),
  })
  .strict();

/** How much a connector keeps while its remote is away; past either bound the oldest are dropped. */
const backlogSchema = z
  .object({
    /** Messages waiting at most; 0: no bound. */
    max_events: z.number().int().min(0).default(1_000_000),
    /** Older messages are dropped; "0s": no bound. */
    max_age: duration.default('7d'),
  })
  .strict()
  .prefault({});

const retrySchema = z
  .object({
    /** Wait after the first failure; doubled each time up to `max`. */
    initial: duration.default('1s'),
    max: duration.default('5m'),
  })
  .strict()
  .prefault({});

/** What every `out` route has: which events leave, with which key, in which form. */
const outCommon = {
  /** MQTT topic filters of the events that leave; every event when no selector is given. */
  topics: z.array(topicFilter).min(1).optional(),
  /** Only events of these devices (by edgehub's topic convention). */
  devices: z.array(z.string().min(1)).min(1).optional(),
  /** Only these metrics or actuators (`temperature`, `fan`). */
  metrics: z.array(z.string().min(1)).min(1).optional(),
  /** The message key: the device id (default; one device's events stay in order), the topic, or none. */
  key: z.enum(['device', 'topic', 'none']).default('device'),
  /** `event`: the stored event as JSON with its id; `raw`: the payload as it arrived. */
  format: z.enum(['event', 'raw']).default('event'),
};

/** What every `in` route has: the local topic the remote's messages are published on. */
const inCommon = {
  /** Local topic for each message; `{topic}` is the remote topic (or stream, queue), `{key}` its key. */
  local_topic: template.optional(),
};

/** Credentials: a user name and a password or secret read from a file or the environment. */
const credentials = {
  username: z.string().min(1).optional(),
  /** A file holding the password (its first line); keep it owner-only. */
  password_file: z.string().min(1).optional(),
  /** The name of an environment variable holding the password. */
  password_env: z.string().min(1).optional(),
};

const common = {
  /** Names the connector in logs, status topics, the API and the CLI. */
  id: z
    .string()
    .regex(
      /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/,
      'letters, digits, `_`, `.` and `-`, starting with a letter or digit',
    ),
  enabled: z.boolean().default(true),
  ...credentials,
  tls: tlsSchema.optional(),
  backlog: backlogSchema,
  /** Messages sent to the remote at once while it keeps up. */
  batch_size: z.number().int().min(1).max(10_000).default(500),
  retry: retrySchema,
};

const mqttConnector = z
  .object({
    ...common,
    type: z.literal('mqtt'),
    /** mqtt://host:1883, mqtts://host:8883, ws:// or wss://. */
    url: z.string().regex(/^(mqtts?|wss?):\/\/[^/]/, 'an mqtt://, mqtts://, ws:// or wss:// URL'),
    /** The upstream session's client id; `<hub.name>-<id>` by default. Kept across restarts. */
    client_id: z.string().min(1).optional(),
    protocol_version: z.union([z.literal(4), z.literal(5)]).default(5),
    /** Seconds. */
    keepalive: z.number().int().min(0).max(65_535).default(60),
    out: z
      .array(
        z
          .object({
            ...outCommon,
            /** Prepended to the local topic upstream: `site1/` sends `sensors/t1/temp` as `site1/sensors/t1/temp`. */
            topic_prefix: z.string().default(''),
            qos: z.union([z.literal(1), z.literal(2)]).default(1),
            retain: z.boolean().default(false),
          })
          .strict(),
      )
      .default([]),
    in: z
      .array(
        z
          .object({
            ...inCommon,
            /** Upstream topic filter subscribed to. */
            topic: topicFilter,
            /** Removed from the front of the upstream topic before `local_topic` is filled. */
            strip_prefix: z.string().default(''),
            qos: z.union([z.literal(0), z.literal(1), z.literal(2)]).default(1),
          })
          .strict(),
      )
      .default([]),
  })
  .strict();

const kafkaConnector = z
  .object({
    ...common,
    type: z.literal('kafka'),
    /** host:port of one or more brokers. */
    brokers: z.array(z.string().regex(/^[^:\s]+:\d+$/, 'host:port')).min(1),
    client_id: z.string().min(1).optional(),
    /** SASL with `username` and a password; off when unset. */
    sasl: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']).optional(),
    out: z
      .array(
        z
          .object({
            ...outCommon,
            /** The Kafka topic; may use placeholders. */
            topic: template,
          })
          .strict(),
      )
      .default([]),
    in: z
      .array(
        z
          .object({
            ...inCommon,
            topic: z.string().min(1),
            /** Consumer group; `<hub.name>-<id>` by default. */
            group: z.string().min(1).optional(),
          })
          .strict(),
      )
      .default([]),
  })
  .strict();

const amqpConnector = z
  .object({
    ...common,
    type: z.literal('amqp'),
    /** amqp://host:5672/vhost or amqps://; the password goes in password_file or password_env, not here. */
    url: z.string().regex(/^amqps?:\/\/[^/]/, 'an amqp:// or amqps:// URL'),
    out: z
      .array(
        z
          .object({
            ...outCommon,
            /** An existing exchange; "" is the default exchange (the routing key names a queue). */
            exchange: z.string().default(''),
            /** May use placeholders; `{topic}` with `/` turned into `.` by default. */
            routing_key: template.optional(),
          })
          .strict(),
      )
      .default([]),
    in: z
      .array(
        z
          .object({
            ...inCommon,
            /** An existing queue to consume. */
            queue: z.string().min(1),
            /** Unacknowledged messages at once. */
            prefetch: z.number().int().min(1).max(65_535).default(100),
          })
          .strict(),
      )
      .default([]),
  })
  .strict();

/** AWS: the region, an endpoint for an emulator or a private endpoint, and the access key. */
const aws = {
  region: z.string().min(1).default('us-east-1'),
  /** http(s):// endpoint instead of AWS's own (an emulator, a VPC endpoint). */
  endpoint: z.url().optional(),
};

const sqsConnector = z
  .object({
    ...common,
    ...aws,
    type: z.literal('sqs'),
    batch_size: z.number().int().min(1).max(10_000).default(10),
    out: z
      .array(
        z
          .object({
            ...outCommon,
            queue_url: z.url(),
          })
          .strict(),
      )
      .default([]),
    in: z
      .array(
        z
          .object({
            ...inCommon,
            queue_url: z.url(),
            /** Seconds a received message stays hidden before another receive sees it again. */
            visibility_timeout: z.number().int().min(0).max(43_200).default(30),
          })
          .strict(),
      )
      .default([]),
  })
  .strict();

const snsConnector = z
  .object({
    ...common,
    ...aws,
    type: z.literal('sns'),
    batch_size: z.number().int().min(1).max(10_000).default(10),
    out: z
      .array(
        z
          .object({
            ...outCommon,
            topic_arn: z.string().regex(/^arn:/, 'an SNS topic ARN'),
          })
          .strict(),
      )
      .default([]),
  })
  .strict();

const redisConnector = z
  .object({
    ...common,
    type: z.literal('redis-stream'),
    /** redis://host:6379/0 or rediss://. */
    url: z.string().regex(/^rediss?:\/\/[^/]/, 'a redis:// or rediss:// URL'),
    out: z
      .array(
        z
          .object({
            ...outCommon,
            /** The stream key; may use placeholders. */
            stream: template,
            /** Stream entries kept, approximately (XADD MAXLEN ~); 0: no trimming. */
            max_len: z.number().int().min(0).default(0),
          })
          .strict(),
      )
      .default([]),
    in: z
      .array(
        z
          .object({
            ...inCommon,
            stream: z.string().min(1),
            /** Consumer group, created at the stream's end when missing; `<hub.name>-<id>` by default. */
            group: z.string().min(1).optional(),
          })
          .strict(),
      )
      .default([]),
  })
  .strict();

/** One connector; the shape depends on `type`. */
export const connectorSchema = z
  .discriminatedUnion('type', [
    mqttConnector,
    kafkaConnector,
    amqpConnector,
    sqsConnector,
    snsConnector,
    redisConnector,
  ])
  .superRefine((c, ctx) => {
    if (c.password_file !== undefined && c.password_env !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['password_env'],
        message: 'give the password in password_file or password_env, not both',
      });
    if ('url' in c && /^[a-z]+:\/\/[^/@]*:[^/@]*@/.test(c.url))
      ctx.addIssue({
        code: 'custom',
        path: ['url'],
        message:
          'the URL carries a password: put it in password_file or password_env, so it is never printed',
      });
    if (c.type === 'kafka' && c.sasl !== undefined && c.username === undefined)
      ctx.addIssue({ code: 'custom', path: ['username'], message: 'SASL needs a username' });
  });

export const connectorListSchema = z
  .array(connectorSchema)
  .default([])
  .superRefine((list, ctx) => {
    const seen = new Set<string>();
    list.forEach((c, i) => {
      if (seen.has(c.id))
        ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `connector id ${c.id} is used twice` });
      seen.add(c.id);
    });
  });

export type ConnectorConfig = z.output<typeof connectorSchema>;
export type ConnectorType = ConnectorConfig['type'];
/** An `out` route of any connector type. */
export type OutRouteConfig = ConnectorConfig['out'][number];
/** An `in` route of any connector type that has them. */
export type InRouteConfig = Exclude<ConnectorConfig, { type: 'sns' }>['in'][number];
