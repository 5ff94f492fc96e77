import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EdgehubError, MemoryLogger, VirtualClock, type MqttMessage } from '../../kernel/index.js';
import { EventStore, eventsDbPath } from '../store/index.js';
import { connectorSchema } from './config-schema.js';
import { destinationOf } from './destinations.js';
import { OutFormatter } from './format.js';
import { prepareBatch } from './prepared-batch.js';
import { ConnectorsThread } from './connectors-thread.js';

const config = connectorSchema.parse({
  id: 'up',
  type: 'kafka',
  brokers: ['127.0.0.1:9092'],
  batch_size: 50,
  out: [{ topics: ['sensors/#'], topic: 'site.{device}' }],
});
let units = new Map([['gh-1', new Map([['temperature', '°C']])]]);

let dir: string;
let clock: VirtualClock;
let logger: MemoryLogger;
let store: EventStore;
let threads: ConnectorsThread[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'edgehub-connectors-thread-'));
  clock = new VirtualClock(Date.UTC(2026, 0, 1));
  logger = new MemoryLogger();
  threads = [];
  units = new Map([['gh-1', new Map([['temperature', '°C']])]]);
  store = new EventStore({
    file: eventsDbPath(dir),
    clock,
    logger,
    outbox: {
      routes: [{ connector: 'up', route: 0, key: 'device' }],
      match: (m) => (m.topic.startsWith('sensors/') ? [0] : []),
      committed: () => undefined,
    },
    options: {
      flushIntervalMs: 100,
      batchSize: 1000,
      retention: { maxAgeMs: 86_400_000, maxSizeBytes: 1024 ** 3, checkEveryMs: 600_000 },
    },
  });
  store.start();
});

afterEach(async () => {
  for (const t of threads) await t.stop();
  await store.stop();
  rmSync(dir, { recursive: true, force: true });
});

function thread(file = store.file): ConnectorsThread {
  const t = new ConnectorsThread({ file, hub: 'site', configs: [config], units: () => units, clock, logger });
  threads.push(t);
  return t;
}

function reading(device: string, payload: string | Buffer): MqttMessage {
  return {
    topic: `sensors/${device}/temperature`,
    payload: Buffer.from(payload),
    qos: 1,
    retain: false,
    clientId: device,
    receivedAt: clock.now(),
  };
}

describe("the connectors' thread", () => {
  it('prepares the batch the main thread would: same rows, addresses, units and bytes', async () => {
    store.append(reading('gh-1', '{"value":21.5}'));
    store.append(reading('gh-2', 'not json'));
    store.append(reading('gh-1', Buffer.from([0xff, 0x00, 0x7f]).toString('latin1')));
    for (let i = 0; i < 60; i++) store.append(reading(`d${i % 3}`, JSON.stringify({ value: i })));
    expect(await store.stored()).toBe(true);
    const formatter = new OutFormatter(
      {
        hub: 'site',
        unitOf: (d, m) => units.get(d)?.get(m) ?? null,
        destination: (route, fields) => destinationOf('kafka', route, fields),
      },
      config.out,
    );
    const here = prepareBatch(store.outbox, formatter, 'up', 0, config.batch_size);
    const t = thread();

    const there = await t.prepare(config, 0);

    expect(t.running).toBe(true);
    expect(there.rowIds).toHaveLength(50);
    expect(there).toEqual(here);
    expect(there.messages[0]?.route).toBe(config.out[0]);
    expect(JSON.parse(there.messages[0]?.payload.toString() ?? '')).toMatchObject({
      unit: '°C',
      value: 21.5,
    });
    // The next batch, after the first: the rest, in order.
    const rest = await t.prepare(config, there.last);
    expect(rest.rowIds).toHaveLength(13);
    expect(rest.rowIds[0]).toBeGreaterThan(there.last);
  });

  it('names the units of the definitions in force, also after they change', async () => {
    store.append(reading('gh-1', '{"value":1}'));
    expect(await store.stored()).toBe(true);
    const t = thread();
    const first = await t.prepare(config, 0);
    expect(JSON.parse(first.messages[0]?.payload.toString() ?? '')).toMatchObject({ unit: '°C' });

    // Definitions reloaded: a new units table, sent to the running thread with the next batch.
    units = new Map([['gh-1', new Map([['temperature', 'K']])]]);
    store.append(reading('gh-1', '{"value":2}'));
    expect(await store.stored()).toBe(true);
    const second = await t.prepare(config, first.last);
    expect(JSON.parse(second.messages[0]?.payload.toString() ?? '')).toMatchObject({ unit: 'K', value: 2 });
  });

  it('ends after a minute without a batch and starts again on the next', async () => {
    store.append(reading('gh-1', '{"value":1}'));
    expect(await store.stored()).toBe(true);
    const t = thread();
    await t.prepare(config, 0);
    clock.advance(59_000);
    expect(t.running).toBe(true);
    clock.advance(1_000);
    await new Promise((resolve) => setImmediate(resolve));
    expect(t.running).toBe(false);

    const again = await t.prepare(config, 0);
    expect(again.messages).toHaveLength(1);
    expect(t.running).toBe(true);
  });

  it('says so and is not used again when it cannot start', async () => {
    const t = thread(join(dir, 'missing.db'));
    const failed = await t.prepare(config, 0).catch((err: unknown) => err);
    expect(failed).toBeInstanceOf(EdgehubError);
    expect((failed as EdgehubError).code).toBe('CONNECTOR_THREAD');
    expect(t.usable).toBe(false);
    expect(logger.entries.some((e) => e.level === 'warn' && /connectors' thread ended/.test(e.msg))).toBe(
      true,
    );
  });
});
