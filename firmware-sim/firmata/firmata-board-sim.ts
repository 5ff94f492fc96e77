import type { Duplex } from 'node:stream';
import type { Clock, TimerHandle } from '../../kernel/index.js';
import { FirmataParser, commandKey, type HostMessage } from './firmata-parser.js';
import {
  CMD,
  PIN_MODE,
  PROTOCOL_VERSION,
  SYSEX,
  analogMappingMessage,
  analogMessage,
  capabilityMessage,
  digitalMessage,
  firmwareMessage,
  from7Bit,
  pinStateMessage,
  reportVersionMessage,
  stringMessage,
  type PinMode,
} from './firmata-protocol.js';
import { unoPinMap, type BoardPinMap } from './uno-pin-map.js';

export interface FirmataBoardSimOptions {
  /** Default: an Arduino Uno. */
  pinMap?: BoardPinMap;
  /** Reported to QUERY_FIRMWARE. */
  firmwareName?: string;
  /** Analog reference, volts (5 on an Uno); `setVoltage` converts with it. */
  arefVolts?: number;
}

/** An analog input's source: a fixed raw value or raw value (0–1023) over clock time (epoch ms). */
export type AnalogSource = number | ((nowMs: number) => number);

/** What a pin is doing, as the outside world would measure it. */
export interface SimPinState {
  readonly pin: number;
  /** The mode the host set, undefined for pins that have none (the serial pins 0 and 1). */
  readonly mode: PinMode | undefined;
  /** Output level (0/1) of an OUTPUT pin, duty (0–255) of a PWM pin, raw reading of an input. */
  readonly value: number;
}

interface PinRecord {
  mode: PinMode | undefined;
  /** Written by the host: output level, PWM duty, or 1 for an enabled pull-up. */
  written: number;
  /** Level driven from outside (a button), undefined when floating. */
  driven: 0 | 1 | undefined;
}

type Handler = (command: number, data: number[]) => void;

/** Firmata's default sampling interval, ms. */
const DEFAULT_SAMPLING_MS = 19;
const ADC_MAX = 1023;

/**
 * A board running StandardFirmata, speaking the real protocol over any byte stream: an in-memory
 * pair in unit tests, a pseudo-terminal that serialport opens like a USB board in integration tests.
 * It only answers (version, firmware, capabilities, analog mapping, pin state) and reports what the
 * host asked for, like the firmware: nothing is sent unprompted, since bytes written before the other
 * end opens a pty are lost. Analog inputs follow settable sources; output pins are observable.
 */
export class FirmataBoardSim {
  private readonly pinMap: BoardPinMap;
  private readonly pins: PinRecord[];
  private readonly parser = new FirmataParser((m) => this.dispatch(m));
  private readonly analogSources = new Map<number, AnalogSource>();
  private readonly analogReporting = new Set<number>();
  private readonly digitalReporting = new Set<number>();
  private readonly listeners = new Set<(state: SimPinState) => void>();
  private stream: Duplex | undefined;
  private readonly onData = (chunk: Buffer) => this.parser.push(chunk);
  private readonly onClose = () => this.detach();
  private timer: TimerHandle | undefined;
  private samplingMs = DEFAULT_SAMPLING_MS;
  /** Messages the host sent, by kind, for tests that check the host's side of the protocol. */
  readonly received: HostMessage[] = [];

  private readonly midi: Readonly<Record<number, Handler>> = {
    [CMD.REPORT_VERSION]: () => this.send(reportVersionMessage()),
    [CMD.SYSTEM_RESET]: () => this.reset(),
    [CMD.SET_PIN_MODE]: (_c, [pin = 0, mode = 0]) => this.setMode(pin, mode),
    [CMD.DIGITAL_MESSAGE]: (c, [lsb = 0, msb = 0]) => this.writePort(c & 0x0f, lsb | (msb << 7)),
    [CMD.SET_DIGITAL_PIN_VALUE]: (_c, [pin = 0, value = 0]) => this.writePin(pin, value ? 1 : 0),
    [CMD.ANALOG_MESSAGE]: (c, [lsb = 0, msb = 0]) => this.analogWrite(c & 0x0f, lsb | (msb << 7)),
    [CMD.REPORT_ANALOG]: (c, [on = 0]) => this.reportAnalog(c & 0x0f, on !== 0),
    [CMD.REPORT_DIGITAL]: (c, [on = 0]) => this.reportDigital(c & 0x0f, on !== 0),
  };

