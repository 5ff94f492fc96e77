/**
 * The ports between contexts that are not messages: how rules see devices and drive actuators.
 * The hub plugs the device registry and the device adapters into them.
 */

export type DeviceStatus = 'unknown' | 'online' | 'offline' | 'stale';

/** What a rule may read of a device. */
export interface DeviceView {
  readonly id: string;
  readonly status: DeviceStatus;
  /** Epoch ms of the last message from the device, null before the first. */
  readonly lastSeen: number | null;
  /** Latest value of each metric and actuator state, by name. */
  readonly state: Readonly<Record<string, unknown>>;
  /** Epoch ms at which each metric was last reported, by name. */
  readonly updatedAt: Readonly<Record<string, number>>;
}

export interface DeviceDirectory {
  get(id: string): DeviceView | undefined;
  list(): readonly DeviceView[];
}

export interface CommandResult {
  /** False when the device, its adapter or the actuator safety envelope refused the command. */
  accepted: boolean;
  /** Why it was refused, for traces and logs. */
  reason?: string;
}

/** Sends commands to devices through whichever adapter serves them (MQTT, serial, Firmata). */
export interface Actuators {
  /** `origin` names who asked (a rule id, `http`, `cli`) for traces and the event store. */
  command(deviceId: string, set: Readonly<Record<string, unknown>>, origin: string): Promise<CommandResult>;
  /**
   * Holds a message bound for a defined actuator's command topic to the same checks as `command`,
   * at once: undefined when `topic` is no command topic; refused, the message must not be delivered.
   */
  guard?(topic: string, payload: Buffer | string, origin: string): CommandResult | undefined;
}
