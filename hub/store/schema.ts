import { join } from 'node:path';
import type { Database } from 'better-sqlite3';
import { migrate, schemaVersionOf, topicMatches, type DatabaseSchema } from '../../kernel/index.js';

/**
 * The index one device's one metric over time is read through: (device_id, metric, time) since
 * schema version 3, with `value` appended since version 4 so a chart's aggregates read the index alone.
 */
export const DEVICE_METRIC_INDEX = 'events_device_metric_time';

/** The span of one `rollups` row, ms: a chart's bucket of ten or more of these is read from them. */
export const ROLLUP_MS = 60_000;

/** SQL for a JSON path's number as the kernel's `numberOfReading` gives it: booleans as 1 and 0, the rest NULL. */
const jsonNumber = (path: string) =>
  `CASE WHEN json_type(payload, '${path}') IN ('integer', 'real', 'true', 'false') THEN json_extract(payload, '${path}') END`;

export { configureReader, configureWriter } from './pragmas.js';

/**
 * `events` holds every published message. `payload` is JSON text when the payload parses as JSON and
 * the raw bytes (BLOB) otherwise, so binary payloads survive byte for byte.
 *
 * `latest` keeps the last value per (device, metric) so "current state" never scans `events`.
 *
 * `events_device_time` serves "events of device X between t1 and t2" (rowid is its implicit last
 * column, so `ORDER BY time, id` needs no sort); `events_time` serves time ranges across devices and
 * age-based retention.
 *
 * `outbox` holds what each connector has still to deliver, written in the transaction that stores
 * the event (so an acknowledged event is in the outbox or already delivered, never neither) and
 * deleted once the remote confirmed. A row points at its event, or carries its own `message` (a
 * rule's `forward`); AUTOINCREMENT keeps ids rising even after the newest rows were deleted, since
 * the id is the delivery order and part of the event id a remote deduplicates by. `outbox_dead`
 * holds what a remote refused for good, with the reason.
 *
 * `events_device_metric_time` serves one metric of one device over a time range (a history chart,
 * `edgehub events --device D --metric M`): through `events_device_time` SQLite reads every event of
 * the device in the range and looks each row up to compare its metric, six rows for one with six
 * metrics; this index reads only the matching ones.
 *
 * `value` is a reading's or an actuator state's number (the kernel's `numberOfReading`: `{"value": 21.5}`,
 * `21.5`, `{"on": true}` as 1), NULL for anything else (commands included), filled by the writer as it
 * stores the event. A chart aggregates it straight from `events_device_metric_time`, which ends with
 * it: no row is looked up and no payload parsed, so 30 days at one reading per 10 s answer in tens of
 * milliseconds where parsing each payload took hundreds.
 *
 * `rollups` holds, per device, metric and minute, the min, max, sum and count of `value`, added to by
 * the writer in the transaction that stores the events, so a chart over a month reads 43,200 rows per
 * metric instead of 259,200 (at one reading per 10 s) or 2.6 million (at one a second). Retention
 * deletes a series' minutes older than the oldest event left.
 */
