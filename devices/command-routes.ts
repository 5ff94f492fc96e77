import { decodePayload, TOPICS } from '../kernel/index.js';
import type { ActuatorDefinition, DeviceDefinition } from './definition.js';
import { isDimmable, tasmotaKey, tasmotaTopic, z2mKey, z2mTopic } from './mqtt-conventions.js';

/** Zigbee2MQTT brightness runs 0–254; a command's brightness is %. */
const Z2M_BRIGHTNESS_MAX = 254;

/** A message on a defined actuator's command topic, read as the command it asks for. */
export interface CommandRequest {
  device: DeviceDefinition;
  /** Per actuator name, the value as written (parsed later against the actuator). */
  set: Record<string, unknown>;
  /** Why the message is no command at all (a `set` body that is not a JSON object). */
  problem?: string;
  /**
   * True when the topic is the one the device itself listens to, so the message, once the safety
   * envelope let it pass, is the command; false when the device listens elsewhere (a serial or
   * Firmata board, a Tasmota plug addressed on `actuators/…`), so its adapter must send it.
   */
  native: boolean;
}

type Route = (payload: Buffer) => Pick<CommandRequest, 'set' | 'problem'> | undefined;

interface Entry {
  device: DeviceDefinition;
  native: boolean;
  read: Route;
}

/**
 * Every topic a defined actuator takes commands on, in edgehub's convention
 * (`actuators/<device>/<actuator>`, for any adapter) and in the device's own (Tasmota's
 * `cmnd/<topic>/POWER`, `…/Dimmer`; zigbee2mqtt's `<base>/<name>/set` and `…/set/<key>`), so a
 * plain publish there can be held to the safety envelope like a rule's command. One exact-topic
 * lookup per message; Tasmota's command names are matched in any case, as Tasmota does.
 */
export class CommandRoutes {
  private readonly routes = new Map<string, Entry>();

  constructor(devices: readonly DeviceDefinition[]) {
    for (const d of devices) this.add(d);
  }

  /** The command `topic` carries, or undefined when it is no defined actuator's command topic. */
  match(topic: string, payload: Buffer | string): CommandRequest | undefined {
    const entry = this.routes.get(topic) ?? this.routes.get(tasmotaFolded(topic));
    if (!entry) return undefined;
    const read = entry.read(typeof payload === 'string' ? Buffer.from(payload) : payload);
    return read && { ...read, device: entry.device, native: entry.native };
  }

  private add(d: DeviceDefinition): void {
    const mqtt = d.adapter === 'mqtt';
    for (const a of d.actuators) {
      const native = mqtt && d.convention === 'edgehub';
      this.routes.set(TOPICS.command(d.id, a.name), { device: d, native, read: single(a) });
    }
    if (!mqtt) return;
    if (d.convention === 'tasmota') {
      const t = tasmotaTopic(d);
      for (const a of d.actuators) {
        this.routes.set(`cmnd/${t}/${tasmotaKey(a).toLowerCase()}`, {
          device: d,
          native: true,
          read: single(a),
        });
      }
      const dimmer = d.actuators.find(isDimmable);
      if (dimmer) {
        this.routes.set(`cmnd/${t}/dimmer`, {
          device: d,
          native: true,
          read: (payload) => ({ set: { [dimmer.name]: Number(payload.toString('utf8')) } }),
        });
      }
    }
    if (d.convention === 'zigbee2mqtt') {
      const base = `${z2mTopic(d)}/set`;
      this.routes.set(base, { device: d, native: true, read: z2mBody(d.actuators) });
      for (const a of d.actuators) {
        const key = z2mKey(a);
        this.routes.set(`${base}/${key}`, { device: d, native: true, read: single(a) });
        if (isDimmable(a)) {
          this.routes.set(`${base}/${brightnessKey(key)}`, {
            device: d,
            native: true,
            read: (payload) => ({ set: { [a.name]: z2mBrightness(Number(payload.toString('utf8'))) } }),
          });
        }
      }
    }
  }
}

function single(a: ActuatorDefinition): Route {
  return (payload) => ({ set: { [a.name]: decodePayload(payload) } });
}

/** zigbee2mqtt's JSON `set` body: the keys of our actuators in it, brightness from 0–254 to %. */
function z2mBody(actuators: readonly ActuatorDefinition[]): Route {
  return (payload) => {
    const body = decodePayload(payload);
    if (body === null || typeof body !== 'object' || Array.isArray(body))
      return { set: {}, problem: 'a zigbee2mqtt set message must be a JSON object' };
    const record = body as Record<string, unknown>;
    const set: Record<string, unknown> = {};
    for (const a of actuators) {
      const key = z2mKey(a);
      const state = record[key];
      const rawBrightness = isDimmable(a) ? record[brightnessKey(key)] : undefined;
      if (state === undefined && rawBrightness === undefined) continue;
      const value: Record<string, unknown> = {};
      if (state !== undefined) value.state = state;
      if (rawBrightness !== undefined) value.brightness = z2mBrightness(Number(rawBrightness));
      set[a.name] = value;
    }
    // A body without any of our keys (a colour, a transition alone) switches nothing: not guarded.
    return Object.keys(set).length === 0 ? undefined : { set };
  };
}

function brightnessKey(stateKey: string): string {
  return stateKey === 'state' ? 'brightness' : stateKey.replace(/^state/, 'brightness');
}

function z2mBrightness(raw: number): number {
  return Number.isFinite(raw) ? (raw / Z2M_BRIGHTNESS_MAX) * 100 : raw;
}

/** `cmnd/<t>/POWER` as the routes keep it: the command name lower-cased. */
function tasmotaFolded(topic: string): string {
  if (!topic.startsWith('cmnd/')) return topic;
  const slash = topic.lastIndexOf('/');
  return topic.slice(0, slash + 1) + topic.slice(slash + 1).toLowerCase();
}
