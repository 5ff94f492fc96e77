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

/** What a reload of the definitions changed, by device id. */
export interface DefinitionChanges {
  added: string[];
  removed: string[];
  /** Still defined, with a different definition. */
  changed: string[];
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
    this.define(loadDeviceDefinitions(this.deps.devices, this.deps.devicesDir));
    this.started = true;
    this.deps.source.onMessage(this, (m) => this.handle(m));
  }

  /**
   * Reads the devices directory again and puts its definitions, beside the config's (as loaded at
   * start), in force. Throws
   * DEVICE_INVALID (every problem located) and changes nothing when any file is invalid. What is
   * known of a device still defined (its state, availability) is kept; a removed device is forgotten.
   */
  reload(): DefinitionChanges {
    const next = loadDeviceDefinitions(this.deps.devices, this.deps.devicesDir);
    const before = new Map(this.defined.map((d) => [d.id, JSON.stringify(d)]));
    const changes: DefinitionChanges = { added: [], removed: [], changed: [] };
    for (const d of next) {
      const was = before.get(d.id);
      if (was === undefined) changes.added.push(d.id);
      else if (was !== JSON.stringify(d)) changes.changed.push(d.id);
      before.delete(d.id);
    }
    changes.removed.push(...before.keys());
    // A changed `stale_after` counts from the next message on.
    for (const id of [...changes.removed, ...changes.changed]) {
      this.deps.clock.clearTimer(this.staleTimers.get(id));
      this.staleTimers.delete(id);
    }
    for (const id of changes.removed) this.book.forget(id);
    this.define(next);
    return changes;
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

  /** Puts `definitions` in force; a device already known keeps its state. */
  private define(definitions: readonly DeviceDefinition[]): void {
    this.defined = definitions;
    this.mapper = new ConventionMapper(definitions);
    for (const d of definitions) {
      const known = this.book.get(d.id) as DeviceRecord | undefined;
      const record = known ?? this.book.declare(d.id);
      record.name = d.name;
      record.declared = true;
      record.staleAfterMs = d.stale_after === undefined ? undefined : parseDuration(d.stale_after);
    }
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