export const EVENTS_DB_SCHEMA: DatabaseSchema = {
  file: 'events.db',
  what: 'the event store',
  migrations: [
    {
      to: 1,
      why: 'events and the latest value per device and metric',
      sql: `
CREATE TABLE IF NOT EXISTS events (
  id INTEGER PRIMARY KEY,
  time INTEGER NOT NULL,
  client_id TEXT,
  topic TEXT NOT NULL,
  device_id TEXT,
  metric TEXT,
  payload,
  qos INTEGER NOT NULL,
  retain INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS events_device_time ON events (device_id, time) WHERE device_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_time ON events (time);
CREATE TABLE IF NOT EXISTS latest (
  device_id TEXT NOT NULL,
  metric TEXT NOT NULL,
  value,
  time INTEGER NOT NULL,
  event_id INTEGER NOT NULL,
  PRIMARY KEY (device_id, metric)
) WITHOUT ROWID;`,
    },
    {
      to: 2,
      why: "connectors' outbox",
      sql: `
CREATE TABLE IF NOT EXISTS outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  connector TEXT NOT NULL,
  route INTEGER NOT NULL,
  event_id INTEGER,
  time INTEGER NOT NULL,
  key TEXT,
  message BLOB,
  destination TEXT
);
CREATE INDEX IF NOT EXISTS outbox_connector ON outbox (connector, id);
CREATE TABLE IF NOT EXISTS outbox_dead (
  id INTEGER PRIMARY KEY,
  connector TEXT NOT NULL,
  route INTEGER NOT NULL,
  event_id INTEGER,
  time INTEGER NOT NULL,
  key TEXT,
  message BLOB,
  destination TEXT,
  reason TEXT NOT NULL,
  failed_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_dead_connector ON outbox_dead (connector, id);`,
    },
    {
      to: 3,
      why: 'one metric of one device over a time range without reading the other metrics',
      sql: `
CREATE INDEX IF NOT EXISTS ${DEVICE_METRIC_INDEX} ON events (device_id, metric, time) WHERE device_id IS NOT NULL;`,
    },
    {
      to: 4,
      why: "each reading's number beside it and per-minute rollups, so a chart over months parses nothing and reads a few rows per bucket",
      sql: `
ALTER TABLE events ADD COLUMN value REAL;
UPDATE events SET value = CASE json_type(payload)
    WHEN 'object' THEN CASE
      WHEN json_type(payload, '$.value') IS NOT NULL THEN ${jsonNumber('$.value')}
      WHEN json_type(payload, '$.on') IS NOT NULL THEN ${jsonNumber('$.on')} END
    ELSE ${jsonNumber('$')} END
  WHERE device_id IS NOT NULL AND metric IS NOT NULL AND typeof(payload) = 'text' AND json_valid(payload)
    AND (topic GLOB 'sensors/*' OR topic GLOB 'actuators/*/state');
DROP INDEX IF EXISTS ${DEVICE_METRIC_INDEX};
CREATE INDEX ${DEVICE_METRIC_INDEX} ON events (device_id, metric, time, value) WHERE device_id IS NOT NULL;
CREATE TABLE rollups (
  device_id TEXT NOT NULL,
  metric TEXT NOT NULL,
  minute INTEGER NOT NULL,
  min REAL NOT NULL,
  max REAL NOT NULL,
  sum REAL NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (device_id, metric, minute)
) WITHOUT ROWID;
INSERT INTO rollups (device_id, metric, minute, min, max, sum, n)
  SELECT device_id, metric, time / ${ROLLUP_MS}, min(value), max(value), sum(value), count(value)
  FROM events INDEXED BY ${DEVICE_METRIC_INDEX}
  WHERE device_id IS NOT NULL AND value IS NOT NULL GROUP BY device_id, metric, time / ${ROLLUP_MS};`,
    },
  ],
};

/** Stored in SQLite's `user_version`. */
export const SCHEMA_VERSION = schemaVersionOf(EVENTS_DB_SCHEMA);

/** The event database inside the hub's data directory. */
export function eventsDbPath(dataDir: string): string {
  return join(dataDir, EVENTS_DB_SCHEMA.file);
}

export function createSchema(db: Database): void {
  migrate(db, EVENTS_DB_SCHEMA, db.name);
  // Proves the file is writable: opening an unwritable file silently falls back to read-only.
  db.pragma(`user_version = ${SCHEMA_VERSION}`);
}

/** True when the database holds edgehub's tables. */
export function hasEventSchema(db: Database): boolean {
  const row = db
    .prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name IN ('events', 'latest')")
    .get() as { n: number };
  return row.n === 2;
}

/** The SQL function `topic_matches(filter, topic)` that topic-filter queries use. */
export function registerFunctions(db: Database): void {
  db.function('topic_matches', { deterministic: true }, (filter: unknown, topic: unknown) =>
    typeof filter === 'string' && typeof topic === 'string' && topicMatches(filter, topic) ? 1 : 0,
  );
}
