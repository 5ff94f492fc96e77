import type { Duplex } from 'node:stream';
import { LineFramer } from '../../kernel/index.js';
import type { Clock, TimerHandle } from '../../kernel/index.js';
import type { Signal } from '../signals.js';

export interface JsonLineDeviceSimOptions {
  /** Readings by metric: a fixed value or a signal over clock time (epoch ms). */
  sensors?: Readonly<Record<string, number | Signal>>;
  /** ms between reading lines once started; 0 sends only on `sendReadings()`. Default 1000. */
  intervalMs?: number;
  /** Actuators the device has, all off at power-up. */
  actuators?: readonly string[];
}

/** An actuator's state on the simulated device. */
export interface SimActuatorState {
  on: boolean;
  /** %, 0–100, when the host set one. */
  brightness?: number;
}

/**
 * A microcontroller sketch that speaks JSON lines on its serial port: a line of readings
 * (`{"temperature": 21.5}`) every interval, and for each command line (`{"set": {"relay": true}}`) a
 * line echoing the new states (`{"relay": true}`). Like real firmware it keeps running while nobody
 * listens: lines written while the port is unplugged are lost.
 */
export class JsonLineDeviceSim {
  private readonly framer = new LineFramer(4096);
  private readonly actuators = new Map<string, SimActuatorState>();
  private readonly listeners = new Set<(name: string, state: SimActuatorState) => void>();
  private stream: Duplex | undefined;
  private timer: TimerHandle | undefined;
  private readonly onData = (chunk: Buffer) => {
    for (const line of this.framer.push(chunk).lines) this.handleLine(line);
  };
  private readonly onClose = () => this.detach();

  constructor(
    private readonly deps: { clock: Clock },
    private readonly options: JsonLineDeviceSimOptions = {},
  ) {
    for (const name of options.actuators ?? []) this.actuators.set(name, { on: false });
  }

  /** Connects the device to a stream (its end of the cable). */
  attach(stream: Duplex): void {
    this.detach();
    this.stream = stream;
    stream.on('data', this.onData);
    stream.once('close', this.onClose);
  }

  detach(): void {
    const stream = this.stream;
    if (!stream) return;
    this.stream = undefined;
    stream.off('data', this.onData);
    stream.off('close', this.onClose);
    this.framer.reset();
  }

  /** Sends a line of readings every `intervalMs` until `stop()`. */
  start(): void {
    const interval = this.options.intervalMs ?? 1000;
    if (this.timer || interval <= 0) return;
    this.timer = this.deps.clock.setTimer('serial-sim:report', interval, () => {
      this.timer = undefined;
      this.sendReadings();
      this.start();
    });
  }

  stop(): void {
    this.deps.clock.clearTimer(this.timer);
    this.timer = undefined;
  }

  /** Writes one line with every sensor's current value; false if nobody is connected. */
  sendReadings(): boolean {
    const now = this.deps.clock.now();
    const line: Record<string, number> = {};
    for (const [metric, source] of Object.entries(this.options.sensors ?? {}))
      line[metric] = Math.round((typeof source === 'number' ? source : source(now)) * 100) / 100;
    return this.writeLine(line);
  }

  /** Writes `value` as one JSON line. */
  writeLine(value: unknown): boolean {
    return this.writeRaw(`${JSON.stringify(value)}\n`);
  }

  /** Writes text as is: partial lines, noise, a boot banner. */
  writeRaw(text: string): boolean {
    const stream = this.stream;
    if (!stream || stream.destroyed || !stream.writable) return false;
    stream.write(text);
    return true;
  }

  actuator(name: string): SimActuatorState | undefined {
    const state = this.actuators.get(name);
    return state && { ...state };
  }

  /** Resolves with an actuator's state once it satisfies `predicate` (now, or after a command). */
  waitForActuator(name: string, predicate: (state: SimActuatorState) => boolean): Promise<SimActuatorState> {
    const now = this.actuator(name);
    if (now && predicate(now)) return Promise.resolve(now);
    return new Promise((resolve) => {
      const fn = (changed: string, state: SimActuatorState) => {
        if (changed !== name || !predicate(state)) return;
        this.listeners.delete(fn);
        resolve({ ...state });
      };
      this.listeners.add(fn);
    });
  }

  private handleLine(line: string): void {
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch {
      return; // firmware ignores what it cannot parse
    }
    const set = (message as { set?: unknown } | null)?.set;
    if (set === null || typeof set !== 'object') return;
    const echo: Record<string, boolean | SimActuatorState> = {};
    for (const [name, value] of Object.entries(set as Record<string, unknown>)) {
      const state = parseState(value);
      if (!state || !this.actuators.has(name)) continue;
      this.actuators.set(name, state);
      echo[name] = state.brightness === undefined ? state.on : state;
      for (const fn of [...this.listeners]) fn(name, state);
    }
    if (Object.keys(echo).length > 0) this.writeLine(echo);
  }
}

function parseState(value: unknown): SimActuatorState | undefined {
  if (typeof value === 'boolean') return { on: value };
  if (value === null || typeof value !== 'object') return undefined;
  const { on, brightness } = value as { on?: unknown; brightness?: unknown };
  if (typeof on !== 'boolean') return undefined;
  return typeof brightness === 'number' ? { on, brightness } : { on };
}