  private readonly sysex: Readonly<Record<number, Handler>> = {
    [SYSEX.QUERY_FIRMWARE]: () =>
      this.send(firmwareMessage(this.options.firmwareName ?? 'edgehub-sim', PROTOCOL_VERSION)),
    [SYSEX.CAPABILITY_QUERY]: () => this.send(capabilityMessage(this.pinMap.pins)),
    [SYSEX.ANALOG_MAPPING_QUERY]: () => this.send(analogMappingMessage(this.pinMap.analogChannels)),
    [SYSEX.PIN_STATE_QUERY]: (_c, [pin = 0]) => {
      const record = this.pins[pin];
      if (record) this.send(pinStateMessage(pin, record.mode ?? 0x7f, record.written));
    },
    [SYSEX.EXTENDED_ANALOG]: (_c, [pin = 0, ...value]) => this.analogWrite(pin, from7Bit(value)),
    [SYSEX.SAMPLING_INTERVAL]: (_c, data) => this.setSamplingInterval(from7Bit(data)),
    // Servos are driven by ANALOG_MESSAGE like PWM; their pulse range does not matter here.
    [SYSEX.SERVO_CONFIG]: () => undefined,
  };

  constructor(
    private readonly deps: { clock: Clock },
    private readonly options: FirmataBoardSimOptions = {},
  ) {
    this.pinMap = options.pinMap ?? unoPinMap();
    this.pins = this.pinMap.pins.map(() => ({ mode: undefined, written: 0, driven: undefined }));
    this.reset();
  }

  /** Connects the board to a stream (its end of the cable); it answers whatever arrives. */
  attach(stream: Duplex): void {
    this.detach();
    this.stream = stream;
    stream.on('data', this.onData);
    stream.once('close', this.onClose);
  }

  /** Disconnects from the stream; pin states are kept, as on a board whose cable was pulled. */
  detach(): void {
    const stream = this.stream;
    if (!stream) return;
    this.stream = undefined;
    stream.off('data', this.onData);
    stream.off('close', this.onClose);
    this.deps.clock.clearTimer(this.timer);
    this.timer = undefined;
  }

  get samplingIntervalMs(): number {
    return this.samplingMs;
  }

  /** Sets an analog input (`0` or `'A0'`) to a raw reading, 0–1023, or a source over time. */
  setAnalog(channel: number | `A${number}`, source: AnalogSource): void {
    this.analogSources.set(typeof channel === 'number' ? channel : Number(channel.slice(1)), source);
  }

  /** Sets an analog input to a voltage, V, against the analog reference. */
  setVoltage(channel: number | `A${number}`, volts: number): void {
    this.setAnalog(channel, (volts / (this.options.arefVolts ?? 5)) * ADC_MAX);
  }

  /** Drives a digital input high or low from outside (a button, a contact), undefined to let it float. */
  setDigital(pin: number, level: boolean | undefined): void {
    const record = this.pins[pin];
    if (!record) throw new RangeError(`the board has no pin ${pin}`);
    const port = pin >> 3;
    const before = this.portInputs(port);
    record.driven = level === undefined ? undefined : level ? 1 : 0;
    if (this.digitalReporting.has(port) && this.portInputs(port) !== before) this.sendPort(port);
  }

  pin(pin: number): SimPinState {
    const record = this.pins[pin];
    if (!record) throw new RangeError(`the board has no pin ${pin}`);
    return { pin, mode: record.mode, value: this.pinValue(pin, record) };
  }

