import * as z from 'zod';
import { isDuration } from '../kernel/index.js';
import { firmataPinIssues, firmataSettingsSchema } from './firmata/firmata-settings.js';
import { serialSettingsSchema } from './serial/serial-settings.js';
import { discoveryId } from './discovery-ids.js';
import { checkUnit } from './sensor-units.js';

/**
 * The schema of a device definition: one entry of the config's `devices:` list or of a `*.yaml`
 * file in `hub.devices_dir`. One schema for both places, validated through `YamlSource` so every
 * error names file:line:col and the key path.
 *
 * Adapter-specific settings live in sub-objects named after the adapter (`serial:`, `firmata:`).
 * Their schemas are owned by the adapters' folders and plugged in here; each adapter also checks its
 * block at construction, since a definition built in code may skip this schema.
 */

const duration = z
  .string()
  .refine(isDuration, { message: 'not a duration; write it like 500ms, 10s, 5m, 2h, 1d or 1h30m' });

/** A topic level: no MQTT separators or wildcards, since ids and names become topic levels. */
const level = (what: string) =>
  z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/, `${what} use letters, digits, _ . and - only (they are MQTT topic levels)`);

/** `N/period`, e.g. `6/1m`: at most N switchings in any window of that length. */
const rate = z
  .string()
  .regex(/^\s*\d+\s*\/\s*\S+\s*$/, 'write a rate like 6/1m (at most 6 switchings per minute)')
  .refine((s) => isDuration((s.split('/')[1] ?? '').trim()), {
    message: 'the period of a rate is a duration like 1m',
  });

export const ADAPTER_KINDS = ['mqtt', 'serial', 'firmata'] as const;
export type AdapterKind = (typeof ADAPTER_KINDS)[number];

export const CONVENTIONS = ['edgehub', 'tasmota', 'zigbee2mqtt'] as const;
export type Convention = (typeof CONVENTIONS)[number];

/** What a sensor measures; picks the Home Assistant component and device class. */
export const SENSOR_KINDS = [
  'temperature',
  'humidity',
  'illuminance',
  'pressure',
  'power',
  'energy',
  'voltage',
  'current',
  'battery',
  'motion',
  'door',
  'generic',
] as const;
export type SensorKind = (typeof SENSOR_KINDS)[number];

export const ACTUATOR_KINDS = ['switch', 'light', 'dimmer', 'relay', 'buzzer'] as const;
export type ActuatorKind = (typeof ACTUATOR_KINDS)[number];

const sensorSchema = z
  .object({
    metric: level('metric names'),
    /** Shown in Home Assistant and the log, e.g. `°C`, `%`, `lx`, `W`. */
    unit: z.string().optional(),
    kind: z.enum(SENSOR_KINDS).default('generic'),
    /**
     * Where the value sits in a foreign payload: a dotted path such as `AM2301.Temperature` (Tasmota's
     * `SENSOR` JSON) or `temperature` (zigbee2mqtt's state JSON). Default: the metric name.
     */
    key: z.string().optional(),
    /** No reading of this metric for this long makes it stale; default the device's `stale_after`. */
    stale_after: duration.optional(),
  })
  .strict()
  // Home Assistant drops a sensor whose unit its device class does not list, so a unit is checked
  // against the kind at load; discovery then announces it in Home Assistant's spelling (`lux` → `lx`).
  .superRefine((s, ctx) => {
    const checked = checkUnit(s.kind, s.unit);
    if ('problem' in checked) ctx.addIssue({ code: 'custom', path: ['unit'], message: checked.problem });
  });

/** `<actuator>` on the same device, or `<device>/<actuator>`; likewise for sensors. */
const ref = z
  .string()
  .regex(/^([A-Za-z0-9_.-]+\/)?[A-Za-z0-9_.-]+$/, 'write a reference as name or device/name');

