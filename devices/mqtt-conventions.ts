import type { OutgoingMessage } from '../kernel/index.js';
import type { ActuatorCommand, ActuatorState, DeviceCommandSet } from './adapter.js';
import type { ActuatorDefinition, DeviceDefinition } from './definition.js';
import { TOPICS } from '../kernel/index.js';

/**
 * The MQTT conventions edgehub maps into its own model, both ways:
 *
 * | convention  | readings                  | actuator state                 | availability            | commands                      |
 * |-------------|---------------------------|--------------------------------|-------------------------|-------------------------------|
 * | edgehub     | `sensors/<d>/<metric>`    | `actuators/<d>/<a>/state`      | `devices/<d>/availability` | `actuators/<d>/<a>` JSON   |
 * | tasmota     | `tele/<t>/SENSOR` JSON    | `stat/<t>/POWER`, `…/RESULT`, `tele/<t>/STATE` | `tele/<t>/LWT` Online/Offline | `cmnd/<t>/POWER` ON/OFF, `cmnd/<t>/Dimmer` % |
 * | zigbee2mqtt | `<base>/<n>` JSON         | `<base>/<n>` JSON `state`      | `<base>/<n>/availability` | `<base>/<n>/set` JSON       |
 *
 * edgehub's own topics are read by `parseDeviceTopic`; this file holds the foreign ones.
 */

/** What a device said, in edgehub's terms. */
export type DeviceSignal =
  | { kind: 'reading'; deviceId: string; name: string; value: unknown }
  | { kind: 'state'; deviceId: string; name: string; state: ActuatorState }
  | { kind: 'availability'; deviceId: string; status: 'online' | 'offline' };

type Route = (payload: unknown) => DeviceSignal[];

/** zigbee2mqtt brightness runs 0–254; edgehub's is %. */
const Z2M_BRIGHTNESS_MAX = 254;

/** Maps foreign-convention topics of the defined devices to signals; one exact-topic lookup per message. */
export class ConventionMapper {
  private readonly routes = new Map<string, Route[]>();

  constructor(devices: readonly DeviceDefinition[]) {
    for (const d of devices) {
      if (d.adapter !== 'mqtt') continue;
      if (d.convention === 'tasmota') this.addTasmota(d);
      else if (d.convention === 'zigbee2mqtt') this.addZigbee2mqtt(d);
    }
  }

  /** Every topic this mapper reads. */
  topics(): string[] {
    return [...this.routes.keys()];
  }

  /** The signals in a message (payload already decoded), or null for a topic no device speaks. */
  map(topic: string, payload: unknown): DeviceSignal[] | null {
    const routes = this.routes.get(topic);
    if (!routes) return null;
    return routes.flatMap((route) => route(payload));
  }

  private add(topic: string, route: Route): void {
    const list = this.routes.get(topic) ?? [];
    list.push(route);
    this.routes.set(topic, list);
  }

  private addTasmota(d: DeviceDefinition): void {
    const t = tasmotaTopic(d);
    const deviceId = d.id;
    this.add(`tele/${t}/LWT`, (p) => {
      const status = availabilityWord(p);
      return status ? [{ kind: 'availability', deviceId, status }] : [];
    });
    this.add(`tele/${t}/SENSOR`, (p) =>
      d.sensors.flatMap((s) => {
        const value = at(p, s.key ?? s.metric);
        return value === undefined ? [] : [{ kind: 'reading' as const, deviceId, name: s.metric, value }];
      }),
    );
    // STATE (periodic) and RESULT (after a command) carry POWER<n> and Dimmer in one JSON object.
    const fromJson: Route = (p) =>
      d.actuators.flatMap((a) => {
        const on = onWord(at(p, tasmotaKey(a)));
        if (on === null) return [];
        const dimmer = at(p, 'Dimmer');
        const state: ActuatorState =
          isDimmable(a) && typeof dimmer === 'number' ? { on, brightness: dimmer } : { on };
        return [{ kind: 'state' as const, deviceId, name: a.name, state }];
      });
    this.add(`tele/${t}/STATE`, fromJson);
    this.add(`stat/${t}/RESULT`, fromJson);
    for (const a of d.actuators) {
      this.add(`stat/${t}/${tasmotaKey(a)}`, (p) => {
        const on = onWord(p);
        return on === null ? [] : [{ kind: 'state', deviceId, name: a.name, state: { on } }];
      });
    }
  }

