/**
 * The one place that touches johnny-five and firmata-io, which ship no types: their small surface
 * edgehub uses, typed, and the wiring that makes a Board run on a stream edgehub owns.
 */
import type { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import type { Duplex } from 'node:stream';

const require = createRequire(import.meta.url);

/** Pin modes as firmata-io numbers them (the Firmata protocol's numbers). */
export interface FirmataModes {
  readonly INPUT: number;
  readonly OUTPUT: number;
  readonly ANALOG: number;
  readonly PWM: number;
  readonly SERVO: number;
  readonly PULLUP: number;
}

/** firmata-io's board: the protocol state after the handshake. */
export interface FirmataIo extends EventEmitter {
  readonly isReady: boolean;
  readonly MODES: FirmataModes;
  /** Filled from the board's capability and analog mapping responses. */
  readonly pins: readonly { readonly supportedModes: readonly number[]; readonly analogChannel: number }[];
  /** Pin number of each analog channel. */
  readonly analogPins: readonly number[];
  readonly firmware: { readonly name?: string; readonly version?: { major: number; minor: number } };
  /** firmata-io's timer that asks for the version when the board did not announce it. */
  readonly reportVersionTimeoutId?: ReturnType<typeof setTimeout>;
  pinMode(pin: number, mode: number): void;
  setSamplingInterval(ms: number): void;
}

/** johnny-five's Board over a firmata-io instance. */
export interface J5Board extends EventEmitter {
  readonly isReady: boolean;
  readonly io: FirmataIo;
  /** johnny-five's own connect timeout (10 s), pending between `connect` and `ready`. */
  readonly timer: ReturnType<typeof setTimeout> | null;
}

/** An analog input, read every `freq` ms; `data` carries the median raw reading of the period. */
export interface J5Sensor extends EventEmitter {
  disable(): void;
}

/** An analog thermometer; `data` carries `{ celsius }` every `freq` ms. */
export interface J5Thermometer extends EventEmitter {
  disable(): void;
}

/** A push button: `press` and `release` events. */
export type J5Button = EventEmitter;

export interface J5Led {
  on(): void;
  off(): void;
  /** Brightness in %, 0–100, on a PWM pin. */
  intensity(percent: number): void;
  stop(): void;
}

export interface J5Relay {
  /** Closes the circuit (the load is powered, whatever the relay type). */
  close(): void;
  open(): void;
}

interface JohnnyFive {
  Board: new (options: {
    io: FirmataIo;
    repl: false;
    debug: false;
    sigint: false;
    id: string;
    timeout: number;
  }) => J5Board;
  Sensor: new (options: { board: J5Board; pin: string; freq: number; threshold: number }) => J5Sensor;
  Thermometer: new (options: {
    board: J5Board;
    pin: string;
    controller: 'LM35' | 'TMP36';
    freq: number;
    aref: number;
  }) => J5Thermometer;
  Button: new (options: { board: J5Board; pin: number; isPullup: boolean; invert: boolean }) => J5Button;
  Led: new (options: { board: J5Board; pin: number }) => J5Led;
  Relay: new (options: { board: J5Board; pin: number; type: 'NO' | 'NC' }) => J5Relay;
}

interface FirmataIoModule {
  Firmata: new (
    transport: Duplex,
    options: { reportVersionTimeout: number; samplingInterval?: number },
  ) => FirmataIo;
}

// Loaded lazily so a hub without Firmata devices never loads johnny-five.
let j5: JohnnyFive | undefined;
let firmataIo: FirmataIoModule | undefined;

function johnnyFive(): JohnnyFive {
  j5 ??= require('johnny-five') as JohnnyFive;
  return j5;
}

function firmata(): FirmataIoModule {
  firmataIo ??= require('firmata-io') as FirmataIoModule;
  return firmataIo;
}

export interface FirmataBoardOptions {
  id: string;
  /**
   * ms to wait for the board to announce its version before asking for it. A board answers on
   * demand, so this only needs to cover an Arduino's reset after the port opens.
   */
  reportVersionTimeoutMs: number;
  /** Firmata sampling interval of analog inputs, ms. */
  samplingIntervalMs?: number;
}

/** A johnny-five Board talking Firmata over `stream`; `board` emits `ready` after the handshake. */
export interface FirmataBoardSession {
  readonly io: FirmataIo;
  readonly board: J5Board;
  readonly five: JohnnyFive;
  /** Cancels johnny-five's and firmata-io's own timers and silences late events. */
  dispose(): void;
}

/**
 * Wires `new Board({ io: new Firmata(stream), repl: false, debug: false, sigint: false })` on an
 * already open stream. johnny-five waits for the io's `connect` before `ready`; firmata-io emits it
 * on the transport's `open`, which an open stream never emits again, so it is emitted here.
 */
export function openFirmataBoard(stream: Duplex, options: FirmataBoardOptions): FirmataBoardSession {
  const five = johnnyFive();
  const io = new (firmata().Firmata)(stream, {
    reportVersionTimeout: options.reportVersionTimeoutMs,
    ...(options.samplingIntervalMs === undefined ? {} : { samplingInterval: options.samplingIntervalMs }),
  });
  // johnny-five reports its own problems by emitting `error` (e.g. its connect timeout); unhandled,
  // an `error` event would throw. The adapter listens for what matters and runs its own timeout.
  io.on('error', () => undefined);
  // A day, ms: the adapter's handshake timeout on the clock decides, not johnny-five's.
  const board = new five.Board({
    io,
    repl: false,
    debug: false,
    sigint: false,
    id: options.id,
    timeout: 86_400_000,
  });
  board.on('error', () => undefined);
  io.emit('connect');
  return {
    io,
    board,
    five,
    dispose() {
      // These are johnny-five's and firmata-io's timers, not edgehub's: cleared so a closed board
      // does not keep the process alive or fire into a stream that is gone.
      if (io.reportVersionTimeoutId) clearTimeout(io.reportVersionTimeoutId);
      if (board.timer) clearTimeout(board.timer);
      io.removeAllListeners('ready');
      board.removeAllListeners('ready');
    },
  };
}
