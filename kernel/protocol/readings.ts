import type { DeviceStatus } from '../ports.js';

/** A device reported a value for one metric (or actuator state): `device.reading` on the bus. */
export interface DeviceReading {
  readonly deviceId: string;
  readonly metric: string;
  readonly value: unknown;
  /** The metric's value before this reading, undefined for the first. */
  readonly previous: unknown;
  /** Epoch ms on the hub clock. */
  readonly at: number;
}

/** A device's availability changed: `device.status` on the bus. */
export interface DeviceStatusChange {
  readonly deviceId: string;
  readonly status: DeviceStatus;
  readonly previous: DeviceStatus;
  /** Epoch ms on the hub clock. */
  readonly at: number;
}
