import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { migrate, numberOfReading, readingValue } from '../../kernel/index.js';
import { EventQueries } from './event-queries.js';
import {
  createSchema,
  DEVICE_METRIC_INDEX,
  EVENTS_DB_SCHEMA,
  registerFunctions,
  SCHEMA_VERSION,
} from './schema.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** An events.db as version 2 left it, with three metrics of one device, one reading a second each. */
function versionTwo(): BetterSqlite.Database {
  const dir = mkdtempSync(join(tmpdir(), 'edgehub-schema-'));
  dirs.push(dir);
  const db = new BetterSqlite(join(dir, 'events.db'));
  migrate(db, { ...EVENTS_DB_SCHEMA, migrations: EVENTS_DB_SCHEMA.migrations.slice(0, 2) });
  const insert = db.prepare(
    "INSERT INTO events (time, topic, device_id, metric, payload, qos, retain) VALUES (?, 'sensors/m/' || ?, 'm', ?, ?, 0, 0)",
  );
  for (let s = 0; s < 20; s++) {
    for (const metric of ['power', 'voltage', 'current'])
      insert.run(1000 * s, metric, metric, JSON.stringify({ value: s }));
  }
  registerFunctions(db);
  return db;
}

/** The query with literals for its parameters, so EXPLAIN QUERY PLAN needs none. */
function bound(sql: string): string {
  const values = ["'m'", "'power'", '0', '10000', '-1'];
  return sql.replace(/\?/g, () => values.shift() ?? 'NULL');
}

function plan(db: BetterSqlite.Database, sql: string): string {
  return (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[])
    .map((r) => r.detail)
    .join('; ');
}

describe('events.db schema versions 3 and 4', () => {
  it('adds the (device, metric, time) index to a version 2 file, and one metric is read through it', () => {
    const db = versionTwo();
    const before = new EventQueries(db).history('m', 'power', 0, 10_000);
    const chartBefore = new EventQueries(db).downsample({
      device: 'm',
      metric: 'power',
      since: 0,
      until: 19_999,
      bucketMs: 5_000,
    });
    createSchema(db);
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(SCHEMA_VERSION).toBe(4);
    // The chart read from the filled-in `value` column is the one the payloads gave.
    const chartAfter = new EventQueries(db).downsample({
      device: 'm',
      metric: 'power',
      since: 0,
      until: 19_999,
      bucketMs: 5_000,
    });
    expect(chartAfter).toEqual(chartBefore);
    expect(chartAfter.map((b) => b.n)).toEqual([5, 5, 5, 5]);
    const after = new EventQueries(db).history('m', 'power', 0, 10_000);
    // A reader on a file not yet migrated answers the same, without the index.
    expect(after).toEqual(before);
    expect(after.map((e) => e.payload)).toEqual(Array.from({ length: 11 }, (_, s) => ({ value: s })));
    // The statement the queries prepare for one metric of one device goes through the new index.
    const prepared: string[] = [];
    const prepare = db.prepare.bind(db);
    const spy = Object.assign(Object.create(db) as BetterSqlite.Database, {
      prepare: (source: string) => (prepared.push(source), prepare(source)),
    });
    new EventQueries(spy).history('m', 'power', 0, 10_000);
    const sql = prepared.find((q) => q.includes('FROM events'));
    expect(plan(db, bound(sql ?? ''))).toContain(
      `INDEX ${DEVICE_METRIC_INDEX} (device_id=? AND metric=? AND time>? AND time<?)`,
    );
    // Without naming it SQLite (no ANALYZE statistics) takes events_device_time and reads every metric.
    expect(plan(db, bound(sql ?? '').replace(` INDEXED BY ${DEVICE_METRIC_INDEX}`, ''))).toContain(
      'INDEX events_device_time',
    );
    db.close();
  });

  it('fills `value` of the events already stored as the writer fills new ones', () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgehub-schema-'));
    dirs.push(dir);
    const db = new BetterSqlite(join(dir, 'events.db'));
    migrate(db, { ...EVENTS_DB_SCHEMA, migrations: EVENTS_DB_SCHEMA.migrations.slice(0, 3) });
    const payloads: (string | Buffer)[] = [
      '{"value": 21.5}',
      '{"value": -3, "unit": "C"}',
      '17',
      '-0.25',
      'true',
      '{"on": true}',
      '{"on": false, "value": 4}',
      '{"value": "warm"}',
      '{"value": null, "on": 1}',
      '{"other": 5}',
      '"12"',
      '[1, 2]',
      'not json',
      Buffer.from([0xff, 0x00]),
    ];
    const insert = db.prepare(
      'INSERT INTO events (time, topic, device_id, metric, payload, qos, retain) VALUES (?, ?, ?, ?, ?, 0, 0)',
    );
    payloads.forEach((payload, i) => insert.run(i, 'sensors/d/t', 'd', 't', payload));
    // An actuator's state is charted; the command that asked for it is not.
    insert.run(100, 'actuators/d/fan/state', 'd', 'fan', '{"on": true}');
    insert.run(101, 'actuators/d/fan', 'd', 'fan', '{"on": false}');
    createSchema(db);
    const values = (
      db.prepare('SELECT value FROM events ORDER BY time').all() as { value: number | null }[]
    ).map((r) => r.value);
    const expected = payloads.map((p) => (typeof p === 'string' ? jsonNumber(p) : null));
    expect(values).toEqual([...expected, 1, null]);
    expect(values.slice(0, 10)).toEqual([21.5, -3, 17, -0.25, 1, 1, 4, null, null, null]);
    db.close();
  });
});

/** What the writer stores as `value` for a reading's payload. */
function jsonNumber(text: string): number | null {
  try {
    return numberOfReading(readingValue(JSON.parse(text)));
  } catch {
    return null;
  }
}
