import { Duplex } from 'node:stream';
import type { PortFactory, PortHandle } from '../../devices/index.js';

/**
 * Two connected in-memory byte streams, like the two ends of a serial cable: what one end writes,
 * the other end reads. `unplug()` closes both ends the way a pulled USB cable does.
 */
export class MemoryPortPair {
  /** The hub's end: give it to an adapter. */
  readonly host: Duplex;
  /** The device's end: give it to a simulator. */
  readonly device: Duplex;
  private unplugged = false;

  constructor() {
    const ends: { host?: Duplex; device?: Duplex } = {};
    const end = (peer: () => Duplex | undefined): Duplex =>
      new Duplex({
        read() {},
        write(chunk: Buffer, _encoding, callback) {
          const other = peer();
          if (other && !other.destroyed) other.push(chunk);
          callback();
        },
      });
    this.host = ends.host = end(() => ends.device);
    this.device = ends.device = end(() => ends.host);
  }

  /** Closes both ends; each emits `close`, as a serial port does when its device disappears. */
  unplug(): void {
    if (this.unplugged) return;
    this.unplugged = true;
    this.host.destroy();
    this.device.destroy();
  }

  get isUnplugged(): boolean {
    return this.unplugged;
  }

  /** The host end as an open {@link PortHandle}. */
  hostHandle(): PortHandle {
    return {
      stream: this.host,
      close: () => {
        this.unplug();
        return Promise.resolve();
      },
    };
  }
}

/**
 * A {@link PortFactory} over in-memory pairs: `plug(path)` connects a new pair at a path (the device
 * end is returned for a simulator), `unplug(path)` pulls it; opening a path with nothing plugged in
 * fails as a missing serial device does (ENOENT).
 */
export class MemoryPorts {
  private readonly pairs = new Map<string, MemoryPortPair>();
  private readonly failures = new Map<string, Error>();
  /** Paths opened so far, in order; for tests that count reopen attempts. */
  readonly opened: string[] = [];

  readonly factory: PortFactory = ({ path }) => {
    const failure = this.failures.get(path);
    if (failure) return Promise.reject(failure);
    const pair = this.pairs.get(path);
    if (!pair || pair.isUnplugged)
      return Promise.reject(
        Object.assign(new Error(`No such file or directory, cannot open ${path}`), {
          code: 'ENOENT',
        }),
      );
    this.opened.push(path);
    return Promise.resolve(pair.hostHandle());
  };

  /** Connects a fresh pair at `path` and returns it; the simulator takes `pair.device`. */
  plug(path: string): MemoryPortPair {
    this.pairs.get(path)?.unplug();
    const pair = new MemoryPortPair();
    this.pairs.set(path, pair);
    return pair;
  }

  unplug(path: string): void {
    this.pairs.get(path)?.unplug();
    this.pairs.delete(path);
  }

  /** Makes every open of `path` fail with `err` (e.g. EACCES) until cleared with `undefined`. */
  failWith(path: string, err: Error | undefined): void {
    if (err) this.failures.set(path, err);
    else this.failures.delete(path);
  }
}

/** Lets stream events run: what one end of an in-memory pair writes, the other reads within one turn. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
