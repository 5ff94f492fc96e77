import { ConventionMapper, type DeviceDefinition, type DeviceSignal } from '../../devices/index.js';
import {
  decodeMessage,
  DeviceBook,
  parseDuration,
  type Clock,
  type DeviceAvailability,
  type DeviceDirectory,
  type Logger,
  type MessageSource,
  type MqttMessage,
  type TimerHandle,
} from '../../kernel/index.js';
import type { HubBus } from '../events.js';
import { loadDeviceDefinitions } from './device-files.js';

export type DeviceStatus = DeviceAvailability;

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
 * Devices declared in the config and devices seen on topics, kept in a {@link DeviceBook}: what the
 * registry adds is the config's definitions, devices speaking foreign conventions (Tasmota,
 * zigbee2mqtt), each device's `stale_after`, and the bus and log lines for what changed.
 */
export class DeviceRegistry implements DeviceDirectory {
  private readonly book = new DeviceBook<DeviceRecord>({
    newEntry: (id) => newRecord(id),
    onNew: (device) => this.deps.logger.info('new device seen', { device: device.id }),
    onSeen: (device) => this.armStaleTimer(device),
    onReading: (reading) => this.deps.bus.emit('device.reading', reading),
    onStatus: (change) => {
      this.deps.logger.info(`device ${change.deviceId} is ${change.status}`, { was: change.previous });
      this.deps.bus.emit('device.status', change);
    },
    onInvalidAvailability: (topic) =>
      this.deps.logger.warn('availability payload is neither online nor offline', { topic }),
  });
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
      const record = this.book.declare(d.id);
      record.name = d.name;
      record.declared = true;
      record.staleAfterMs = d.stale_after === undefined ? undefined : parseDuration(d.stale_after);
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
    return this.book.get(id);
  }

  list(): Readonly<DeviceRecord>[] {
    return this.book.list();
  }

  handle(message: MqttMessage): void {
    if (this.book.observe(message)) return;
    const signals = this.mapper.map(message.topic, decodeMessage(message).value);
    if (signals) for (const signal of signals) this.apply(signal, message.receivedAt);
  }

  /** A signal of a device speaking a foreign convention (Tasmota, zigbee2mqtt). */
  private apply(signal: DeviceSignal, now: number): void {
    if (signal.kind === 'availability') {
      this.book.setStatus(signal.deviceId, signal.status, now);
      return;
    }
    this.book.seen(signal.deviceId, now);
    // An actuator's state is kept as its on/off, as edgehub's own `{"on": b}` state reads.
    const value = signal.kind === 'state' ? signal.state.on : signal.value;
    this.book.record(signal.deviceId, signal.name, value, now);
  }

  /**
   * One timer per device, due `stale_after` after the last message. It is not re-armed on every
   * reading (the hot path): when it fires early because newer readings came, it re-arms itself.
   */
  private armStaleTimer(device: Readonly<DeviceRecord>): void {
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
      if (device.status === 'online' || device.status === 'unknown')
        this.book.setStatus(device.id, 'stale', now);
    };
    this.staleTimers.set(device.id, this.deps.clock.setTimer(`stale:${device.id}`, staleAfter, check));
  }
}

function newRecord(id: string): DeviceRecord {
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
