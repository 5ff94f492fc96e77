import { decodePayload, switchWord } from '../kernel/index.js';
import { SwitchedLoad, type LoadState } from './switched-load.js';

/** A fan command, as understood from a payload on `actuators/<device>/<fan>`. */
export interface FanCommand {
  on: boolean;
  /** Echoed on the state topic so a sender can match the state to its command. */
  seq?: number;
}

/** The state a fan reports on `actuators/<device>/<fan>/state`. */
export type FanState = Pick<LoadState, 'on' | 'seq'>;

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
 * A fan: a switched load (default name `fan`) that obeys only the fan command shapes of
 * {@link parseFanCommand} and reports `{"on": bool, "seq"?: n}`.
 */
export class Fan extends SwitchedLoad {
  constructor(options: FanOptions = {}) {
    super({ ...options, name: options.name ?? 'fan', parse: parseFanCommand });
  }
}
