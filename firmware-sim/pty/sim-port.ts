import type { SerialPort } from 'serialport';
import { EdgehubError, loadSerialPorts } from '../../kernel/index.js';

/**
 * Opens a simulator's end of a pty (or a real serial port) with serialport; the stream goes to a
 * simulator's `attach()`. Closing is `port.close()`.
 */
export async function openSimPort(path: string, baudRate = 57600): Promise<SerialPort> {
  const { createSerialPort } = await loadSerialPorts();
  return new Promise((resolve, reject) => {
    // Notices the pty hanging up instead of spinning on 0-byte reads, as the hub's ports do.
    const port = createSerialPort(path, baudRate);
    port.open((err) => {
      if (err)
        reject(
          new EdgehubError('DEVICE_PORT_OPEN_FAILED', `cannot open ${path}: ${err.message}`, { cause: err }),
        );
      else resolve(port);
    });
  });
}

/** Closes a port opened by {@link openSimPort}; resolves when closed, also if it is gone already. */
export function closeSimPort(port: SerialPort): Promise<void> {
  return new Promise((resolve) => {
    if (!port.isOpen) resolve();
    else port.close(() => resolve());
  });
}
