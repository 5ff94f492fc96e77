import type { CommandResult } from '../../kernel/index.js';
import type { AdapterDeps, DeviceAdapter, DeviceCommandSet } from '../adapter.js';
import type { DeviceDefinition } from '../definition.js';
import { SerialLineDevice, type SerialLineStats } from './serial-line-device.js';
import { parseAdapterSettings, serialSettingsSchema } from './serial-settings.js';
import { openSerialPort, type PortFactory } from './transport.js';

export interface SerialAdapterOptions {
  testing?: {
    /** Opens ports instead of serialport, e.g. the tests' in-memory ports (test/support/memory-port.ts). */
    portFactory?: PortFactory;
    /** Every chunk read from a device's port, before framing. */
    onData?: (deviceId: string, chunk: Buffer) => void;
  };
}

/**
 * The `serial` adapter: every definition with `adapter: serial` is a device speaking JSON lines on
 * the serial port its `serial:` block names. A port that cannot be opened or goes away is retried
 * with backoff while the hub keeps running.
 */
export class SerialAdapter implements DeviceAdapter {
  readonly kind = 'serial' as const;
  private readonly devices = new Map<string, SerialLineDevice>();

  constructor(deps: AdapterDeps, options: SerialAdapterOptions = {}) {
    const factory = options.testing?.portFactory ?? openSerialPort;
    const onData = options.testing?.onData;
    for (const definition of deps.devices) {
      const settings = parseAdapterSettings(serialSettingsSchema, definition.id, 'serial', definition.serial);
      this.devices.set(
        definition.id,
        new SerialLineDevice({
          clock: deps.clock,
          logger: deps.logger.child(definition.id),
          sink: deps.sink,
          factory,
          definition,
          settings,
          ...(onData ? { onData: (chunk: Buffer) => onData(definition.id, chunk) } : {}),
        }),
      );
    }
  }

  async start(): Promise<void> {
    await Promise.all([...this.devices.values()].map((d) => d.start()));
  }

  async stop(): Promise<void> {
    await Promise.all([...this.devices.values()].map((d) => d.stop()));
  }

  command(device: DeviceDefinition, set: DeviceCommandSet): Promise<CommandResult> {
    const target = this.devices.get(device.id);
    if (!target) return Promise.resolve({ accepted: false, reason: `${device.id} is not a serial device` });
    return target.command(set);
  }

  /** Counters of one device, undefined for an unknown id. */
  stats(deviceId: string): Readonly<SerialLineStats> | undefined {
    return this.devices.get(deviceId)?.stats;
  }

  /** True while the device's port is open. */
  isOpen(deviceId: string): boolean {
    return this.devices.get(deviceId)?.isOpen ?? false;
  }
}
