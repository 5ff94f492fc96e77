import { ConventionMapper, type DeviceDefinition, type DeviceSignal } from '../../devices/index.js';
import {
  decodeMessage,
  parseDeviceTopic,
  readingValue,
  type DeviceTopic,
  parseDuration,
  type Clock,
  type DeviceDirectory,
  type Logger,
  type MessageSource,
  type MqttMessage,
  type TimerHandle,
} from '../../kernel/index.js';
import type { HubBus } from '../events.js';
import { loadDeviceDefinitions } from './device-files.js';

import type { DeviceAvailability } from '../../kernel/index.js';

export type DeviceStatus = DeviceAvailability;

/** Distinct topics whose reading is remembered; past it the cache starts over rather than grow without bound. */
const TOPIC_CACHE_SIZE = 10_000;

export interface DeviceRecord {
  id: string;
  name: string | undefined;
  /** Declared in the config, rather than only seen on a topic. */
  declared: boolean;
  status: DeviceStatus;
  /** Epoch ms of the last message from the device, null before the first. */
  lastSeen: number | null;
  /** Latest value of each metric and actuator state, by name. */
  state: Record<string, unknown>;
  /** Epoch ms at which each metric last changed value or was last reported, by name. */
  updatedAt: Record<string, number>;
  staleAfterMs: number | undefined;
}

export interface DeviceRegistryDeps {
  clock: Clock;
  logger: Logger;
  bus: HubBus;
  source: MessageSource;
  /** Definitions from the config file. */
  devices: readonly DeviceDefinition[];
  /** More definitions, one `devices:` list per `*.yaml` file; read by `start()`. */
  devicesDir?: string;
}

/**
 * Devices declared in the config and devices seen on topics: availability from retained
 * availability messages (set by last wills) and from each device's `stale_after`, and the latest
 * value of every metric.
 */
export class DeviceRegistry implements DeviceDirectory {
  private readonly devices = new Map<string, DeviceRecord>();
  /** What `parseDeviceTopic` made of each topic seen; null for topics that name no device. */
  private readonly topics = new Map<string, Readonly<DeviceTopic> | null>();
  private readonly staleTimers = new Map<string, TimerHandle>();
  private started = false;
  private defined: readonly DeviceDefinition[] = [];
  private mapper = new ConventionMapper([]);

  constructor(private readonly deps: DeviceRegistryDeps) {}

  start(): void {
    if (this.started) return;
    // Throws DEVICE_INVALID, every problem located, before anything is registered.
    this.defined = loadDeviceDefinitions(this.deps.devices, this.deps.devicesDir);
    this.mapper = new ConventionMapper(this.defined);
    this.started = true;
    for (const d of this.defined) {
      this.devices.set(d.id, {
        ...emptyRecord(d.id),
        name: d.name,
        declared: true,
        staleAfterMs: d.stale_after === undefined ? undefined : parseDuration(d.stale_after),
      });
    }
    this.deps.source.onMessage(this, (m) => this.handle(m));
  }

  stop(): void {
    if (!this.started) return;
    this.started = false;
    this.deps.source.offOwner(this);
    for (const t of this.staleTimers.values()) this.deps.clock.clearTimer(t);
    this.staleTimers.clear();
  }

  /** Every device definition in force (config and devices directory); empty before `start()`. */
  get definitions(): readonly DeviceDefinition[] {
    return this.defined;
  }

  get(id: string): Readonly<DeviceRecord> | undefined {
    return this.devices.get(id);
  }

  list(): Readonly<DeviceRecord>[] {
    return [...this.devices.values()];
  }

