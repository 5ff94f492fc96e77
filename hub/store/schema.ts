import { join } from 'node:path';
import type { Database } from 'better-sqlite3';
import { topicMatches } from './topic-filter.js';

/** Bumped when the tables change; stored in SQLite's `user_version`. */
export const SCHEMA_VERSION = 1;

/** The event database inside the hub's data directory. */
export function eventsDbPath(dataDir: string): string {
  return join(dataDir, 'events.db');
}

/**
 * `events` holds every published message. `payload` is JSON text when the payload parses as JSON and
 * the raw bytes (BLOB) otherwise, so binary payloads survive byte for byte.
 *
 * `latest` keeps the last value per (device, metric) so "current state" never scans `events`.
 *
 * `events_device_time` serves "events of device X between t1 and t2" (rowid is its implicit last
 * column, so `ORDER BY time, id` needs no sort); `events_time` serves time ranges across devices and
 * age-based retention.
 */
const SCHEMA = `
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
) WITHOUT ROWID;
`;

/** Pragmas for the one writing connection; tuned for SD cards, where every fsync is expensive. */
export function configureWriter(db: Database): void {
  db.pragma('journal_mode = WAL');
  // NORMAL in WAL mode fsyncs only at checkpoints: a power cut can lose the last commits, never corrupt.
  db.pragma('synchronous = NORMAL');
  // ms. Short on purpose: the writer runs on the broker's thread, and a database locked by some other
  // writer is better retried on the next flush (like any write failure) than waited for here.
  db.pragma('busy_timeout = 50');
  // Truncate the WAL back to 64 MiB after checkpoints so a burst does not keep the file large.
  db.pragma('journal_size_limit = 67108864');
  // KiB when negative: 16 MiB of page cache keeps index interiors in memory on a Pi.
  db.pragma('cache_size = -16384');
  db.pragma('temp_store = MEMORY');
}

/** Readers never write; the busy timeout (ms) covers a writer that is recovering the WAL as we open. */
export function configureReader(db: Database): void {
  db.pragma('busy_timeout = 5000');
  db.pragma('cache_size = -16384');
}

export function createSchema(db: Database): void {
  db.exec(SCHEMA);
  // Also proves the file is writable: opening an unwritable file silently falls back to read-only.
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