const safetySchema = z
  .object({
    /** Once switched on, stays on at least this long; an earlier `off` is refused. */
    min_on: duration.optional(),
    /** Once switched off, stays off at least this long; an earlier `on` is refused. */
    min_off: duration.optional(),
    /** At most N switchings in any window of the period, e.g. `6/1m`. */
    max_rate: rate.optional(),
    /** The state forced when a sensor in `depends_on` goes stale and when the hub stops. */
    fail_safe: z.enum(['on', 'off']).default('off'),
    /** Sensors (`metric` or `device/metric`) whose staleness forces the fail-safe state. */
    depends_on: z.array(ref).default([]),
    /** Actuators (`name` or `device/name`) never on together with this one. */
    interlock: z.array(ref).default([]),
  })
  .strict();

const actuatorSchema = z
  .object({
    name: level('actuator names'),
    kind: z.enum(ACTUATOR_KINDS).default('switch'),
    /**
     * The actuator in a foreign convention: Tasmota's power command (`POWER`, `POWER2`), zigbee2mqtt's
     * state key (`state`, `state_l2`). Default `POWER` and `state`.
     */
    key: z.string().optional(),
    safety: safetySchema.optional(),
  })
  .strict();

export const deviceDefinitionSchema = z
  .object({
    id: level('device ids'),
    name: z.string().optional(),
    adapter: z.enum(ADAPTER_KINDS).default('mqtt'),
    /** The MQTT topic convention the device speaks (adapter `mqtt` only). */
    convention: z.enum(CONVENTIONS).default('edgehub'),
    /** Tasmota's `<topic>` level, zigbee2mqtt's friendly name; default the id. */
    topic: z.string().min(1).optional(),
    /** zigbee2mqtt's base topic. */
    base: z.string().min(1).default('zigbee2mqtt'),
    /** No message for this long marks the device stale. */
    stale_after: duration.optional(),
    manufacturer: z.string().optional(),
    model: z.string().optional(),
    sensors: z.array(sensorSchema).default([]),
    actuators: z.array(actuatorSchema).default([]),
    /** Owned by the serial adapter (devices/serial/): `{path, baud}` of a JSON-lines device. */
    serial: serialSettingsSchema.optional(),
    /** Owned by the Firmata adapter (devices/firmata/): `{path, pins: [...]}` of a Firmata board. */
    firmata: firmataSettingsSchema.optional(),
  })
  .strict()
  .superRefine((d, ctx) => {
    if (d.adapter !== 'mqtt' && d.convention !== 'edgehub') {
      ctx.addIssue({
        code: 'custom',
        path: ['convention'],
        message: `convention applies to MQTT devices only`,
      });
    }
    if (d.firmata)
      for (const issue of firmataPinIssues(
        d.firmata,
        d.actuators.map((a) => a.name),
      ))
        ctx.addIssue({ code: 'custom', path: ['firmata', ...issue.path], message: issue.message });
    duplicates(d.sensors.map((s) => s.metric)).forEach((i) =>
      ctx.addIssue({ code: 'custom', path: ['sensors', i, 'metric'], message: 'duplicate metric' }),
    );
    duplicates(d.actuators.map((a) => a.name)).forEach((i) =>
      ctx.addIssue({ code: 'custom', path: ['actuators', i, 'name'], message: 'duplicate actuator name' }),
    );
    // Sensors and actuators share one Home Assistant id space per device; exact repeats within
    // either list are the duplicates above.
    const names = [...d.sensors.map((s) => s.metric), ...d.actuators.map((a) => a.name)];
    const sensors = d.sensors.length;
    for (const [k, first] of lookalikes(names)) {
      if (names[k] === names[first] && k < sensors === first < sensors) continue;
      ctx.addIssue({
        code: 'custom',
        path: k < sensors ? ['sensors', k, 'metric'] : ['actuators', k - sensors, 'name'],
        message: `${names[k]} and ${names[first]} would be one Home Assistant entity of ${d.id}; give each sensor and actuator its own name`,
      });
    }
  });

/** A problem across definitions: `path` starts at the device's index in the list. */
export interface DeviceListIssue {
  path: (string | number)[];
  message: string;
}

/**
 * Checks definitions as a whole: ids are unique and every `depends_on` / `interlock` reference names
 * a sensor (that can go stale) or an actuator that exists. Used on the config's list and on the
 * union of the config and `hub.devices_dir`.
 */