  /** Calls `fn` whenever a pin's mode or output changes; returns the function that unsubscribes. */
  onPinChange(fn: (state: SimPinState) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Resolves with the pin's state as soon as it satisfies `predicate` (now, or on a later change). */
  waitForPin(pin: number, predicate: (state: SimPinState) => boolean): Promise<SimPinState> {
    const now = this.pin(pin);
    if (predicate(now)) return Promise.resolve(now);
    return new Promise((resolve) => {
      const off = this.onPinChange((state) => {
        if (state.pin !== pin || !predicate(state)) return;
        off();
        resolve(state);
      });
    });
  }

  private dispatch(message: HostMessage): void {
    this.received.push(message);
    const table = message.kind === 'sysex' ? this.sysex : this.midi;
    const key = message.kind === 'sysex' ? message.command : commandKey(message.command);
    table[key]?.(message.command, message.data);
  }

  private send(bytes: number[]): void {
    const stream = this.stream;
    if (stream && !stream.destroyed && stream.writable) stream.write(Buffer.from(bytes));
  }

  /** StandardFirmata's reset: analog pins to ANALOG, other digital pins to OUTPUT low, no reporting. */
  private reset(): void {
    this.analogReporting.clear();
    this.digitalReporting.clear();
    this.setSamplingInterval(DEFAULT_SAMPLING_MS);
    this.pins.forEach((record, pin) => {
      const caps = this.pinMap.pins[pin];
      record.written = 0;
      record.mode = caps?.has(PIN_MODE.ANALOG)
        ? PIN_MODE.ANALOG
        : caps?.has(PIN_MODE.OUTPUT)
          ? PIN_MODE.OUTPUT
          : undefined;
      this.changed(pin);
    });
  }

  private setMode(pin: number, mode: number): void {
    const record = this.pins[pin];
    if (!record || !this.pinMap.pins[pin]?.has(mode as PinMode)) {
      this.send(stringMessage(`Unknown pin mode ${mode} for pin ${pin}`));
      return;
    }
    record.mode = mode as PinMode;
    // Switching an output turns it off, as the firmware does before changing the pin's direction.
    record.written = mode === PIN_MODE.PULLUP ? 1 : 0;
    const channel = this.pinMap.analogChannels[pin];
    // StandardFirmata starts reporting an analog pin set to ANALOG and stops it for any other mode.
    if (channel !== undefined) this.reportAnalog(channel, mode === PIN_MODE.ANALOG);
    this.changed(pin);
  }

  private writePort(port: number, mask: number): void {
    for (let bit = 0; bit < 8; bit++) {
      const pin = port * 8 + bit;
      const record = this.pins[pin];
      if (!record) continue;
      const level = (mask >> bit) & 1;
      // Writing HIGH to an INPUT pin enables its pull-up, as on the ATmega.
      if (record.mode === PIN_MODE.OUTPUT || record.mode === PIN_MODE.INPUT) this.writePin(pin, level);
    }
  }

  private writePin(pin: number, level: number): void {
    const record = this.pins[pin];
    if (!record || record.written === level) return;
    if (record.mode !== PIN_MODE.OUTPUT && record.mode !== PIN_MODE.INPUT) return;
    record.written = level;
    this.changed(pin);
  }

  private analogWrite(pin: number, value: number): void {
    const record = this.pins[pin];
    if (!record || (record.mode !== PIN_MODE.PWM && record.mode !== PIN_MODE.SERVO)) return;
    if (record.written === value) return;
    record.written = value;
    this.changed(pin);
  }

  private reportAnalog(channel: number, on: boolean): void {
    if (on) {
      this.analogReporting.add(channel);
      this.send(analogMessage(channel, this.readAnalog(channel)));
    } else {
      this.analogReporting.delete(channel);
    }
    this.scheduleSampling();
  }

  private reportDigital(port: number, on: boolean): void {
    if (on) {
      this.digitalReporting.add(port);
      this.sendPort(port);
    } else {
      this.digitalReporting.delete(port);
    }
  }

  private setSamplingInterval(ms: number): void {
    // StandardFirmata's minimum sampling interval, ms.
    this.samplingMs = Math.max(1, ms);
    this.deps.clock.clearTimer(this.timer);
    this.timer = undefined;
    this.scheduleSampling();
  }

  private scheduleSampling(): void {
    if (this.timer || !this.stream || this.analogReporting.size === 0) return;
    this.timer = this.deps.clock.setTimer('firmata-sim:sampling', this.samplingMs, () => {
      this.timer = undefined;
      for (const channel of this.analogReporting) {
        const pin = this.pinMap.analogChannels.indexOf(channel);
        if (this.pins[pin]?.mode === PIN_MODE.ANALOG)
          this.send(analogMessage(channel, this.readAnalog(channel)));
      }
      this.scheduleSampling();
    });
  }

  private readAnalog(channel: number): number {
    const source = this.analogSources.get(channel) ?? 0;
    const raw = typeof source === 'number' ? source : source(this.deps.clock.now());
    return Math.round(Math.min(ADC_MAX, Math.max(0, raw)));
  }

  /** Input levels of a port's INPUT and PULLUP pins as a mask; other pins read 0. */
  private portInputs(port: number): number {
    let mask = 0;
    for (let bit = 0; bit < 8; bit++) {
      const record = this.pins[port * 8 + bit];
      if (record && (record.mode === PIN_MODE.INPUT || record.mode === PIN_MODE.PULLUP))
        mask |= this.inputLevel(record) << bit;
    }
    return mask;
  }

  private sendPort(port: number): void {
    this.send(digitalMessage(port, this.portInputs(port)));
  }

  private inputLevel(record: PinRecord): 0 | 1 {
    if (record.driven !== undefined) return record.driven;
    const pulledUp =
      record.mode === PIN_MODE.PULLUP || (record.mode === PIN_MODE.INPUT && record.written === 1);
    return pulledUp ? 1 : 0;
  }

  private pinValue(pin: number, record: PinRecord): number {
    switch (record.mode) {
      case PIN_MODE.ANALOG:
        return this.readAnalog(this.pinMap.analogChannels[pin] ?? 0);
      case PIN_MODE.INPUT:
      case PIN_MODE.PULLUP:
        return this.inputLevel(record);
      default:
        return record.written;
    }
  }

  private changed(pin: number): void {
    if (this.listeners.size === 0) return;
    const state = this.pin(pin);
    for (const fn of [...this.listeners]) fn(state);
  }
}
