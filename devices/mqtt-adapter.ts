import { errorMessage, type CommandResult } from '../kernel/index.js';
import type { AdapterDeps, DeviceAdapter, DeviceCommandSet } from './adapter.js';
import type { DeviceDefinition } from './definition.js';
import { encodeCommand } from './mqtt-conventions.js';

/**
 * Devices on the embedded broker. Readings, states and availability need no work here: they are on
 * the broker already, and the registry reads them (foreign conventions through `ConventionMapper`).
 * Commands are published through the broker in the device's convention, so the store records them.
 */
export class MqttAdapter implements DeviceAdapter {
  readonly kind = 'mqtt' as const;

  constructor(private readonly deps: AdapterDeps) {}

  start(): Promise<void> {
    return Promise.resolve();
  }

  stop(): Promise<void> {
    return Promise.resolve();
  }

  async command(device: DeviceDefinition, set: DeviceCommandSet, origin: string): Promise<CommandResult> {
    const messages = encodeCommand(device, set, origin);
    try {
      await Promise.all(messages.map((m) => this.deps.publisher.publish(m)));
      return { accepted: true };
    } catch (err) {
      this.deps.logger.warn('command not published', { device: device.id, error: errorMessage(err) });
      return { accepted: false, reason: `not published: ${errorMessage(err)}` };
    }
  }
}
