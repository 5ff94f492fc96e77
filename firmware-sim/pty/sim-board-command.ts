import type { SerialPort } from 'serialport';
import { EdgehubError, SystemClock, type Logger } from '../../kernel/index.js';
import { FirmataBoardSim } from '../firmata/firmata-board-sim.js';
import { PIN_MODE } from '../firmata/firmata-protocol.js';
import { seededRandom } from '../random.js';
import { JsonLineDeviceSim } from '../serial/json-line-device-sim.js';
import { swingSignal } from '../signals.js';
import { PtyPair } from './pty-pair.js';
import { closeSimPort, openSimPort } from './sim-port.js';

export interface SimBoardCommandOptions {
  /** Path the hub opens for a simulated Uno running StandardFirmata. */
  firmata?: string;
  /** Path the hub opens for a simulated JSON-lines device. */
  serial?: string;
  /** ms between the JSON-lines device's readings. */
  intervalMs?: number;
}

/** Volts of an LM35 at a temperature: 10 mV/°C. */
const lm35Volts = (celsius: number) => celsius / 100;

/**
 * `edgehub sim-board`: simulated boards behind pseudo-terminals, so a hub configured with their
 * paths talks to them as to USB boards. Each path gets a socat pty pair; the simulator holds the
 * other end (`<path>.sim`). The Uno has an LM35 on A0 swinging across 30 °C once a minute and logs
 * its output pins; the JSON-lines device sends temperature and humidity and has a relay.
 */
export async function runSimBoardCommand(
  opts: SimBoardCommandOptions,
  logger: Logger,
): Promise<{ stop(): Promise<void> }> {
  if (opts.firmata === undefined && opts.serial === undefined)
    throw new EdgehubError('USAGE', 'name a board: --firmata PATH and/or --serial PATH');
  const clock = new SystemClock();
  const random = seededRandom(1);
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const s of stops.splice(0).reverse()) await s();
  };
  const plug = async (path: string, baud: number): Promise<SerialPort> => {
    const pty = new PtyPair({ hostLink: path, deviceLink: `${path}.sim` });
    await pty.start();
    stops.push(() => pty.stop());
    const port = await openSimPort(pty.devicePath, baud);
    stops.push(() => closeSimPort(port));
    return port;
  };
  try {
    if (opts.firmata !== undefined) {
      const board = new FirmataBoardSim({ clock }, { firmwareName: 'edgehub-sim-uno' });
      const celsius = swingSignal(random);
      board.setAnalog('A0', (now) => (lm35Volts(celsius(now)) / 5) * 1023);
      board.onPinChange((p) => {
        if (p.mode === PIN_MODE.OUTPUT || p.mode === PIN_MODE.PWM)
          logger.info(`uno pin ${p.pin} = ${p.value}`, { mode: p.mode === PIN_MODE.PWM ? 'pwm' : 'output' });
      });
      board.attach(await plug(opts.firmata, 57600));
      stops.push(() => Promise.resolve(board.detach()));
      logger.info('simulated Uno (StandardFirmata) ready', { path: opts.firmata, a0: 'LM35', baud: 57600 });
    }
    if (opts.serial !== undefined) {
      const device = new JsonLineDeviceSim(
        { clock },
        {
          sensors: { temperature: swingSignal(random, { phaseMs: 15_000 }), humidity: 60 },
          intervalMs: opts.intervalMs ?? 2000,
          actuators: ['relay'],
        },
      );
      device.attach(await plug(opts.serial, 9600));
      device.start();
      stops.push(() => Promise.resolve(device.stop()));
      logger.info('simulated JSON-lines device ready', { path: opts.serial, baud: 9600, actuators: 'relay' });
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { stop };
}
