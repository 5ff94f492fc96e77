import { decodePayload, switchWord, TOPICS } from '../kernel/index.js';
import type { SimDevicePort, SimPart } from './sim-device.js';

/** A fan command, as understood from a payload on `actuators/<device>/<fan>`. */
export interface FanCommand {
  on: boolean;
  /** Echoed on the state topic so a sender can match the state to its command. */
  seq?: number;
}

/** The state a fan reports on `actuators/<device>/<fan>/state`. */
export interface FanState {
  on: boolean;
  seq?: number;
}

/**
 * Reads a fan command: JSON `{"on": true|false|"ON"|"OFF", "seq"?: n}`, or a bare `ON`/`OFF`
 * (any case) or `true`/`false`. Null for anything else. A `seq` that is not a finite number is
 * left out rather than rejecting a command whose meaning is clear.
 */
export function parseFanCommand(payload: Buffer): FanCommand | null {
  const decoded = decodePayload(payload);
  if (decoded !== null && typeof decoded === 'object' && !Array.isArray(decoded)) {
    const record = decoded as Record<string, unknown>;
    const on = switchWord(record.on);
    if (on === null) return null;
    const seq = record.seq;
    return typeof seq === 'number' && Number.isFinite(seq) ? { on, seq } : { on };
  }
  const on = switchWord(decoded);
  return on === null ? null : { on };
}

export interface FanOptions {
  /** Actuator name, the last level of the command topic. Default `fan`. */
  name?: string;
  /** State at power-on. Default off. */
  initialOn?: boolean;
}

/**
 * A fan: obeys `actuators/<device>/<name>` and reports `{"on": bool, "seq"?: n}` retained on
 * `actuators/<device>/<name>/state` after every command and on every (re)connection.
 */
export class Fan implements SimPart {
  readonly name: string;
  private port: SimDevicePort | undefined;
  private state: FanState;

  constructor(options: FanOptions = {}) {
    this.name = options.name ?? 'fan';
    this.state = { on: options.initialOn ?? false };
  }

  get on(): boolean {
    return this.state.on;
  }

  attach(port: SimDevicePort): void {
    this.port = port;
  }

  detach(): void {
    this.port = undefined;
  }

  subscriptions(): readonly string[] {
    return this.port ? [TOPICS.command(this.port.deviceId, this.name)] : [];
  }

  onOnline(): void {
    // After a reconnect the broker may hold a stale retained state from before the outage.
    this.report({ on: this.state.on });
  }

  onMessage(_topic: string, payload: Buffer): void {
    const command = parseFanCommand(payload);
    if (!command) {
      this.port?.logger.warn('ignored fan command', {
        actuator: this.name,
        payload: payload.toString('utf8').slice(0, 100),
      });
      return;
    }
    this.state = { on: command.on };
    this.port?.logger.info(`fan ${command.on ? 'on' : 'off'}`, { actuator: this.name });
    this.report(command.seq === undefined ? { on: command.on } : { on: command.on, seq: command.seq });
  }

  private report(state: FanState): void {
    const port = this.port;
    if (!port) return;
    port.publish(TOPICS.state(port.deviceId, this.name), JSON.stringify(state), { qos: 1, retain: true });
  }
}
