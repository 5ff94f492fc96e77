import type { Duplex } from 'node:stream';
import { closeSimPort, openSimPort, PtyPair, type PtyPairOptions } from '../../firmware-sim/index.js';
import type { Cleanups } from './cleanups.js';

/**
 * Plugs a simulated board in the way a USB board appears: a new pty pair on `links`, its device end
 * opened through serialport (`baudRate`, default openSimPort's) and attached to `sim`. `cleanups`
 * closes both; `pty.stop()` before that is a pulled cable.
 */
export async function plugSim(
  cleanups: Cleanups,
  links: PtyPairOptions,
  sim: { attach(stream: Duplex): void },
  baudRate?: number,
): Promise<PtyPair> {
  const pty = new PtyPair(links);
  cleanups.add(() => pty.stop());
  await pty.start();
  const port = await openSimPort(pty.devicePath, baudRate);
  cleanups.add(() => closeSimPort(port));
  sim.attach(port);
  return pty;
}
