import * as z from 'zod';
import { deviceListSchema, type DeviceDefinition } from '../../devices/index.js';
import { isDuration } from '../../kernel/index.js';
import { connectorListSchema } from '../connectors/config-schema.js';
import { alertRoutingSchema, notifiersSchema } from '../notifiers/config-schema.js';

/** True when `name` is an IANA time zone this Node.js knows. */
function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** A duration string such as `30s`, `5m`, `1h30m`, `30d`. */
export const durationSchema = z
  .string()
  .refine(isDuration, { message: 'not a duration; write it like 500ms, 10s, 5m, 2h, 1d or 1h30m' });

const port = z.number().int().min(0).max(65535);

/** MQTT over TLS and over secure WebSocket, sharing one certificate; both off until given a port. */
const tlsSchema = z
  .object({
    /** Address the TLS listeners bind; `mqtt.host` when unset (e.g. plain MQTT on loopback, TLS on 0.0.0.0). */
    host: z.string().optional(),
    /** MQTT over TLS (8883 by convention); 0 picks a free port, null turns it off. */
    port: port.nullable().default(null),
    /** MQTT over secure WebSocket; 0 picks a free port, null turns it off. */
    ws_port: port.nullable().default(null),
    /** PEM certificate (chain) and private key; re-read on SIGHUP. */
    cert: z.string().optional(),
    key: z.string().optional(),
    /** PEM CA bundle that client certificates are checked against. */
    ca: z.string().optional(),
    /** Refuse TLS clients without a certificate signed by `ca`. */
    require_client_cert: z.boolean().default(false),
  })
  .strict()
  .prefault({})
  .superRefine((tls, ctx) => {
    if (tls.port === null && tls.ws_port === null) return;
    for (const key of ['cert', 'key'] as const) {
      if (tls[key] === undefined)
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `a TLS listener needs mqtt.tls.${key} (a PEM file)`,
        });
    }
    if (tls.require_client_cert && tls.ca === undefined)
      ctx.addIssue({ code: 'custom', path: ['ca'], message: 'require_client_cert needs mqtt.tls.ca' });
  });

/** Who may connect and which topics they may use; the files are re-read on SIGHUP. */
const securitySchema = z
  .object({
    /**
     * Clients without a username: `loopback` (default) only from this machine, `true` from anywhere,
     * `false` never. Without `password_file`, every client counts as anonymous.
     */
    allow_anonymous: z.union([z.boolean(), z.literal('loopback')]).default('loopback'),
    /** `user:hash` lines written by `edgehub passwd`; Mosquitto's `$7$` lines work too. */
    password_file: z.string().optional(),
    /** Topic rules in Mosquitto's acl_file format; without it every client may use every topic. */
    acl_file: z.string().optional(),
    /** Refuse a client whose client id is not its username (one credential per device). */
    clientid_must_match_username: z.boolean().default(false),
    /** Delay before answering after a failed login from an address; doubles per further failure. */
    auth_delay: durationSchema.default('1s'),
    /** Ceiling of that delay. */
    auth_delay_max: durationSchema.default('30s'),
  })
  .strict()
  .prefault({});

/** Broker limits; each refusal carries the MQTT 5 reason code where there is one, and is logged and counted. */
const limitsSchema = z
  .object({
    /** Open connections at once (0: no limit); more are refused with CONNACK 0x97 / 3.1.1 code 3. */
    max_connections: z.number().int().min(0).default(1024),
    /** QoS 1/2 messages a client may have awaiting the hub's acknowledgement (MQTT 5 Receive Maximum). */
    max_inflight: z.number().int().min(1).max(65_535).default(1024),
    /** Packets held for a client whose CONNECT is still being checked; more disconnect it. */
    max_queued: z.number().int().min(1).default(100),
    /** QoS 1/2 messages queued for a persistent session while its client is away (0: no limit); more are dropped and counted. */
    max_queued_messages: z.number().int().min(0).default(1000),
    /** Payload and topic bytes of that queue (0: no limit). */
    max_queued_bytes: z
      .number()
      .int()
      .min(0)
      .default(16 * 1024 * 1024),
    /** Messages per second per client, sustained (0: no limit); over it MQTT 5 gets 0x96, 3.1.1 is dropped. */
    publish_rate: z.number().min(0).default(1000),
    /** Messages a client may send in one burst above `publish_rate`. */
    publish_burst: z.number().int().min(1).default(10_000),
    /** UTF-8 bytes in a topic name or filter. */
    max_topic_bytes: z.number().int().min(1).max(65_535).default(1024),
    /** Levels in a topic name or filter (`a/b/c` has 3); aedes handles at most 100. */
    max_topic_levels: z.number().int().min(1).max(100).default(32),
  })
  .strict()
  .prefault({});

