import { z } from 'zod';
import { deviceListSchema, type DeviceDefinition } from '../../devices/index.js';
import { isDuration } from '../../kernel/index.js';

/** A duration string such as `30s`, `5m`, `1h30m`, `30d`. */
export const durationSchema = z
  .string()
  .refine(isDuration, { message: 'not a duration; write it like 500ms, 10s, 5m, 2h, 1d or 1h30m' });

const port = z.number().int().min(0).max(65535);

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
        log_level: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
        log_json: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
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
    /** Home Assistant MQTT discovery of every defined device. */
    homeassistant: z
      .object({
        discovery: z.boolean().default(true),
        /** Discovery topic prefix, Home Assistant's `discovery_prefix`. */
        prefix: z.string().min(1).default('homeassistant'),
      })
      .strict()
      .prefault({}),
    /** Device definitions; the schema lives with the adapters in devices/definition.ts. */
    devices: deviceListSchema.default([]),
    /** Start the simulated fleet and example rules. */
    demo: z.boolean().default(false),
  })
  .strict();

export type HubConfig = z.output<typeof configSchema>;
export type DeviceConfig = DeviceDefinition;
