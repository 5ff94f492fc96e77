import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventsDbPath, openEventReader } from '../hub/index.js';
import { ClientPool } from './support/mqtt-client.js';
import { HubLog, signalAndWait, startHubProcess, until } from './support/hub-process.js';
import { TempDirs, writeFiles } from './support/temp.js';

const temp = new TempDirs();
const pool = new ClientPool();
/** A small tmpfs: a data directory that really fills up. */
let disk: string | undefined;

beforeAll(() => {
  const dir = temp.make('edgehub-small-disk-');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=6m', 'tmpfs', dir], { stdio: 'ignore' });
  } catch (err) {
    // A test that cannot run fails and says why; it never passes by skipping.
    throw new Error(
      `the full-disk test mounts a 6 MiB tmpfs, which needs root (run the tests as root, as .ci/run does): ${String(err)}`,
    );
  }
  disk = dir;
});

afterAll(async () => {
  await pool.closeAll();
  if (disk) execFileSync('umount', ['-l', disk], { stdio: 'ignore' });
  temp.cleanup();
});

/** Fills the file system holding `dir` until a write fails with ENOSPC; returns the filler file. */
function fill(dir: string): string {
  const filler = join(dir, 'filler');
  const fd = openSync(filler, 'w');
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
  return filler;
}

function reading(seq: number): string {
  // About 2 KB each, so the outage's messages cannot hide in space the database already has.
  return JSON.stringify({ value: 20, seq, pad: 'x'.repeat(2000) });
}

describe('a data directory that fills up while the hub runs', () => {
  it('logs it once, keeps routing and acknowledging, buffers up to the cap and stores again when space returns', async () => {
    const data = join(disk ?? '', 'data');
    mkdirSync(data);
    const config = temp.make('edgehub-small-disk-config-');
    writeFiles(config, {
      'edgehub.yaml': 'store:\n  max_buffered_events: 300\n  ack_timeout: 2s\n',
    });
    const { hub, url } = await startHubProcess(data, ['--config', join(config, 'edgehub.yaml')]);
    const log = new HubLog(hub);
    const listener: MqttClient = await pool.connect(url, { clientId: 'listener' });
    let routed = 0;
    listener.on('message', () => routed++);
    await listener.subscribeAsync('sensors/#', { qos: 1 });
    const sensor = await pool.connect(url, { clientId: 'gh-1' });
    const publish = (seq: number) =>
      sensor.publishAsync('sensors/gh-1/temperature', reading(seq), { qos: 1 });

    for (let seq = 0; seq < 20; seq++) await publish(seq);
    const filler = fill(disk ?? '');

    // Every publish is acknowledged (within the ack timeout) and routed, though nothing is stored.
    const started = Date.now();
    await sensor.publishAsync('devices/gh-1/availability', 'online', { qos: 1, retain: true });
    for (let seq = 20; seq < 520; seq++) await publish(seq);
    const outageMs = Date.now() - started;
    await until(() => routed === 520, 'every message routed', [[listener, 'message']]);
    await log.waitFor('STORE_WRITE_FAILED');
    expect(log.matching('cannot write events')).toHaveLength(1);
    // Logged when the buffer reached its cap; the line may reach us after the last message did.
    await log.waitFor('event buffer is full');
    // Held acknowledgements were let go when the writer failed, not each after the 2 s timeout.
    expect(outageMs).toBeLessThan(20_000);

    rmSync(filler);
    // The gap: the availability message and seq 20..219, the oldest of the outage.
    const recovered = await log.waitFor('event writes work again');
    expect(recovered).toContain('201 events were dropped');
    expect(log.matching('BROKER_STATE_WRITE_FAILED')).toHaveLength(1);
    await log.waitFor('broker state is saved again');
    for (let seq = 520; seq < 530; seq++) await publish(seq);
    await pool.closeAll();
    await signalAndWait(hub, 'SIGTERM');

    const reader = openEventReader(eventsDbPath(data));
    try {
      const seqs = reader
        .query({ topicFilter: 'sensors/#', order: 'asc', limit: 10_000 })
        .map((e) => (e.payload as { seq: number }).seq);
      // The first 20, the newest 300 of the outage (the oldest 200 are the gap), and what came after.
      const expected = [...range(0, 20), ...range(220, 520), ...range(520, 530)];
      expect(seqs).toEqual(expected);
    } finally {
      reader.close();
    }

    // The retained message that arrived during the outage was saved once space came back.
    const again = await startHubProcess(data);
    const checker = await pool.connect(again.url, { clientId: 'checker' });
    const retained = new Promise<string>((resolve) =>
      checker.once('message', (_t, p) => resolve(p.toString())),
    );
    await checker.subscribeAsync('devices/#');
    expect(await retained).toBe('online');
    await pool.closeAll();
    await signalAndWait(again.hub, 'SIGTERM');
  }, 120_000);
});

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}
