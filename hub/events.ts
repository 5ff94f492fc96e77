import type { TypedBus } from '../kernel/index.js';
import type { DeviceReading, DeviceStatusChange } from './registry/registry.js';

/** Every event that crosses contexts inside the hub, by name. */
export interface HubEvents {
  'hub.started': { at: number };
  'hub.stopping': { at: number };
  'device.status': DeviceStatusChange;
  'device.reading': DeviceReading;
  'rules.loaded': { count: number; at: number };
  'rules.rejected': { errors: string[]; at: number };
}

export type HubBus = TypedBus<HubEvents>;