export function deviceListIssues(list: readonly DeviceDefinition[]): DeviceListIssue[] {
  const issues: DeviceListIssue[] = [];
  duplicates(list.map((d) => d.id)).forEach((i) =>
    issues.push({ path: [i, 'id'], message: 'duplicate device id' }),
  );
  for (const [i, j] of lookalikes(list.map((d) => d.id)).filter(([i, j]) => list[i]?.id !== list[j]?.id))
    issues.push({
      path: [i, 'id'],
      message: `device ids ${list[j]?.id} and ${list[i]?.id} differ only by . and _, which Home Assistant's ids cannot tell apart`,
    });
  list.forEach((d, i) =>
    d.actuators.forEach((a, j) => {
      const safety = a.safety;
      if (!safety) return;
      const at = (key: string, k: number) => [i, 'actuators', j, 'safety', key, k];
      safety.depends_on.forEach((r, k) => {
        const { device, name } = resolveRef(d.id, r);
        const owner = list.find((x) => x.id === device);
        const sensor = owner?.sensors.find((s) => s.metric === name);
        if (!owner || !sensor)
          issues.push({ path: at('depends_on', k), message: `no sensor ${device}/${name} is defined` });
        else if (sensor.stale_after === undefined && owner.stale_after === undefined)
          issues.push({
            path: at('depends_on', k),
            message: `${device}/${name} has no stale_after (on the sensor or its device), so it can never go stale`,
          });
      });
      safety.interlock.forEach((r, k) => {
        const { device, name } = resolveRef(d.id, r);
        const self = device === d.id && name === a.name;
        if (self || !list.some((x) => x.id === device && x.actuators.some((y) => y.name === name)))
          issues.push({
            path: at('interlock', k),
            message: self
              ? 'an actuator cannot interlock with itself'
              : `no actuator ${device}/${name} is defined`,
          });
      });
    }),
  );
  return issues;
}

/** The config's `devices:` list. */
export const deviceListSchema = z.array(deviceDefinitionSchema).superRefine((list, ctx) => {
  for (const issue of deviceListIssues(list)) ctx.addIssue({ code: 'custom', ...issue });
});

/**
 * The JSON Schema of a devices file, for editors (`# yaml-language-server: $schema=…`); kept in
 * `schemas/devices.schema.json` and checked to be current by the tests.
 */
export function deviceFileJsonSchema(): unknown {
  return z.toJSONSchema(deviceFileSchema, { io: 'input', unrepresentable: 'any' });
}

/** The `devices:` list of a file in `hub.devices_dir`. */
export const deviceFileSchema = z.object({ devices: z.array(deviceDefinitionSchema).default([]) }).strict();

export type DeviceDefinition = z.output<typeof deviceDefinitionSchema>;
export type SensorDefinition = z.output<typeof sensorSchema>;
export type ActuatorDefinition = z.output<typeof actuatorSchema>;
export type SafetyDefinition = z.output<typeof safetySchema>;

/** Splits `name` / `device/name` into its parts, `device` defaulting to `ownDevice`. */
export function resolveRef(ownDevice: string, ref: string): { device: string; name: string } {
  const slash = ref.indexOf('/');
  return slash < 0
    ? { device: ownDevice, name: ref }
    : { device: ref.slice(0, slash), name: ref.slice(slash + 1) };
}

/** `6/1m` → { count: 6, periodMs } */
export function parseRate(
  text: string,
  parseDurationMs: (s: string) => number,
): { count: number; periodMs: number } {
  const [count = '0', period = '0s'] = text.split('/');
  return { count: Number(count.trim()), periodMs: parseDurationMs(period.trim()) };
}

/** Pairs `[index, earlier index]` of values that become the same Home Assistant id. */
function lookalikes(values: readonly string[]): [number, number][] {
  const firstById = new Map<string, number>();
  const pairs: [number, number][] = [];
  values.forEach((v, i) => {
    const id = discoveryId(v);
    const first = firstById.get(id);
    if (first === undefined) firstById.set(id, i);
    else pairs.push([i, first]);
  });
  return pairs;
}

function duplicates(values: readonly string[]): number[] {
  return values.flatMap((v, i) => (values.indexOf(v) !== i ? [i] : []));
}
