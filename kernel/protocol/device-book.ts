import { decodeMessage, type MqttMessage } from '../messages.js';
import type { DeviceDirectory, DeviceStatus } from '../ports.js';
import type { DeviceReading, DeviceStatusChange } from './readings.js';
import { parseDeviceTopic, readingValue, type DeviceTopic } from './topics.js';

/** Distinct topics whose meaning is remembered; past it the cache starts over rather than grow without bound. */
const TOPIC_CACHE_SIZE = 10_000;

/** What the book knows of one device; the book's owner may add fields of its own through `newEntry`. */
export interface DeviceEntry {
  readonly id: string;
  status: DeviceStatus;
  /** Epoch ms of the last message from the device, null before the first. */
  lastSeen: number | null;
  /** Latest value of each metric and actuator state, by name. */
  state: Record<string, unknown>;
  /** Epoch ms at which each metric was last reported, by name. */
  updatedAt: Record<string, number>;
}

/** An entry with nothing known yet: status unknown, never seen, no state. */
export function deviceEntry(id: string): DeviceEntry {
  return { id, status: 'unknown', lastSeen: null, state: {}, updatedAt: {} };
}

export interface DeviceBookDeps<E extends DeviceEntry> {
  /** Makes the entry of a device the book has not known before; {@link deviceEntry} or a richer one. */
  newEntry(id: string): E;
  /** A device heard of for the first time (not a declared one). */
  onNew?(device: Readonly<E>): void;
  /** A message came from the device itself (a reading or an actuator state, not availability). */
  onSeen?(device: Readonly<E>): void;
  /** A metric or actuator state was reported: what the hub's bus carries as `device.reading`. */
  onReading?(reading: DeviceReading): void;
  /** A device's availability changed: what the hub's bus carries as `device.status`. */
  onStatus?(change: DeviceStatusChange): void;
  /** An availability message that says neither `online` nor `offline`; it changes nothing. */
  onInvalidAvailability?(topic: string): void;
}

/** A device as known before it speaks: from the hub's config, or a scenario's initial state. */
export interface DeclaredDevice {
  status?: DeviceStatus;
  state?: Readonly<Record<string, unknown>>;
}

/**
 * What is known of each device, in memory, learnt from edgehub's topic convention: the latest value
 * of every metric and actuator state, and availability (retained availability messages, set by last
 * wills, and being heard from). The hub's device registry keeps one; so do the scenario and
 * back-test tools, so rules see the same devices there as in the hub. Changes are reported to the
 * owner's listeners, which the book calls in the order they happen.
 */
export class DeviceBook<E extends DeviceEntry = DeviceEntry> implements DeviceDirectory {
  private readonly devices = new Map<string, E>();
  /** What `parseDeviceTopic` made of each topic seen: devices publish the same few topics over and over. */
  private readonly topics = new Map<string, Readonly<DeviceTopic> | null>();

  constructor(private readonly deps: DeviceBookDeps<E>) {}

  get(id: string): Readonly<E> | undefined {
    return this.devices.get(id);
  }

  list(): Readonly<E>[] {
    return [...this.devices.values()];
  }

  /**
   * A fresh entry for a device known before it speaks, replacing what was known of it; `at` (epoch
   * ms) is when its initial state counts as reported. Reports nothing to the listeners; the entry is
   * returned for the owner to fill in fields of its own.
   */
  declare(id: string, initial: DeclaredDevice = {}, at = 0): E {
    const device = this.deps.newEntry(id);
    if (initial.status !== undefined) device.status = initial.status;
    for (const [name, value] of Object.entries(initial.state ?? {})) {
      device.state[name] = value;
      device.updatedAt[name] = at;
    }
    this.devices.set(id, device);
    return device;
  }

  /**
   * Learns from one message by edgehub's topic convention. False when the topic names no device
   * that way, so the owner may read it by another convention.
   */
  observe(message: MqttMessage): boolean {
    const parsed = this.parseTopic(message.topic);
    if (!parsed) return false;
    if (parsed.kind === 'command') return true;
    const at = message.receivedAt;
    const device = this.entry(parsed.deviceId);
    if (parsed.kind === 'availability') {
      const text = message.payload.toString('utf8').trim().toLowerCase();
      if (text === 'online' || text === 'offline') this.changeStatus(device, text, at);
      else this.deps.onInvalidAvailability?.(message.topic);
      return true;
    }
    this.markSeen(device, at);
    const value = readingValue(decodeMessage(message).value);
    if (value !== undefined) this.change(device, parsed.name ?? 'value', value, at);
    return true;
  }

  /** The device spoke (at epoch ms `at`): it is online, and last seen now. */
  seen(id: string, at: number): void {
    this.markSeen(this.entry(id), at);
  }

  /** Sets one metric or actuator state and reports it; returns the previous value (undefined for the first). */
  record(id: string, metric: string, value: unknown, at: number): unknown {
    return this.change(this.entry(id), metric, value, at);
  }

  /** Sets a device's availability and reports a change; returns the status it had. */
  setStatus(id: string, status: DeviceStatus, at: number): DeviceStatus {
    return this.changeStatus(this.entry(id), status, at);
  }

  /** Drops what is known of a device (its definition was removed); false when it was not known. */
  forget(id: string): boolean {
    return this.devices.delete(id);
  }

  /** The entry of a device, made (and reported new) when the book has not known it. */
  protected entry(id: string): E {
    let device = this.devices.get(id);
    if (!device) {
      device = this.deps.newEntry(id);
      this.devices.set(id, device);
      this.deps.onNew?.(device);
    }
    return device;
  }

  private parseTopic(topic: string): Readonly<DeviceTopic> | null {
    let parsed = this.topics.get(topic);
    if (parsed === undefined) {
      parsed = parseDeviceTopic(topic);
      if (this.topics.size >= TOPIC_CACHE_SIZE) this.topics.clear();
      this.topics.set(topic, parsed);
    }
    return parsed;
  }

  private markSeen(device: E, at: number): void {
    device.lastSeen = at;
    this.deps.onSeen?.(device);
    if (device.status !== 'online') this.changeStatus(device, 'online', at);
  }

  private change(device: E, metric: string, value: unknown, at: number): unknown {
    const previous = device.state[metric];
    device.state[metric] = value;
    device.updatedAt[metric] = at;
    this.deps.onReading?.({ deviceId: device.id, metric, value, previous, at });
    return previous;
  }

  private changeStatus(device: E, status: DeviceStatus, at: number): DeviceStatus {
    const previous = device.status;
    if (previous !== status) {
      device.status = status;
      this.deps.onStatus?.({ deviceId: device.id, status, previous, at });
    }
    return previous;
  }
}
