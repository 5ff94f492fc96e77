import { DeviceBook, deviceEntry, type DeviceBookDeps, type DeviceEntry } from '../../../kernel/index.js';

export type MemoryDevicesListeners = Pick<DeviceBookDeps<DeviceEntry>, 'onReading' | 'onStatus'>;

/**
 * The hub registry's book of devices, for scenarios and back-tests: it learns from the same topic
 * convention, and reports readings and status changes to the listeners as the registry does on the bus.
 */
export class MemoryDevices extends DeviceBook {
  constructor(listeners: MemoryDevicesListeners = {}) {
    super({ newEntry: deviceEntry, ...listeners });
  }
}
