import type { AdapterDeps } from '../adapter.js';
import { BoardAdapter } from '../board-adapter.js';
import { SerialLineDevice, type SerialLineStats } from './serial-line-device.js';
import { parseAdapterSettings, serialSettingsSchema } from './serial-settings.js';
import type { PortFactory } from './transport.js';

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
export class SerialAdapter extends BoardAdapter<SerialLineDevice> {
  readonly kind = 'serial' as const;

  constructor(deps: AdapterDeps, options: SerialAdapterOptions = {}) {
    const onData = options.testing?.onData;
    super(deps, {
      noun: 'a serial device',
      portFactory: options.testing?.portFactory,
      create: (device) => {
        const { definition } = device;
        return new SerialLineDevice({
          ...device,
          settings: parseAdapterSettings(serialSettingsSchema, definition.id, 'serial', definition.serial),
          ...(onData ? { onData: (chunk: Buffer) => onData(definition.id, chunk) } : {}),
        });
      },
    });
  }

  /** Counters of one device, undefined for an unknown id. */
  stats(deviceId: string): Readonly<SerialLineStats> | undefined {
    return this.device(deviceId)?.stats;
  }

  /** True while the device's port is open. */
  isOpen(deviceId: string): boolean {
    return this.device(deviceId)?.isOpen ?? false;
  }
}
