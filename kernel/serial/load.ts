import type * as SerialPorts from './hangup-safe-port.js';

/**
 * serialport and its native binding, with the hang-up fix both ends of a serial line need (the
 * device adapters and the simulated boards), loaded on the first port opened: a process without
 * serial ports never pays the memory (about 14 MB) or the start-up time for them.
 */
export async function loadSerialPorts(): Promise<typeof SerialPorts> {
  return import('./hangup-safe-port.js');
}