const logLevelSchema = z.enum(['debug', 'info', 'warn', 'error']);

export const configSchema = z
  .object({
    hub: z
      .object({
        name: z.string().default('edgehub'),
        data_dir: z.string().default('./data'),
        /** Rule files; when unset, the hub runs without rules (the demo brings its own). */
        rules_dir: z.string().optional(),
        /** More device definitions: every `*.yaml` file here holds a `devices:` list. */
        devices_dir: z.string().optional(),
        log_level: logLevelSchema.default('info'),
        /**
         * Levels by component, over `log_level`: a log scope (`broker`, `store`, `rules`, `devices`,
         * `connectors`, `notify`, `http`, `security`, …) covers its children (`broker` covers
         * `broker.shared`); the longest name wins.
         */
        log_components: z
          .record(
            z.string().regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_:-]+)*$/, {
              message: 'a log scope such as broker, connectors or devices.homeassistant',
            }),
            logLevelSchema,
          )
          .default({}),
        log_json: z.boolean().default(false),
        /** IANA time zone of rule schedules and time windows (Europe/Berlin); the machine's zone when unset. */
        timezone: z
          .string()
          .refine(isTimeZone, {
            message: 'not a time zone this Node.js knows; write an IANA name such as Europe/Berlin',
          })
          .optional(),
        /** Degrees north (negative: south), for `sun:` schedules in rules. */
        latitude: z.number().min(-90).max(90).optional(),
        /** Degrees east (negative: west), for `sun:` schedules in rules. */
        longitude: z.number().min(-180).max(180).optional(),
      })
      .strict()
      .prefault({})
      .superRefine((hub, ctx) => {
        if ((hub.latitude === undefined) !== (hub.longitude === undefined)) {
          const missing = hub.latitude === undefined ? 'latitude' : 'longitude';
          ctx.addIssue({
            code: 'custom',
            path: [missing],
            message: `hub.${missing} is needed with the other one`,
          });
        }
      }),
    mqtt: z
      .object({
        /** Listeners bind to loopback unless told otherwise. */
        host: z.string().default('127.0.0.1'),
        port: port.default(1883),
        /** MQTT over WebSocket; 0 picks a free port, null turns it off. */
        ws_port: port.nullable().default(9001),
        /**
         * Bytes on the wire; a larger packet is refused before it is buffered (MQTT 5 clients get
         * DISCONNECT 0x95 Packet too large, older clients are disconnected), logged and counted.
         */
        max_packet_bytes: z.number().int().positive().default(1_048_576),
        /**
         * Seconds; the longest keep-alive an MQTT 5 client gets. One asking for more, or for none (0),
         * is told this value in CONNACK (Server Keep Alive), so a vanished client is noticed within
         * 1.5× of it. MQTT 3.1.1 clients keep what they ask for (3.1.1 cannot be told); 0 = no limit.
         */
        max_keepalive: z.number().int().min(0).max(65_535).default(600),
        /**
         * Topic Aliases an MQTT 5 client may set up toward the hub (advertised in CONNACK; 0: none).
         * An alias outside it, or one never set up, closes the connection with DISCONNECT 0x94.
         */
        topic_alias_maximum: z.number().int().min(0).max(65_535).default(10),
        /**
         * Where sessions (with their subscriptions), retained messages, QoS 1/2 messages queued or in
         * flight and wills live: `sqlite` keeps them in `<data_dir>/broker.db` across restarts and
         * crashes; `memory` loses them when the hub stops.
         */
        persistence: z.enum(['sqlite', 'memory']).default('sqlite'),
        tls: tlsSchema,
        security: securitySchema,
        limits: limitsSchema,
      })
      .strict()
      .prefault({}),
    store: z
      .object({
        enabled: z.boolean().default(true),
        /** Buffered events are written at least this often. */
        flush_interval: durationSchema.default('100ms'),
        /** A batch is written as soon as it holds this many events. */
        batch_size: z.number().int().positive().default(2000),
        /**
         * A QoS 1/2 message is acknowledged (PUBACK/PUBREC) only once it is committed to the event
         * store, so whatever a client saw acknowledged survives a crash. QoS 0 is never held.
         */
        durable_acks: z.boolean().default(true),
        /** The longest an acknowledgement waits for its commit; then it is sent anyway, and counted. */
        ack_timeout: durationSchema.default('5s'),
        /**
         * Events kept in memory while the disk is full or read-only; beyond it the oldest are dropped
         * and counted as the gap (logged when writing works again).
         */
        max_buffered_events: z.number().int().positive().default(100_000),
        retention: z
          .object({
            max_age: durationSchema.default('30d'),
            /** MiB of events; the oldest are deleted first. */
            max_size_mb: z.number().positive().default(1024),
            check_every: durationSchema.default('10m'),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    /** The rule engine at run time. */
    rules: z
      .object({
        /** A rule running more than `max_runs` times within `window` for one key is suspended for that key. */
        loop_breaker: z
          .object({
            enabled: z.boolean().default(true),
            /** A rule caused by itself (same key) through this many rule runs is a loop. */
            max_depth: z.number().int().min(1).max(1000).default(10),
            /** The rate guard for loops through devices: runs on the rule's own echo per window. */
            max_runs: z.number().int().min(1).default(200),
            window: durationSchema.default('1s'),
            suspend_for: durationSchema.default('5m'),
          })
          .strict()
          .prefault({}),
        /** Defaults of the `http` action; a rule's own `timeout`/`retries` win. */
        http: z
          .object({
            timeout: durationSchema.default('10s'),
            retries: z.number().int().min(0).max(10).default(2),
            /** Wait before the first retry; doubled for each further one. */
            backoff: durationSchema.default('1s'),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    /** Stored rule traces (`<data_dir>/rules.db`), read by `edgehub trace` and the HTTP API. */
    traces: z
      .object({
        /** Runs kept per rule and outcome: the last N fired, N blocked and N errors. */
        keep: z.number().int().min(1).max(10_000).default(50),
      })
      .strict()
      .prefault({}),
    /** The HTTP API and the dashboard: devices, events, history, rules, alerts, connectors, the live stream. */
    http: z
      .object({
        /** Loopback by default; any other address needs logins (a password file). */
        host: z.string().default('127.0.0.1'),
        /** 0 picks a free port, null turns the API off. */
        port: port.nullable().default(8080),
        /** Who may log in (`user:hash` lines, `edgehub passwd`); default `mqtt.security.password_file`. */
        password_file: z.string().optional(),
        /** Role by user: viewer reads, operator also sends commands and handles alerts, admin also edits rules. */
        users: z.record(z.string(), z.enum(['viewer', 'operator', 'admin'])).default({}),
        /** Logins end after `idle` without a request, and `absolute` after they began however busy. */
        session: z
          .object({ idle: durationSchema.default('30m'), absolute: durationSchema.default('12h') })
          .strict()
          .prefault({}),
        /** HTTPS, with PEM files as `mqtt.tls` takes them; re-read at start. */
        tls: z
          .object({
            cert: z.string(),
            key: z.string(),
            ca: z.string().optional(),
            require_client_cert: z.boolean().default(false),
          })
          .strict()
          .optional(),
        /** Request bodies larger than this are refused (413), bytes. */
        max_body_bytes: z
          .number()
          .int()
          .min(1024)
          .max(16 * 1024 * 1024)
          .default(64 * 1024),
        /** The built dashboard; default `dist/dashboard` of the edgehub package. */
        dashboard_dir: z.string().optional(),
      })
      .strict()
      .prefault({}),
    /** Home Assistant MQTT discovery of every defined device. */
    homeassistant: z
      .object({
        discovery: z.boolean().default(true),
        /** Discovery topic prefix, Home Assistant's `discovery_prefix`. */
        prefix: z.string().min(1).default('homeassistant'),
        /**
         * `entity`: a config per sensor and actuator (every Home Assistant version reads it);
         * `device`: one config per device with its entities under `cmps` (Home Assistant 2024.11 on).
         */
        mode: z.enum(['entity', 'device']).default('entity'),
      })
      .strict()
      .prefault({}),
    /** Device definitions; the schema lives with the adapters in devices/definition.ts. */
    devices: deviceListSchema.default([]),
    /** Remote systems events leave to and come in from: Kafka, RabbitMQ, SNS/SQS, Redis Streams, MQTT. */
    connectors: connectorListSchema,
    /** Where people are told: ntfy, Telegram, a signed webhook, e-mail, MQTT; name → settings. */
    notifiers: notifiersSchema,
    /** Which alerts go to which notifiers (by severity), and reminders while unacknowledged. */
    alerts: alertRoutingSchema,
    /** Start the simulated fleet and example rules. */
    demo: z.boolean().default(false),
  })
  .strict()
  .superRefine((config, ctx) => {
    config.alerts.notify.forEach((route, i) =>
      route.via.forEach((name, j) => {
        if (!(name in config.notifiers))
          ctx.addIssue({
            code: 'custom',
            path: ['alerts', 'notify', i, 'via', j],
            message: `unknown notifier "${name}"; configured notifiers: ${Object.keys(config.notifiers).join(', ') || 'none'}`,
          });
      }),
    );
  });

export type HubConfig = z.output<typeof configSchema>;
export type DeviceConfig = DeviceDefinition;
