import { decodePayload, switchWord, TOPICS } from '../kernel/index.js';
import type { SimDevicePort, SimPart } from './sim-device.js';

/** The state a switched load reports on `actuators/<device>/<name>/state`. */
export interface LoadState {
  on: boolean;
  /** %, 0–100; dimmable loads only. */
  brightness?: number;
  /** Echoed from the command so a sender can match state to command. */
  seq?: number;
}

/**
 * Reads a command: `{"on": b, "brightness"?: %, "seq"?: n}` (extra keys such as `origin` ignored),
 * `{"state": "ON"}`, a bare `ON`/`OFF`/`true`/`false`, or for a dimmable load a bare number (%).
 * Null for anything else.
 */
export function parseLoadCommand(payload: Buffer, dimmable: boolean): Partial<LoadState> | null {
  const decoded = decodePayload(payload);
  if (typeof decoded === 'number') return dimmable ? { on: decoded > 0, brightness: clamp(decoded) } : null;
  if (decoded !== null && typeof decoded === 'object' && !Array.isArray(decoded)) {
    const record = decoded as Record<string, unknown>;
    const on = switchWord(record.on ?? record.state);
    const brightness =
      dimmable && typeof record.brightness === 'number' ? clamp(record.brightness) : undefined;
    if (on === null && brightness === undefined) return null;
    const out: Partial<LoadState> = {};
    if (on !== null) out.on = on;
    if (brightness !== undefined) out.brightness = brightness;
    if (typeof record.seq === 'number' && Number.isFinite(record.seq)) out.seq = record.seq;
    return out;
  }
  const on = switchWord(decoded);
  return on === null ? null : { on };
}

function clamp(value: number): number {
  return Math.max(0, Math.min(100, Math.round(value)));
}

export interface SwitchedLoadOptions {
  /** Actuator name, the last level of the command topic: `relay`, `light`. */
  name: string;
  /** Accepts a brightness, %. */
  dimmable?: boolean;
  initialOn?: boolean;
  /** Reads a command payload; null ignores it. Default {@link parseLoadCommand}. */
  parse?: (payload: Buffer) => Partial<LoadState> | null;
}

/**
 * A relay, a fan or a dimmable light: obeys `actuators/<device>/<name>` and echoes its state, retained, on
 * `actuators/<device>/<name>/state` after every command and on every (re)connection.
 */
export class SwitchedLoad implements SimPart {
  readonly name: string;
  private port: SimDevicePort | undefined;
  private readonly parse: (payload: Buffer) => Partial<LoadState> | null;
  private state: LoadState;
  private commands = 0;

  constructor(options: SwitchedLoadOptions) {
    this.name = options.name;
    const dimmable = options.dimmable === true;
    this.parse = options.parse ?? ((payload) => parseLoadCommand(payload, dimmable));
    this.state = options.dimmable
      ? { on: options.initialOn ?? false, brightness: 100 }
      : { on: options.initialOn ?? false };
  }

  get current(): Readonly<LoadState> {
    return this.state;
  }

  get on(): boolean {
    return this.state.on;
  }

  /** Commands obeyed since start. */
  get obeyed(): number {
    return this.commands;
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
    this.report(this.state);
  }

  onMessage(_topic: string, payload: Buffer): void {
    const command = this.parse(payload);
    if (!command) {
      this.port?.logger.warn(`ignored ${this.name} command`, {
        actuator: this.name,
        payload: payload.toString('utf8').slice(0, 100),
      });
      return;
    }
    const { seq, ...change } = command;
    this.state = { ...this.state, ...change };
    delete this.state.seq;
    this.commands += 1;
    this.port?.logger.info(`${this.name} ${this.state.on ? 'on' : 'off'}`, { actuator: this.name });
    this.report(seq === undefined ? this.state : { ...this.state, seq });
  }

  private report(state: LoadState): void {
    const port = this.port;
    if (!port) return;
    port.publish(TOPICS.state(port.deviceId, this.name), JSON.stringify(state), { qos: 1, retain: true });
  }
}