  handle(message: MqttMessage): void {
    const parsed = this.parseTopic(message.topic);
    if (!parsed) {
      const signals = this.mapper.map(message.topic, decodeMessage(message).value);
      if (signals) for (const signal of signals) this.apply(signal, message.receivedAt);
      return;
    }
    const now = message.receivedAt;
    const device = this.ensure(parsed.deviceId);
    if (parsed.kind === 'availability') {
      const text = message.payload.toString('utf8').trim().toLowerCase();
      if (text === 'online' || text === 'offline') this.setStatus(device, text, now);
      else
        this.deps.logger.warn('availability payload is neither online nor offline', { topic: message.topic });
      return;
    }
    if (parsed.kind === 'command') return;
    device.lastSeen = now;
    this.armStaleTimer(device);
    if (device.status !== 'online') this.setStatus(device, 'online', now);
    const name = parsed.name ?? 'value';
    const value = readingValue(decodeMessage(message).value);
    if (value === undefined) return;
    this.record(device, name, value, now);
  }

  /** Devices publish the same few topics over and over; each is split and read once. */
  private parseTopic(topic: string): Readonly<DeviceTopic> | null {
    let parsed = this.topics.get(topic);
    if (parsed === undefined) {
      parsed = parseDeviceTopic(topic);
      if (this.topics.size >= TOPIC_CACHE_SIZE) this.topics.clear();
      this.topics.set(topic, parsed);
    }
    return parsed;
  }

  /** A signal of a device speaking a foreign convention (Tasmota, zigbee2mqtt). */
  private apply(signal: DeviceSignal, now: number): void {
    const device = this.ensure(signal.deviceId);
    if (signal.kind === 'availability') {
      this.setStatus(device, signal.status, now);
      return;
    }
    device.lastSeen = now;
    this.armStaleTimer(device);
    if (device.status !== 'online') this.setStatus(device, 'online', now);
    // An actuator's state is kept as its on/off, as edgehub's own `{"on": b}` state reads.
    const value = signal.kind === 'state' ? signal.state.on : signal.value;
    this.record(device, signal.name, value, now);
  }

  private record(device: DeviceRecord, name: string, value: unknown, now: number): void {
    const previous = device.state[name];
    device.state[name] = value;
    device.updatedAt[name] = now;
    this.deps.bus.emit('device.reading', { deviceId: device.id, metric: name, value, previous, at: now });
  }

  private ensure(id: string): DeviceRecord {
    let device = this.devices.get(id);
    if (!device) {
      device = emptyRecord(id);
      this.devices.set(id, device);
      this.deps.logger.info('new device seen', { device: id });
    }
    return device;
  }

  private setStatus(device: DeviceRecord, status: DeviceStatus, at: number): void {
    const previous = device.status;
    if (previous === status) return;
    device.status = status;
    this.deps.logger.info(`device ${device.id} is ${status}`, { was: previous });
    this.deps.bus.emit('device.status', { deviceId: device.id, status, previous, at });
  }

  /**
   * One timer per device, due `stale_after` after the last message. It is not re-armed on every
   * reading (the hot path): when it fires early because newer readings came, it re-arms itself.
   */
  private armStaleTimer(device: DeviceRecord): void {
    const staleAfter = device.staleAfterMs;
    if (staleAfter === undefined || this.staleTimers.has(device.id)) return;
    const check = (): void => {
      this.staleTimers.delete(device.id);
      if (device.lastSeen === null) return;
      const due = device.lastSeen + staleAfter;
      const now = this.deps.clock.now();
      if (now < due) {
        this.staleTimers.set(device.id, this.deps.clock.setTimer(`stale:${device.id}`, due - now, check));
        return;
      }
      if (device.status === 'online' || device.status === 'unknown') this.setStatus(device, 'stale', now);
    };
    this.staleTimers.set(device.id, this.deps.clock.setTimer(`stale:${device.id}`, staleAfter, check));
  }
}

function emptyRecord(id: string): DeviceRecord {
  return {
    id,
    name: undefined,
    declared: false,
    status: 'unknown',
    lastSeen: null,
    state: {},
    updatedAt: {},
    staleAfterMs: undefined,
  };
}
