import type { Duplex } from 'node:stream';
import type { SerialPort } from 'serialport';
import { loadSerialPorts } from '../../kernel/index.js';
import { portOpenError } from './port-errors.js';

/** Where and how fast to open a port. */
export interface PortOpenOptions {
  path: string;
  /** Bits per second. */
  baudRate: number;
}

/**
 * An open byte stream to a device: a serial port, a pseudo-terminal, or one end of an in-memory pair.
 * `stream` emits `data`; `close` when the device goes away (unplugged, pty closed); `error` on I/O errors.
 */
export interface PortHandle {
  readonly stream: Duplex;
  /** Closes the port; resolves once it is closed. Safe to call after the device went away. */
  close(): Promise<void>;
}

/**
 * Opens a port; rejects with an EdgehubError (DEVICE_PORT_OPEN_FAILED) that names the path and the fix.
 * The transport seam of the serial and Firmata adapters: a real serial port on a Pi, a pty in an
 * integration test, an in-memory pair in a unit test.
 */
export type PortFactory = (options: PortOpenOptions) => Promise<PortHandle>;

/** Opens real serial ports (and pseudo-terminals) with serialport 13. */
export const openSerialPort: PortFactory = async (options) => {
  const { createSerialPort } = await loadSerialPorts();
  return new Promise((resolve, reject) => {
    const port = createSerialPort(options.path, options.baudRate);
    port.open((err) => {
      if (err) {
        reject(portOpenError(options.path, err));
        return;
      }
      resolve({ stream: port, close: () => closeSerialPort(port) });
    });
  });
};

function closeSerialPort(port: SerialPort): Promise<void> {
  return new Promise((resolve) => {
    if (!port.isOpen) {
      resolve();
      return;
    }
    // A close error means the descriptor is gone already (the device was unplugged): closed either way.
    port.close(() => resolve());
  });
}
