import { errorMessage, parseDuration, type CommandResult, type TimerHandle } from '../../kernel/index.js';
import type { ActuatorCommand, ActuatorState, DeviceCommandSet } from '../adapter.js';
import type { BoardDevice, BoardDeviceDeps } from '../board-adapter.js';
import { BoardPort } from '../board-port.js';
import type { PortHandle } from '../serial/transport.js';
import type {
  FirmataActuatorPin,
  FirmataPin,
  FirmataSensorPin,
  FirmataSettings,
} from './firmata-settings.js';
import { openFirmataBoard, type FirmataBoardSession, type FirmataIo } from './johnny-five.js';
import { analogValue, ReadingGate } from './readings.js';

/**
 * ms firmata-io waits for the board to announce its version before asking. Asking early is harmless
 * (an Arduino that resets on open announces itself after its bootloader anyway) and lets boards that
 * do not reset on open (and simulators) answer at once.
 */
const REPORT_VERSION_AFTER_MS = 100;

export interface FirmataBoardDeviceDeps extends BoardDeviceDeps {
  settings: FirmataSettings;
}

/** What an actuator pin drives, wired once the board is ready. */
interface ActuatorDriver {
  apply(command: ActuatorCommand): ActuatorState;
}

interface Connected {
  session: FirmataBoardSession;
  actuators: Map<string, ActuatorDriver>;
  stopSensors: (() => void)[];
}

/**
 * One board running StandardFirmata, driven by johnny-five over a port edgehub opens: sensor pins
 * become readings, actuator pins follow commands. The port is reopened with backoff when it goes away;
 * after a reconnect (which resets an Arduino) the last commanded actuator states are restored.
 */
export class FirmataBoardDevice implements BoardDevice {
  private readonly port: BoardPort;
  private readonly gates = new Map<string, ReadingGate>();
  /** The last commanded state of each actuator: the hub's intent, restored after a reconnect. */
  private readonly desired = new Map<string, ActuatorCommand>();
  private session: FirmataBoardSession | undefined;
  private connected: Connected | undefined;
  private handshakeTimer: TimerHandle | undefined;

  constructor(private readonly deps: FirmataBoardDeviceDeps) {
    const { settings } = deps;
    const reportEveryMs = parseDuration(settings.report_every);
    for (const pin of settings.pins)
      if ('metric' in pin)
        this.gates.set(pin.metric, new ReadingGate('min_change' in pin ? pin.min_change : 0, reportEveryMs));
    this.port = new BoardPort({
      ...deps,
      kind: 'firmata',
      onOpen: (handle) => this.handshake(handle),
      onLost: () => this.disconnect(),
    });
  }

  get id(): string {
    return this.deps.definition.id;
  }

  /** True once the board answered the handshake and its pins are wired. */
  get isReady(): boolean {
    return this.connected !== undefined;
  }

  start(): Promise<void> {
    return this.port.start();
  }

  async stop(): Promise<void> {
    this.disconnect();
    await this.port.stop();
  }

  command(set: DeviceCommandSet): Promise<CommandResult> {
    const connected = this.connected;
    if (!connected) return Promise.resolve({ accepted: false, reason: `board ${this.id} is not connected` });
    const unknown = Object.keys(set).filter((name) => !connected.actuators.has(name));
    if (unknown.length > 0)
      return Promise.resolve({
        accepted: false,
        reason: `no pin drives ${unknown.join(', ')} on ${this.id}`,
      });
    try {
      for (const [name, command] of Object.entries(set)) this.drive(connected, name, command);
      return Promise.resolve({ accepted: true });
    } catch (err) {
      return Promise.resolve({ accepted: false, reason: errorMessage(err) });
    }
  }

  private handshake(handle: PortHandle): void {
    const { settings, clock, logger } = this.deps;
    const session = openFirmataBoard(handle.stream, {
      id: this.id,
      reportVersionTimeoutMs: REPORT_VERSION_AFTER_MS,
    });
    this.session = session;
    const timeoutMs = parseDuration(settings.handshake_timeout);
    this.handshakeTimer = clock.setTimer(`firmata:${this.id}:handshake`, timeoutMs, () => {
      this.handshakeTimer = undefined;
      logger.error(
        `no Firmata answer from ${settings.path} within ${settings.handshake_timeout}: is StandardFirmata ` +
          `flashed on the board, and does its baud rate match baud (${settings.baud})?`,
        { code: 'DEVICE_PORT_OPEN_FAILED' },
      );
      this.port.drop('no Firmata handshake');
    });
    session.board.once('ready', () => {
      if (this.session !== session) return;
      clock.clearTimer(this.handshakeTimer);
      this.handshakeTimer = undefined;
      try {
        this.wire(session);
      } catch (err) {
        logger.error('wiring the board failed', { device: this.id, error: errorMessage(err) });
        this.port.drop('wiring failed');
      }
    });
  }

