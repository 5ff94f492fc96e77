import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { closeSimPort, openSimPort, PtyPair } from '../firmware-sim/index.js';
import type { EdgehubError } from '../kernel/index.js';
import { requireSocat } from './support/socat.js';
import { TempDirs } from './support/temp.js';

const temp = new TempDirs();
afterEach(() => temp.cleanup());

requireSocat();

describe('PtyPair', () => {
  it('makes two linked ptys that serialport opens, and removes them on stop', async () => {
    const dir = temp.make('edgehub-pty-');
    const pty = new PtyPair({ hostLink: join(dir, 'host'), deviceLink: join(dir, 'device') });
    await pty.start();
    expect(existsSync(pty.hostPath) && existsSync(pty.devicePath)).toBe(true);
    const host = await openSimPort(pty.hostPath);
    const device = await openSimPort(pty.devicePath);
    const got = new Promise<string>((resolve) =>
      host.once('data', (chunk: Buffer) => resolve(chunk.toString())),
    );
    device.write('ping\n');
    expect(await got).toBe('ping\n');
    const hungUp = new Promise<void>((resolve) => host.once('close', () => resolve()));
    await pty.stop();
    await hungUp; // the host end sees the device go away, as with a pulled USB cable
    expect(existsSync(pty.hostPath) || existsSync(pty.devicePath)).toBe(false);
    await pty.stop();
    await closeSimPort(device);
  });

  it('says what is wrong when socat cannot be run', async () => {
    const dir = temp.make('edgehub-pty-');
    const pty = new PtyPair({
      hostLink: join(dir, 'a'),
      deviceLink: join(dir, 'b'),
      socat: join(dir, 'no-socat'),
    });
    const error = await pty.start().then(
      () => undefined,
      (err: unknown) => err as EdgehubError,
    );
    expect(error?.code).toBe('PTY_UNAVAILABLE');
    expect(error?.message).toContain('apt-get install socat');
    expect(pty.isRunning).toBe(false);
  });
});
