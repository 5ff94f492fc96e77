import {
  decodeMessage,
  parseDeviceTopic,
  readingValue,
  type DeviceReading,
  type DeviceStatusChange,
  type DeviceTopic,
  type DeviceAvailability,
  type DeviceDirectory,
  type DeviceView,
  type MqttMessage,
} from '../../kernel/index.js';

interface Device {
  id: string;
  status: DeviceAvailability;
  lastSeen: number | null;
  state: Record<string, unknown>;
  updatedAt: Record<string, number>;
}

export interface MemoryDevicesListeners {
  onReading?(reading: DeviceReading): void;
  onStatus?(change: DeviceStatusChange): void;
}

/**
 * The device registry's view of devices, kept in memory for scenarios and back-tests: it learns
 * from the same topic convention (readings, actuator states, availability) as the hub's registry.
 */
export class MemoryDevices implements DeviceDirectory {
  private readonly devices = new Map<string, Device>();
  /** What each topic means by the convention; a fleet repeats the same few hundred topics. */
  private readonly topics = new Map<string, DeviceTopic | null>();

  constructor(private readonly listeners: MemoryDevicesListeners = {}) {}

  /** A device with its initial state, as a scenario declares it. */
  declare(
    id: string,
    status: DeviceAvailability,
    state: Readonly<Record<string, unknown>>,
    at: number,
  ): void {
    const device = this.ensure(id);
    device.status = status;
    for (const [name, value] of Object.entries(state)) {
      device.state[name] = value;
      device.updatedAt[name] = at;
    }
  }

  get(id: string): DeviceView | undefined {
    return this.devices.get(id);
  }

  list(): readonly DeviceView[] {
    return [...this.devices.values()];
  }

  /** Learns from one message, as the registry does. */
  observe(message: MqttMessage): void {
    const { topic, receivedAt: at } = message;
    let parsed = this.topics.get(topic);
    if (parsed === undefined) {
      parsed = parseDeviceTopic(topic);
      // Bounded: a client inventing topics must not grow this without end.
      if (this.topics.size < 10_000) this.topics.set(topic, parsed);
    }
    if (!parsed || parsed.kind === 'command') return;
    const payload = decodeMessage(message).value;
    const device = this.ensure(parsed.deviceId);
    if (parsed.kind === 'availability') {
      const text = typeof payload === 'string' ? payload.trim().toLowerCase() : '';
      if (text === 'online' || text === 'offline') this.setStatus(device, text, at);
      return;
    }
    device.lastSeen = at;
    if (device.status !== 'online') this.setStatus(device, 'online', at);
    const value = readingValue(payload);
    if (value === undefined) return;
    const metric = parsed.name ?? 'value';
    const previous = device.state[metric];
    device.state[metric] = value;
    device.updatedAt[metric] = at;
    this.listeners.onReading?.({ deviceId: device.id, metric, value, previous, at });
  }

  setStatus(device: Device | string, status: DeviceAvailability, at: number): void {
    const d = typeof device === 'string' ? this.ensure(device) : device;
    const previous = d.status;
    if (previous === status) return;
    d.status = status;
    this.listeners.onStatus?.({ deviceId: d.id, status, previous, at });
  }

  private ensure(id: string): Device {
    let device = this.devices.get(id);
    if (!device) {
      device = { id, status: 'unknown', lastSeen: null, state: {}, updatedAt: {} };
      this.devices.set(id, device);
    }
    return device;
  }
}
