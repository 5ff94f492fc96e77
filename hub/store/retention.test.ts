import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryLogger, VirtualClock } from '../../kernel/index.js';
import type { EventStoreOptions } from './event-store.js';
import { EventStore } from './event-store.js';
import { eventsDbPath } from './schema.js';

const T0 = Date.UTC(2026, 0, 1);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const CHECK_MS = 10 * 60_000;

let dir: string;
let clock: VirtualClock;
let logger: MemoryLogger;
let store: EventStore;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'edgehub-retention-'));
  clock = new VirtualClock(T0);
  logger = new MemoryLogger();
});

afterEach(async () => {
  await store.stop();
  rmSync(dir, { recursive: true, force: true });
});

function open(retention: Partial<EventStoreOptions['retention']>, chunkRows = 5000): EventStore {
  store = new EventStore({
    file: eventsDbPath(dir),
    clock,
    logger,
    options: {
      flushIntervalMs: 100,
      batchSize: 5000,
      retention: { maxAgeMs: 365 * DAY, maxSizeBytes: 1e12, checkEveryMs: CHECK_MS, ...retention },
    },
    testing: { retentionChunkRows: chunkRows },
  });
  store.start();
  return store;
}

/** `count` readings one `stepMs` apart ending now, each about `padBytes` long. */
function fill(count: number, stepMs: number, padBytes = 0): void {
  const start = clock.now() - (count - 1) * stepMs;
  for (let i = 0; i < count; i++) {
    store.append({
      topic: `sensors/dev${i % 10}/temperature`,
      payload: Buffer.from(JSON.stringify({ value: i, pad: 'x'.repeat(padBytes) })),
      qos: 0,
      retain: false,
      clientId: 'sim',
      receivedAt: start + i * stepMs,
    });
  }
  store.flush();
}

function liveBytes(): number {
  const db = new BetterSqlite(eventsDbPath(dir), { readonly: true });
  try {
    const n = (p: string) => db.pragma(p, { simple: true }) as number;
    return (n('page_count') - n('freelist_count')) * n('page_size');
  } finally {
    db.close();
  }
}

describe('retention by age', () => {
  it('deletes events older than max_age on the check timer, in steps, and keeps the rest', async () => {
    open({ maxAgeMs: 7 * DAY }, 20);
    // One event an hour for 10 days; at the check, 10 minutes later, 168 are within 7 days.
    fill(240, HOUR);
    clock.advance(CHECK_MS - 1);
    expect(store.query()).toHaveLength(240);

    clock.advance(1);
    await store.idle();
    const left = store.query({ order: 'asc' });
    const cutoff = clock.now() - 7 * DAY;
    expect(left.every((e) => e.time >= cutoff)).toBe(true);
    expect(left).toHaveLength(168);
    const done = logger.entries.find((e) => e.msg === 'retention deleted old events');
    expect(done?.fields).toMatchObject({ deletedByAge: 72 });
    // 20 rows per step: 72 rows take 4 steps, each its own short transaction.
    expect(done?.fields?.steps).toBe(4);
    expect(clock.pending()).toContain('store.retention');
  });

  it('drops latest entries whose events were deleted, so latest never points at a missing event', () => {
    open({ maxAgeMs: DAY, checkEveryMs: 100 * DAY });
    store.append({
      topic: 'sensors/old/temperature',
      payload: Buffer.from('{"value": 1}'),
      qos: 0,
      retain: false,
      clientId: null,
      receivedAt: T0,
    });
    clock.advance(2 * DAY);
    fill(5, 1000);
    expect(store.enforceRetention()).toEqual({ deletedByAge: 1, deletedBySize: 0 });
    expect(store.latest().map((l) => l.deviceId)).toEqual(['dev0', 'dev1', 'dev2', 'dev3', 'dev4']);
  });
});

describe('retention by size', () => {
  it('deletes the oldest events until the database is under max_size_mb and keeps the newest', async () => {
    open({});
    fill(20_000, 1000, 200);
    const before = liveBytes();
    expect(before).toBeGreaterThan(4 * 1024 * 1024);

    const maxSizeBytes = 2 * 1024 * 1024;
    await store.stop();
    open({ maxSizeBytes }, 1000);
    const result = store.enforceRetention();
    expect(result.deletedByAge).toBe(0);
    expect(result.deletedBySize).toBeGreaterThan(0);
    expect(liveBytes()).toBeLessThanOrEqual(maxSizeBytes);

    const left = store.query({ order: 'asc' });
    const values = left.map((e) => (e.payload as { value: number }).value);
    // What is left is the newest run of events, and the budget is used, not emptied (the four
    // indexes of the events and, 200 devices each reporting less than once a minute, a rollup row
    // per reading take their share of it).
    expect(values).toEqual(Array.from({ length: left.length }, (_, i) => 20_000 - left.length + i));
    expect(left.length).toBeGreaterThan(20_000 * 0.2);
  });

  it('runs on the check timer too', async () => {
    open({ maxSizeBytes: 1024 * 1024 }, 500);
    fill(10_000, 1000, 200);
    clock.advance(CHECK_MS);
    await store.idle();
    expect(liveBytes()).toBeLessThanOrEqual(1024 * 1024);
    expect(store.query({ limit: 1 })[0]?.payload).toMatchObject({ value: 9_999 });
  });
});
