import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryLogger, VirtualClock } from '../../kernel/index.js';
import { openEventReader } from './event-reader.js';
import { EventStore } from './event-store.js';
import { createSchema, eventsDbPath } from './schema.js';

const T0 = Date.UTC(2026, 0, 1, 12);

let dir: string;
let store: EventStore;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'edgehub-downsample-'));
  store = new EventStore({
    file: eventsDbPath(dir),
    clock: new VirtualClock(T0),
    logger: new MemoryLogger(),
    options: {
      flushIntervalMs: 100,
      batchSize: 500,
      retention: { maxAgeMs: 365 * 86_400_000, maxSizeBytes: 1e12, checkEveryMs: 3_600_000 },
    },
  });
  store.start();
});

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

  it('answers 30 days at one reading per 10 s (~260k rows) in 1,000 buckets, from the (device_id, metric, time, value) index alone', () => {
    store.flush();
    const file = eventsDbPath(dir);
    const db = new BetterSqlite(file);
    createSchema(db);
    const rows = 30 * 8_640;
    const insert = db.prepare(
      "INSERT INTO events (time, client_id, topic, device_id, metric, payload, qos, retain, value) VALUES (?, 'c', ?, ?, ?, ?, 0, 0, ?)",
    );
    db.transaction(() => {
      for (let i = 0; i < rows; i++) {
        const at = T0 + i * 10_000;
        // As the writer stores them: the payload and its number.
        const value = (20 + (i % 100) / 10).toFixed(1);
        insert.run(
          at,
          'sensors/gh-1/temperature',
          'gh-1',
          'temperature',
          `{"value":${value}}`,
          Number(value),
        );
        // Another metric of the same device, as a real sensor node has.
        if (i % 2 === 0)
          insert.run(at, 'sensors/gh-1/humidity', 'gh-1', 'humidity', `{"value":${i % 100}}`, i % 100);
      }
    })();
    const plan = db
      .prepare(
        "EXPLAIN QUERY PLAN SELECT time, value FROM events WHERE device_id = 'gh-1' AND metric = 'temperature' AND time >= 0 AND time <= 1 AND value IS NOT NULL",
      )
      .all() as { detail: string }[];
    db.close();
    expect(plan.map((p) => p.detail).join('\n')).toMatch(/USING COVERING INDEX events_device_metric_time/);

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
