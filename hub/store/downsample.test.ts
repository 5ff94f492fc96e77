import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryLogger, VirtualClock } from '../../kernel/index.js';
import { openEventReader } from './event-reader.js';
import { EventStore } from './event-store.js';
import { migrate } from '../../kernel/index.js';
import { createSchema, EVENTS_DB_SCHEMA, eventsDbPath } from './schema.js';

const T0 = Date.UTC(2026, 0, 1, 12);

let dir: string;
let store: EventStore;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'edgehub-downsample-'));
  store = openStore(T0);
});

/** The store on the test's data folder, its clock at `now`, keeping events for a year. */
function openStore(now: number): EventStore {
  const opened = new EventStore({
    file: eventsDbPath(dir),
    clock: new VirtualClock(now),
    logger: new MemoryLogger(),
    options: {
      flushIntervalMs: 100,
      batchSize: 500,
      retention: { maxAgeMs: 365 * 86_400_000, maxSizeBytes: 1e12, checkEveryMs: 3_600_000 },
    },
  });
  opened.start();
  return opened;
}

afterEach(async () => {
  await store.stop();
  rmSync(dir, { recursive: true, force: true });
});

function publish(topic: string, payload: string | Buffer, at: number): void {
  store.append({
    topic,
    payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
    qos: 0,
    retain: false,
    clientId: 'c',
    receivedAt: at,
  });
}

describe('paging newest first', () => {
  it('continues before the last event, ties in time broken by id', () => {
    for (let i = 0; i < 5; i++) publish('sensors/d1/t', String(i), T0 + Math.floor(i / 2));
    const first = store.query({ device: 'd1', limit: 2 });
    expect(first.map((e) => e.payload)).toEqual([4, 3]);
    const last = first.at(-1);
    const second = store.query({
      device: 'd1',
      limit: 2,
      before: { time: last?.time ?? 0, id: last?.id ?? 0 },
    });
    expect(second.map((e) => e.payload)).toEqual([2, 1]);
  });
});

describe('downsample', () => {
  it('gives min, max, mean and count per bucket of readings as numbers (true as 1), empty buckets left out', () => {
    publish('sensors/d1/temperature', '{"value": 20}', T0);
    publish('sensors/d1/temperature', '22.5', T0 + 500);
    publish('sensors/d1/temperature', '"warm"', T0 + 600);
    publish('sensors/d1/temperature', '{"value": true}', T0 + 700);
    publish('sensors/d1/temperature', Buffer.from([0xff, 0x00]), T0 + 800);
    publish('sensors/d1/temperature', '{"value": 30}', T0 + 3_500);
    publish('sensors/d1/humidity', '{"value": 99}', T0 + 100);
    publish('sensors/d2/temperature', '{"value": 99}', T0 + 100);
    const points = store.downsample({
      device: 'd1',
      metric: 'temperature',
      since: T0,
      until: T0 + 3_999,
      bucketMs: 1_000,
    });
    expect(points).toEqual([
      { t: T0, min: 1, max: 22.5, avg: 14.5, n: 3 },
      { t: T0 + 3_000, min: 30, max: 30, avg: 30, n: 1 },
    ]);
  });

  it('answers buckets of 10 minutes and more from the per-minute rollups the writer keeps, and retention prunes them', async () => {
    // 20 minutes at one reading per 10 s, values rising, beside another metric of the same device.
    const values: number[] = [];
    for (let i = 0; i < 120; i++) {
      const value = 10 + ((i * 7) % 23) / 2;
      values.push(value);
      publish('sensors/d1/temperature', JSON.stringify({ value }), T0 + i * 10_000);
      publish('sensors/d1/humidity', `${i}`, T0 + i * 10_000);
    }
    publish('actuators/d1/temperature', '{"value": 1000}', T0 + 5_000);
    store.flush();
    const tenMinutes = store.downsample({
      device: 'd1',
      metric: 'temperature',
      since: T0,
      until: T0 + 1_200_000 - 1,
      bucketMs: 600_000,
    });
    const half = (from: number) => values.slice(from, from + 60);
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    expect(tenMinutes).toEqual(
      [0, 60].map((from, b) => ({
        t: T0 + b * 600_000,
        min: Math.min(...half(from)),
        max: Math.max(...half(from)),
        avg: expect.closeTo(sum(half(from)) / 60, 9) as number,
        n: 60,
      })),
    );

    // A year on, age retention deletes those events, and their minutes go with them.
    await store.stop();
    const later = T0 + 366 * 86_400_000;
    store = openStore(later);
    publish('sensors/d1/temperature', '{"value": 5}', later);
    store.flush();
    expect(store.enforceRetention().deletedByAge).toBe(241);
    expect(
      store.downsample({
        device: 'd1',
        metric: 'temperature',
        since: T0,
        until: T0 + 1_200_000,
        bucketMs: 600_000,
      }),
    ).toEqual([]);
    expect(
      store
        .downsample({
          device: 'd1',
          metric: 'temperature',
          since: later - 3_600_000,
          until: later,
          bucketMs: 600_000,
        })
        .map((b) => b.n),
    ).toEqual([1]);
  });

  it('answers 30 days at one reading per 10 s (~260k rows) in 1,000 buckets, from the rollups the upgrade to schema 4 made', () => {
    // A data folder of schema version 3 (no `value`, no rollups), filled, then upgraded.
    const file = join(dir, 'month.db');
    const db = new BetterSqlite(file);
    migrate(db, { ...EVENTS_DB_SCHEMA, migrations: EVENTS_DB_SCHEMA.migrations.slice(0, 3) });
    const rows = 30 * 8_640;
    const insert = db.prepare(
      "INSERT INTO events (time, client_id, topic, device_id, metric, payload, qos, retain) VALUES (?, 'c', ?, ?, ?, ?, 0, 0)",
    );
    db.transaction(() => {
      for (let i = 0; i < rows; i++) {
        const at = T0 + i * 10_000;
        insert.run(
          at,
          'sensors/gh-1/temperature',
          'gh-1',
          'temperature',
          `{"value":${(20 + (i % 100) / 10).toFixed(1)}}`,
        );
        // Another metric of the same device, as a real sensor node has.
        if (i % 2 === 0) insert.run(at, 'sensors/gh-1/humidity', 'gh-1', 'humidity', `{"value":${i % 100}}`);
      }
    })();
    createSchema(db);
    db.close();

    const reader = openEventReader(file);
    try {
      const until = T0 + rows * 10_000 - 1;
      const points = reader.downsample({
        device: 'gh-1',
        metric: 'temperature',
        since: T0,
        until,
        bucketMs: Math.ceil((until - T0 + 1) / 1000),
      });
      // How fast is the dashboard bench's chart query (`npm run bench -- dashboard`); here, that
      // every reading of the metric lands in exactly one of the 1,000 buckets and no humidity does.
      expect(points).toHaveLength(1000);
      expect(points.reduce((n, p) => n + p.n, 0)).toBe(rows);
      expect(Math.min(...points.map((p) => p.min))).toBe(20);
      expect(Math.max(...points.map((p) => p.max))).toBe(29.9);
    } finally {
      reader.close();
    }
  });
});
