import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MqttMessage } from '../../kernel/index.js';
import { MemoryLogger, topicMatches, VirtualClock } from '../../kernel/index.js';
import type { EventStoreDeps, OutboxRouting, WriterControl } from './event-store.js';
import { EventStore } from './event-store.js';
import { eventsDbPath } from './schema.js';

const DAY_MS = 86_400_000;

let dir: string;
let clock: VirtualClock;
let stores: EventStore[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'edgehub-outbox-'));
  clock = new VirtualClock(Date.UTC(2026, 0, 1));
  stores = [];
});

afterEach(async () => {
  for (const s of stores) await s.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Connector `up` takes `sensors/#` keyed by device; connector `log` takes everything keyed by topic. */
function routing(committed: number[] = []): OutboxRouting {
  return {
    routes: [
      { connector: 'up', route: 0, key: 'device' },
      { connector: 'log', route: 0, key: 'topic' },
    ],
    match: (m) => (topicMatches('sensors/#', m.topic) ? [0, 1] : [1]),
    committed: (counts) => counts.forEach((n, i) => (committed[i] = (committed[i] ?? 0) + n)),
  };
}

function makeStore(outbox: OutboxRouting, onOpen?: (w: WriterControl) => void): EventStore {
  const deps: EventStoreDeps = {
    file: eventsDbPath(dir),
    clock,
    logger: new MemoryLogger(),
    outbox,
    options: {
      flushIntervalMs: 100,
      batchSize: 100,
      retention: { maxAgeMs: 30 * DAY_MS, maxSizeBytes: 1024 ** 3, checkEveryMs: 600_000 },
    },
    ...(onOpen && { testing: { onOpen } }),
  };
  const store = new EventStore(deps);
  stores.push(store);
  store.start();
  return store;
}

function reading(device: string, value: number): MqttMessage {
  return {
    topic: `sensors/${device}/temperature`,
    payload: Buffer.from(JSON.stringify({ value })),
    qos: 1,
    retain: false,
    clientId: device,
    receivedAt: clock.now(),
  };
}

describe('the outbox', () => {
  it('records each matched event for each of its connectors in the transaction that stores it', async () => {
    const committed: number[] = [];
    const store = makeStore(routing(committed));
    store.append(reading('gh-1', 20));
    store.append(reading('gh-2', 21));
    store.append({ ...reading('x', 0), topic: 'other/topic' });
    expect(await store.stored()).toBe(true);

    const up = store.outbox.read('up', 0, 10);
    expect(up.map((r) => [r.key, r.event?.topic, r.event?.payload])).toEqual([
      ['gh-1', 'sensors/gh-1/temperature', '{"value":20}'],
      ['gh-2', 'sensors/gh-2/temperature', '{"value":21}'],
    ]);
    expect(store.outbox.read('log', 0, 10).map((r) => r.key)).toEqual([
      'sensors/gh-1/temperature',
      'sensors/gh-2/temperature',
      'other/topic',
    ]);
    expect(committed).toEqual([2, 3]);
    // Reading again from the last id gives nothing new; the rows stay until settled.
    expect(store.outbox.read('up', up[1]?.id ?? 0, 10)).toEqual([]);
    expect(store.outbox.backlog('up')).toEqual({ count: 2, oldestAt: clock.now() });
  });

  it('says an event is stored while newer ones are still arriving', async () => {
    const store = makeStore(routing());
    store.append(reading('gh-1', 1));
    const stored = store.stored();
    // A busy broker keeps appending; what was appended before the call is what counts.
    store.append(reading('gh-1', 2));
    expect(await stored).toBe(true);
    expect(store.outbox.read('up', 0, 10)[0]?.event?.payload).toBe('{"value":1}');
  });

  it('removes only what was settled, and buries what the remote refused with its reason', async () => {
    const store = makeStore(routing());
    for (let i = 0; i < 5; i++) store.append(reading('gh-1', i));
    await store.stored();
    const rows = store.outbox.read('up', 0, 3);
    await store.outbox.settle('up', rows[2]?.id ?? 0, [{ id: rows[1]?.id ?? 0, reason: 'too large' }]);

    expect(store.outbox.read('up', 0, 10).map((r) => r.event?.payload)).toEqual([
      '{"value":3}',
      '{"value":4}',
    ]);
    expect(store.outbox.dead('up').map((d) => [d.eventId, d.reason])).toEqual([
      [rows[1]?.event?.id, 'too large'],
    ]);
    // The other connector's rows are untouched.
    expect(store.outbox.backlog('log').count).toBe(5);

    await store.outbox.revive('up');
    expect(store.outbox.deadCount('up')).toBe(0);
    expect(store.outbox.read('up', 0, 10).map((r) => r.event?.payload)).toEqual([
      '{"value":3}',
      '{"value":4}',
      '{"value":1}',
    ]);
  });

  it('drops the oldest rows beyond a connector bound in count and in age, and says how many', async () => {
    const store = makeStore(routing());
    for (let i = 0; i < 4; i++) store.append(reading('gh-1', i));
    await store.stored();
    clock.advance(60_000);
    for (let i = 4; i < 10; i++) store.append(reading('gh-1', i));
    await store.stored();

    const dropped = await store.outbox.trim([
      { connector: 'up', maxEvents: 0, maxAgeMs: 30_000 },
      { connector: 'log', maxEvents: 3, maxAgeMs: 0 },
    ]);
    expect(dropped).toEqual({ up: 4, log: 7 });
    expect(store.outbox.read('up', 0, 10)[0]?.event?.payload).toBe('{"value":4}');
    expect(store.outbox.read('log', 0, 10).map((r) => r.event?.payload)).toEqual([
      '{"value":7}',
      '{"value":8}',
      '{"value":9}',
    ]);

    // Rows in flight to the remote (through `keepThrough`) stay, however old.
    clock.advance(60_000);
    const inFlight = store.outbox.read('up', 0, 2).at(-1)?.id ?? 0;
    expect(
      await store.outbox.trim([{ connector: 'up', maxEvents: 0, maxAgeMs: 30_000, keepThrough: inFlight }]),
    ).toEqual({ up: 4 });
    expect(store.outbox.read('up', 0, 10).map((r) => r.event?.payload)).toEqual([
      '{"value":4}',
      '{"value":5}',
    ]);
  });

  it('writes neither the event nor its outbox row while writes fail, and both once they work', async () => {
    let writer: WriterControl | undefined;
    const store = makeStore(routing(), (w) => (writer = w));
    writer?.pragma('query_only = 1');
    store.append(reading('gh-1', 1));
    expect(await store.stored()).toBe(false);
    expect(store.outbox.backlog('up').count).toBe(0);

    writer?.pragma('query_only = 0');
    clock.advance(100);
    expect(await store.stored()).toBe(true);
    expect(store.outbox.read('up', 0, 10).map((r) => r.event?.payload)).toEqual(['{"value":1}']);
  });

  it('keeps the rows and their order across a restart, after ids that were already settled', async () => {
    let store = makeStore(routing());
    for (let i = 0; i < 3; i++) store.append(reading('gh-1', i));
    await store.stored();
    const rows = store.outbox.read('up', 0, 10);
    await store.outbox.settle('up', rows[2]?.id ?? 0);
    store.append(reading('gh-1', 3));
    await store.stop();

    store = makeStore(routing());
    store.append(reading('gh-1', 4));
    await store.stored();
    const after = store.outbox.read('up', 0, 10);
    expect(after.map((r) => r.event?.payload)).toEqual(['{"value":3}', '{"value":4}']);
    // Ids keep rising past settled rows, so an id is never handed out twice.
    expect(after[0]?.id).toBeGreaterThan(rows[2]?.id ?? 0);
  });

  it('takes forwarded messages and replayed events behind what waits', async () => {
    const store = makeStore(routing());
    store.append(reading('gh-1', 1));
    await store.stored();
    const [first] = store.outbox.read('up', 0, 1);
    await store.outbox.add([
      {
        connector: 'up',
        route: -1,
        time: clock.now(),
        key: 'k',
        message: Buffer.from('hello'),
        destination: 'd',
      },
    ]);
    await store.outbox.replay('up', [[0, first?.event?.id ?? 0, 'gh-1']]);
    const rows = store.outbox.read('up', 0, 10);
    expect(
      rows.map((r) => [
        r.route,
        r.key,
        r.message?.toString() ?? null,
        r.destination,
        r.event?.payload ?? null,
      ]),
    ).toEqual([
      [0, 'gh-1', null, null, '{"value":1}'],
      [-1, 'k', 'hello', 'd', null],
      [0, 'gh-1', null, null, '{"value":1}'],
    ]);
  });
});
