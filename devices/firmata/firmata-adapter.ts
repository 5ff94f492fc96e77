import type { AdapterDeps } from '../adapter.js';
import { BoardAdapter } from '../board-adapter.js';
import { parseAdapterSettings } from '../serial/serial-settings.js';
import type { PortFactory } from '../serial/transport.js';
import { FirmataBoardDevice } from './firmata-board-device.js';
import { firmataSettingsSchema } from './firmata-settings.js';

export interface FirmataAdapterOptions {
  testing?: {
    /** Opens ports instead of serialport, e.g. the tests' in-memory ports (test/support/memory-port.ts). */
    portFactory?: PortFactory;
  };
}

/**
 * The `firmata` adapter: every definition with `adapter: firmata` is a board running StandardFirmata
 * on the port its `firmata:` block names, its pins declared there as sensors and actuators.
 */
export class FirmataAdapter extends BoardAdapter<FirmataBoardDevice> {
  readonly kind = 'firmata' as const;

  constructor(deps: AdapterDeps, options: FirmataAdapterOptions = {}) {
    super(deps, {
      noun: 'a Firmata board',
      portFactory: options.testing?.portFactory,
      create: (device) =>
        new FirmataBoardDevice({
          ...device,
          settings: parseAdapterSettings(
            firmataSettingsSchema,
            device.definition.id,
            'firmata',
            device.definition.firmata,
          ),
        }),
    });
  }

  /** True once the board answered the handshake and its pins are wired. */
  isReady(deviceId: string): boolean {
    return this.device(deviceId)?.isReady ?? false;
  }
}
