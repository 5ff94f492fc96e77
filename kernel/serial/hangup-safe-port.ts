import { read } from 'node:fs';
import { promisify } from 'node:util';
import { SerialPort } from 'serialport';

const readAsync = promisify(read);

/** The parts of serialport's unix port binding (Linux, macOS) that reading needs. */
interface UnixPortBinding {
  readonly fd: number | null;
  readonly isOpen: boolean;
  readonly poller: { once(event: 'readable', fn: (err?: Error | null) => void): void };
}

function isUnixPort(port: unknown): port is UnixPortBinding {
  return typeof port === 'object' && port !== null && 'fd' in port && 'poller' in port;
}

/** In-flight reads fail with this when the port is closed on purpose; serialport then stays quiet. */
function canceled(): Error {
  return Object.assign(new Error('Port is not open'), { canceled: true });
}

/** Error codes of a device that went away. */
const GONE = new Set(['EBADF', 'ENXIO', 'EIO', 'ENODEV', 'UNKNOWN']);

/**
 * Reads like serialport's unix read, with one difference: a read of 0 bytes means the tty hung up
 * (the USB device was unplugged, the other end of a pty closed) and is reported as a disconnect.
 * serialport 13 retries a 0-byte read at once, forever: the process spins at 100 % CPU and never
 * learns that the device is gone, so it is never reopened.
 */
async function readUntilHangup(
  port: UnixPortBinding,
  buffer: Buffer,
  offset: number,
  length: number,
): Promise<{ buffer: Buffer; bytesRead: number }> {
  for (;;) {
    const fd = port.fd;
    if (!port.isOpen || fd === null) throw canceled();
    try {
      const { bytesRead } = await readAsync(fd, buffer, offset, length, null);
      if (bytesRead > 0) return { buffer, bytesRead };
      throw Object.assign(new Error('the device hung up'), { disconnect: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EAGAIN' && code !== 'EWOULDBLOCK' && code !== 'EINTR') {
        if (code !== undefined && GONE.has(code)) Object.assign(err as object, { disconnect: true });
        throw err;
      }
      if (!port.isOpen) throw canceled();
      await new Promise<void>((resolve, reject) =>
        port.poller.once('readable', (e) => (e ? reject(e) : resolve())),
      );
    }
  }
}

/** The part of a serialport binding that opens ports. */
interface OpeningBinding {
  open(options: object): Promise<object>;
}

// The detected binding is a union of the platform bindings, whose open() options differ; opening
// only passes serialport's own options through, so the common shape is enough here.
const detected = SerialPort.binding as unknown as OpeningBinding;

/** serialport's own binding for this platform, with {@link readUntilHangup} on unix ports. */
const hangupSafeBinding = {
  ...SerialPort.binding,
  async open(options: object): Promise<object> {
    const port = await detected.open(options);
    if (isUnixPort(port))
      Object.assign(port, {
        read: (buffer: Buffer, offset: number, length: number) =>
          readUntilHangup(port, buffer, offset, length),
      });
    return port;
  },
};

/** A closed serial port on `path` that notices a hang-up; `open()` it. */
export function createSerialPort(path: string, baudRate: number): SerialPort {
  // SerialPort's options type hides `binding`, but it passes one given here on to its stream.
  const options = { path, baudRate, autoOpen: false, binding: hangupSafeBinding };
  return new SerialPort(options);
}
