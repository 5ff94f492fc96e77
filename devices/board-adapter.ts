import type { Clock, CommandResult, Logger } from '../kernel/index.js';
import type { AdapterDeps, AdapterKind, AdapterSink, DeviceAdapter, DeviceCommandSet } from './adapter.js';
import type { DeviceDefinition } from './definition.js';
import { openSerialPort, type PortFactory } from './serial/transport.js';

/** What a board adapter hands each of its devices. */
export interface BoardDeviceDeps {
  clock: Clock;
  /** Scoped to the device. */
  logger: Logger;
  sink: AdapterSink;
  factory: PortFactory;
  definition: DeviceDefinition;
}

/** One device on a port of its own, as a board adapter drives it. */
export interface BoardDevice {
  /** Makes the first attempt to open the port; retries go on in the background. */
  start(): Promise<void>;
  /** Closes the port and reports the device offline; idempotent. */
  stop(): Promise<void>;
  /** Resolves once the commands are handed to the device, or refused. */
  command(set: DeviceCommandSet): Promise<CommandResult>;
}

export interface BoardAdapterSpec<D extends BoardDevice> {
  /** Names a device of this adapter in a refusal: `gh-1 is not <noun>`. */
  noun: string;
  /** Opens ports instead of serialport (tests). */
  portFactory?: PortFactory | undefined;
  /** Builds the device of one definition; validates its settings block and throws CONFIG_INVALID. */
  create(deps: BoardDeviceDeps): D;
}

/**
 * An adapter whose every definition is one device on a serial port of its own (the serial and Firmata
 * adapters): the devices are built at construction, started and stopped together, and each command
 * goes to its device.
 */
export abstract class BoardAdapter<D extends BoardDevice> implements DeviceAdapter {
  abstract readonly kind: AdapterKind;
  private readonly devices = new Map<string, D>();
  private readonly noun: string;

  constructor(deps: AdapterDeps, spec: BoardAdapterSpec<D>) {
    const factory = spec.portFactory ?? openSerialPort;
    this.noun = spec.noun;
    for (const definition of deps.devices) {
      const logger = deps.logger.child(definition.id);
      this.devices.set(
        definition.id,
        spec.create({ clock: deps.clock, logger, sink: deps.sink, factory, definition }),
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
    if (!target) return Promise.resolve({ accepted: false, reason: `${device.id} is not ${this.noun}` });
    return target.command(set);
  }

  /** The device of one definition, undefined for an unknown id. */
  protected device(deviceId: string): D | undefined {
    return this.devices.get(deviceId);
  }
}
