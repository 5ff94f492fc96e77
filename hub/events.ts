import type { DeviceReading, DeviceStatusChange, TypedBus } from '../kernel/index.js';

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
