import type { CommandResult } from '../../kernel/index.js';
import type { AdapterDeps, DeviceAdapter, DeviceCommandSet } from '../adapter.js';
import type { DeviceDefinition } from '../definition.js';
import { parseAdapterSettings } from '../serial/serial-settings.js';
import { openSerialPort, type PortFactory } from '../serial/transport.js';
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
export class FirmataAdapter implements DeviceAdapter {
  readonly kind = 'firmata' as const;
  private readonly boards = new Map<string, FirmataBoardDevice>();

  constructor(deps: AdapterDeps, options: FirmataAdapterOptions = {}) {
    const factory = options.testing?.portFactory ?? openSerialPort;
    for (const definition of deps.devices) {
      const settings = parseAdapterSettings(
        firmataSettingsSchema,
        definition.id,
        'firmata',
        definition.firmata,
      );
      this.boards.set(
        definition.id,
        new FirmataBoardDevice({
          clock: deps.clock,
          logger: deps.logger.child(definition.id),
          sink: deps.sink,
          factory,
          definition,
          settings,
        }),
      );
    }
  }

  async start(): Promise<void> {
    await Promise.all([...this.boards.values()].map((b) => b.start()));
  }

  async stop(): Promise<void> {
    await Promise.all([...this.boards.values()].map((b) => b.stop()));
  }

  command(device: DeviceDefinition, set: DeviceCommandSet): Promise<CommandResult> {
    const board = this.boards.get(device.id);
    if (!board) return Promise.resolve({ accepted: false, reason: `${device.id} is not a Firmata board` });
    return board.command(set);
  }

  /** True once the board answered the handshake and its pins are wired. */
  isReady(deviceId: string): boolean {
    return this.boards.get(deviceId)?.isReady ?? false;
  }
}
