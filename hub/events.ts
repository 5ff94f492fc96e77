import type { DeviceReading, DeviceStatusChange, TypedBus } from '../kernel/index.js';

/** Every event that crosses contexts inside the hub, by name. */
export interface HubEvents {
  'hub.started': { at: number };
  'hub.stopping': { at: number };
  'device.status': DeviceStatusChange;
  'device.reading': DeviceReading;
  /** The devices directory was read again and its definitions are in force. */
  'devices.loaded': { count: number; added: string[]; removed: string[]; changed: string[]; at: number };
  /** A devices file is invalid; the definitions in force stay. */
  'devices.rejected': { errors: string[]; at: number };
  'rules.loaded': { count: number; at: number };
  'rules.rejected': { errors: string[]; at: number };
  /** A rule ran: fired, blocked (with why) or failed; `time` epoch ms of its start. */
  'rule.run': { ruleId: string; outcome: 'fired' | 'blocked' | 'error'; time: number; reason?: string };
  /** A connector lost its remote (or never reached it). */
  'connector.down': { id: string; error: string | null; at: number };
  /** A connector reached its remote again after connector.down. */
  'connector.up': { id: string; at: number };
  /** A connector dropped its oldest messages at a backlog bound. */
  'connector.backlog': { id: string; dropped: number; backlog: number; at: number };
}

export type HubBus = TypedBus<HubEvents>;