  private addZigbee2mqtt(d: DeviceDefinition): void {
    const base = z2mTopic(d);
    const deviceId = d.id;
    this.add(`${base}/availability`, (p) => {
      // zigbee2mqtt 1.x sends `online`; 2.x sends {"state": "online"}.
      const status = availabilityWord(isRecord(p) ? p.state : p);
      return status ? [{ kind: 'availability', deviceId, status }] : [];
    });
    this.add(base, (p) => {
      if (!isRecord(p)) return [];
      const out: DeviceSignal[] = [];
      for (const s of d.sensors) {
        const value = at(p, s.key ?? s.metric);
        if (value !== undefined) out.push({ kind: 'reading', deviceId, name: s.metric, value });
      }
      for (const a of d.actuators) {
        const key = z2mKey(a);
        const on = onWord(p[key]);
        if (on === null) continue;
        const raw = p[key === 'state' ? 'brightness' : key.replace(/^state/, 'brightness')];
        const state: ActuatorState =
          isDimmable(a) && typeof raw === 'number'
            ? { on, brightness: Math.round((raw / Z2M_BRIGHTNESS_MAX) * 100) }
            : { on };
        out.push({ kind: 'state', deviceId, name: a.name, state });
      }
      return out;
    });
  }
}

/**
 * The messages that carry `set` to a device in its convention. The set is already checked; names
 * that are not actuators of the device were refused before.
 */
export function encodeCommand(
  device: DeviceDefinition,
  set: DeviceCommandSet,
  origin: string,
): OutgoingMessage[] {
  const entries = Object.entries(set).flatMap(([name, command]) => {
    const actuator = device.actuators.find((a) => a.name === name);
    return actuator ? [{ actuator, command }] : [];
  });
  switch (device.convention) {
    case 'edgehub':
      return entries.map(({ actuator, command }) => ({
        topic: TOPICS.command(device.id, actuator.name),
        payload: JSON.stringify({ ...command, origin }),
        qos: 1,
      }));
    case 'tasmota':
      return entries.map(({ actuator, command }) => tasmotaCommand(device, actuator, command));
    case 'zigbee2mqtt': {
      // One `set` message for the whole device, as zigbee2mqtt applies it atomically.
      const body: Record<string, unknown> = {};
      for (const { actuator, command } of entries) {
        const key = z2mKey(actuator);
        body[key] = command.on ? 'ON' : 'OFF';
        if (command.brightness !== undefined && isDimmable(actuator)) {
          const bKey = key === 'state' ? 'brightness' : key.replace(/^state/, 'brightness');
          body[bKey] = Math.round((command.brightness / 100) * Z2M_BRIGHTNESS_MAX);
        }
      }
      return entries.length === 0
        ? []
        : [{ topic: `${z2mTopic(device)}/set`, payload: JSON.stringify(body), qos: 1 }];
    }
  }
}

function tasmotaCommand(
  device: DeviceDefinition,
  a: ActuatorDefinition,
  c: ActuatorCommand,
): OutgoingMessage {
  const t = tasmotaTopic(device);
  // Tasmota's Dimmer command also switches the light on; OFF must still go to POWER.
  if (c.on && c.brightness !== undefined && isDimmable(a)) {
    return { topic: `cmnd/${t}/Dimmer`, payload: String(c.brightness), qos: 1 };
  }
  return { topic: `cmnd/${t}/${tasmotaKey(a)}`, payload: c.on ? 'ON' : 'OFF', qos: 1 };
}

/** Topics of a device in its convention, for Home Assistant discovery and documentation. */
export function tasmotaTopic(d: DeviceDefinition): string {
  return d.topic ?? d.id;
}

export function z2mTopic(d: DeviceDefinition): string {
  return `${d.base}/${d.topic ?? d.id}`;
}

export function tasmotaKey(a: ActuatorDefinition): string {
  return a.key ?? 'POWER';
}

export function z2mKey(a: ActuatorDefinition): string {
  return a.key ?? 'state';
}

export function isDimmable(a: ActuatorDefinition): boolean {
  return a.kind === 'dimmer' || a.kind === 'light';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The value at a dotted path (`AM2301.Temperature`) of a JSON object. */
function at(payload: unknown, path: string): unknown {
  let node: unknown = payload;
  for (const part of path.split('.')) {
    if (!isRecord(node) || !Object.hasOwn(node, part)) return undefined;
    node = node[part];
  }
  return node;
}

function onWord(value: unknown): boolean | null {
  if (typeof value === 'boolean') return value;
  if (typeof value !== 'string') return null;
  const word = value.toUpperCase();
  if (word === 'ON') return true;
  if (word === 'OFF') return false;
  return null;
}

function availabilityWord(value: unknown): 'online' | 'offline' | null {
  if (typeof value !== 'string') return null;
  const word = value.trim().toLowerCase();
  return word === 'online' || word === 'offline' ? word : null;
}
