/**
 * edgehub's own MQTT topic convention for devices:
 *
 * - `sensors/<device>/<metric>`: a reading, JSON `{"value": 21.5, ...}` or a bare number;
 * - `actuators/<device>/<actuator>`: a command to an actuator, JSON such as `{"on": true}`;
 * - `actuators/<device>/<actuator>/state`: the state the actuator reports after a command;
 * - `devices/<device>/availability`: retained `online` / `offline`, the latter set by the last will.
 */
export const TOPICS = {
  reading: (device: string, metric: string) => `sensors/${device}/${metric}`,
  command: (device: string, actuator: string) => `actuators/${device}/${actuator}`,
  state: (device: string, actuator: string) => `actuators/${device}/${actuator}/state`,
  availability: (device: string) => `devices/${device}/availability`,
} as const;

export type TopicKind = 'reading' | 'command' | 'state' | 'availability';

/** What a topic says about a device, by edgehub's convention. */
export interface DeviceTopic {
  kind: TopicKind;
  deviceId: string;
  /** The metric (`temperature`) or actuator (`fan`) name; absent for availability. */
  name?: string;
}

/** Reads edgehub's topic convention; null for topics that name no device. */
export function parseDeviceTopic(topic: string): DeviceTopic | null {
  const levels = topic.split('/');
  const [root, deviceId, name, extra] = levels;
  if (!deviceId) return null;
  switch (root) {
    case 'sensors':
      return levels.length === 3 && name ? { kind: 'reading', deviceId, name } : null;
    case 'actuators':
      if (levels.length === 3 && name) return { kind: 'command', deviceId, name };
      if (levels.length === 4 && name && extra === 'state') return { kind: 'state', deviceId, name };
      return null;
    case 'devices':
      return levels.length === 3 && name === 'availability' ? { kind: 'availability', deviceId } : null;
    default:
      return null;
  }
}

/** The numeric or boolean value of a reading payload: `{"value": x}`, a bare number, `{"on": b}`. */
export function readingValue(payload: unknown): unknown {
  if (payload !== null && typeof payload === 'object' && !Array.isArray(payload)) {
    const record = payload as Record<string, unknown>;
    if ('value' in record) return record.value;
    if ('on' in record) return record.on;
    return undefined;
  }
  return payload;
}

/**
 * A reading's value ({@link readingValue}) as a number for charts and aggregates: a finite number as
 * it is, a boolean as 1 or 0 (a fan's on/off over a day is a chart too), anything else null. The SQL
 * that fills older rows (`events.value`, schema version 4) follows the same rules.
 */
export function numberOfReading(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'boolean') return value ? 1 : 0;
  return null;
}

/**
 * What the hub itself publishes:
 *
 * - `edgehub/status` (retained): `online` while the hub runs, `offline` once it stopped;
 * - `edgehub/stats` (retained): the hub's figures as JSON, every minute;
 * - `edgehub/devices/<device>/availability` (retained): what the hub knows of a defined device
 *   (`online`, `offline`, `stale`, `unknown`), whether or not the device publishes availability itself;
 * - `edgehub/devices/<device>/refusal`: each command to the device that was refused, as JSON
 *   `{refusal, reason, origin, at}`, so whoever sent it hears why.
 */
export const HUB_TOPICS = {
  status: 'edgehub/status',
  stats: 'edgehub/stats',
  availability: (device: string) => `edgehub/devices/${device}/availability`,
  refusal: (device: string) => `edgehub/devices/${device}/refusal`,
} as const;
