import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { EdgehubError, errorMessage } from '../../kernel/index.js';

export interface PtyPairOptions {
  /** Symlink to the first pty, e.g. the hub's end: `/tmp/edgehub-uno`. */
  hostLink: string;
  /** Symlink to the second pty, e.g. the simulator's end: `/tmp/edgehub-uno.sim`. */
  deviceLink: string;
  /** socat binary; default `socat` on the PATH. */
  socat?: string;
}

/** socat logs this (at `-d -d`) once both ptys exist and bytes flow between them. */
const READY = /starting data transfer loop/;

/**
 * A linked pair of pseudo-terminals made by Debian's socat
 * (`socat pty,raw,echo=0,link=A pty,raw,echo=0,link=B`): what one end writes, the other reads, and
 * serialport opens either end like a USB serial device. Stopping socat removes both links, as
 * unplugging removes a USB device's node; starting a new pair on the same links plugs it back in.
 */
export class PtyPair {
  private child: ChildProcess | undefined;
  private exited: Promise<void> | undefined;

  constructor(private readonly options: PtyPairOptions) {}

  get hostPath(): string {
    return this.options.hostLink;
  }

  get devicePath(): string {
    return this.options.deviceLink;
  }

  get isRunning(): boolean {
    return this.child !== undefined;
  }

  /** Starts socat; resolves once both links exist and the pair carries bytes. */
  start(): Promise<void> {
    if (this.child) return Promise.resolve();
    const { hostLink, deviceLink, socat = 'socat' } = this.options;
    const child = spawn(
      socat,
      ['-d', '-d', `pty,raw,echo=0,link=${hostLink}`, `pty,raw,echo=0,link=${deviceLink}`],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    this.child = child;
    // A late spawn error after start settled must not go unhandled.
    child.on('error', () => undefined);
    // A spawn failure (no socat) emits `error` and never `exit`.
    this.exited = new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.once('error', () => resolve());
    });
    void this.exited.then(() => {
      if (this.child === child) this.child = undefined;
    });
    return new Promise((resolve, reject) => {
      let log = '';
      const fail = (why: string) => {
        child.stderr?.removeAllListeners('data');
        reject(
          new EdgehubError(
            'PTY_UNAVAILABLE',
            `cannot make a pty pair at ${hostLink} and ${deviceLink}: ${why}`,
          ),
        );
      };
      child.once('error', (err) =>
        fail(
          (err as NodeJS.ErrnoException).code === 'ENOENT'
            ? `${socat} is not installed (Debian: apt-get install socat)`
            : errorMessage(err),
        ),
      );
      child.once('exit', (code) =>
        fail(`socat exited with ${code ?? 'a signal'}: ${log.trim().slice(-300)}`),
      );
      child.stderr?.on('data', (chunk: Buffer) => {
        log += chunk.toString('utf8');
        if (!READY.test(log)) return;
        child.stderr?.removeAllListeners('data');
        // socat creates the links before it starts the transfer loop.
        if (existsSync(hostLink) && existsSync(deviceLink)) resolve();
        else fail('socat did not create the links');
        // Keep draining stderr so socat never blocks on a full pipe.
        child.stderr?.resume();
      });
    });
  }

  /** Stops socat (both ptys close, both links go away); resolves once it has exited. Idempotent. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill('SIGTERM');
    await this.exited;
  }
}