  private wire(session: FirmataBoardSession): void {
    const { settings, logger } = this.deps;
    const connected: Connected = { session, actuators: new Map(), stopSensors: [] };
    for (const pin of settings.pins) {
      const problem = pinProblem(session.io, pin);
      if (problem) {
        logger.error(`pin ${pin.pin} (${pin.type}) skipped: ${problem}`, {
          device: this.id,
          pin: pin.pin,
          type: pin.type,
          problem,
        });
        continue;
      }
      if ('metric' in pin) connected.stopSensors.push(this.wireSensor(session, pin));
      else connected.actuators.set(pin.actuator, actuatorDriver(session, pin));
    }
    this.connected = connected;
    for (const gate of this.gates.values()) gate.reset();
    const firmware = session.io.firmware;
    logger.info('Firmata board ready', {
      device: this.id,
      path: settings.path,
      firmware: `${firmware.name ?? '?'} ${firmware.version?.major ?? '?'}.${firmware.version?.minor ?? '?'}`,
    });
    this.port.online();
    for (const name of connected.actuators.keys())
      this.drive(connected, name, this.desired.get(name) ?? { on: false });
  }

  private wireSensor(session: FirmataBoardSession, pin: FirmataSensorPin): () => void {
    const { five, board, io } = session;
    const freq = parseDuration(this.deps.settings.sample_every);
    if (pin.type === 'button') {
      const button = new five.Button({ board, pin: pin.pin, isPullup: pin.pullup, invert: pin.pullup });
      button.on('press', () => this.report(pin.metric, true));
      button.on('release', () => this.report(pin.metric, false));
      return () => button.removeAllListeners();
    }
    const channel = Number(pin.pin.slice(1));
    // johnny-five emits a median of 0 before the first sample arrives; readings wait for a real one.
    let sampled = false;
    io.once(`analog-read-${channel}`, () => (sampled = true));
    const sensor = new five.Sensor({ board, pin: pin.pin, freq, threshold: 1 });
    sensor.on('data', (raw: number) => {
      if (sampled) this.report(pin.metric, analogValue(pin, raw));
    });
    return () => {
      sensor.disable();
      sensor.removeAllListeners();
    };
  }

  private report(metric: string, value: number | boolean): void {
    const now = this.deps.clock.now();
    if (this.gates.get(metric)?.accept(value, now) ?? true)
      this.deps.sink.reading(this.id, metric, value, now);
  }

  private drive(connected: Connected, name: string, command: ActuatorCommand): void {
    const driver = connected.actuators.get(name);
    if (!driver) return;
    const state = driver.apply(command);
    this.desired.set(name, command);
    this.deps.sink.state(this.id, name, state, this.deps.clock.now());
  }

  private disconnect(): void {
    this.deps.clock.clearTimer(this.handshakeTimer);
    this.handshakeTimer = undefined;
    const connected = this.connected;
    this.connected = undefined;
    for (const stop of connected?.stopSensors ?? []) stop();
    this.session?.dispose();
    this.session = undefined;
  }
}

/** Why the board cannot serve a declared pin, or undefined when it can. */
function pinProblem(io: FirmataIo, pin: FirmataPin): string | undefined {
  if (pin.type === 'analog' || pin.type === 'thermometer') {
    const channel = Number(pin.pin.slice(1));
    return channel < io.analogPins.length ? undefined : `the board has ${io.analogPins.length} analog inputs`;
  }
  const caps = io.pins[pin.pin];
  if (!caps) return `the board has ${io.pins.length} pins`;
  const needed = { button: io.MODES.INPUT, led: io.MODES.OUTPUT, relay: io.MODES.OUTPUT, pwm: io.MODES.PWM }[
    pin.type
  ];
  if (caps.supportedModes.includes(needed)) return undefined;
  return pin.type === 'pwm' ? 'the pin has no PWM' : 'the pin is not a digital pin on this board';
}

function actuatorDriver(session: FirmataBoardSession, pin: FirmataActuatorPin): ActuatorDriver {
  const { five, board, io } = session;
  switch (pin.type) {
    case 'led': {
      const led = new five.Led({ board, pin: pin.pin });
      return {
        apply: ({ on }) => {
          if (on) led.on();
          else led.off();
          return { on };
        },
      };
    }
    case 'pwm': {
      const led = new five.Led({ board, pin: pin.pin });
      let brightness = 100;
      return {
        apply: (command) => {
          brightness = command.brightness ?? brightness;
          led.intensity(command.on ? brightness : 0);
          return { on: command.on, brightness };
        },
      };
    }
    case 'relay': {
      const relay = new five.Relay({
        board,
        pin: pin.pin,
        type: pin.contacts === 'normally_closed' ? 'NC' : 'NO',
      });
      // johnny-five leaves a numbered relay pin's mode alone; StandardFirmata only drives OUTPUT pins.
      io.pinMode(pin.pin, io.MODES.OUTPUT);
      return {
        apply: ({ on }) => {
          if (on) relay.close();
          else relay.open();
          return { on };
        },
      };
    }
  }
}
