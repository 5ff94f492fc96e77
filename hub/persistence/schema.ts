import { join } from 'node:path';
import type { Database } from 'better-sqlite3';
import { migrate, schemaVersionOf, type DatabaseSchema } from '../../kernel/index.js';

/**
 * The broker's state (sessions, retained messages, QoS 1/2 in flight, wills). Packets are stored
 * whole as V8-serialized blobs (`v8.serialize`): MQTT 5 properties carry Buffers (correlation data)
 * and nested objects (user properties), and aedes expects them back exactly. Rowids keep arrival
 * order, which is the order queues are delivered and restored in.
 */
export const BROKER_DB_SCHEMA: DatabaseSchema = {
  file: 'broker.db',
  what: "the broker's sessions, retained messages and queued QoS 1/2 messages",
  migrations: [
    {
      to: 1,
      why: 'sessions, retained messages, QoS 1/2 in flight, wills',
      sql: `
CREATE TABLE IF NOT EXISTS retained (
  topic TEXT NOT NULL UNIQUE,
  packet BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS subscriptions (
  client_id TEXT NOT NULL,
  topic TEXT NOT NULL,
  -- JSON: qos, rh (retain handling), rap (retain as published), nl (no local), subscriptionIdentifier
  options TEXT NOT NULL,
  UNIQUE (client_id, topic)
);
CREATE TABLE IF NOT EXISTS outgoing (
  id INTEGER PRIMARY KEY,
  client_id TEXT NOT NULL,
  packet BLOB NOT NULL,
  -- Assigned when the packet is (re)sent; the blob keeps the packet as queued.
  message_id INTEGER
);
CREATE INDEX IF NOT EXISTS outgoing_client ON outgoing (client_id, id);
CREATE TABLE IF NOT EXISTS incoming (
  client_id TEXT NOT NULL,
  message_id INTEGER NOT NULL,
  packet BLOB NOT NULL,
  PRIMARY KEY (client_id, message_id)
);
CREATE TABLE IF NOT EXISTS wills (
  client_id TEXT PRIMARY KEY,
  packet BLOB NOT NULL
);`,
    },
    {
      to: 2,
      why: 'MQTT 5 session expiry across restarts',
      sql: `
-- MQTT 5 sessions that end a time after their client goes away.
CREATE TABLE IF NOT EXISTS session_expiry (
  client_id TEXT PRIMARY KEY,
  interval_s INTEGER NOT NULL,
  -- Epoch ms the client went away; NULL while it is connected.
  offline_since INTEGER
);`,
    },
  ],
};

/** Stored in SQLite's `user_version`. */
export const BROKER_SCHEMA_VERSION = schemaVersionOf(BROKER_DB_SCHEMA);

export function brokerDbPath(dataDir: string): string {
  return join(dataDir, BROKER_DB_SCHEMA.file);
}

export function createBrokerSchema(db: Database): void {
  migrate(db, BROKER_DB_SCHEMA, db.name);
  // Proves the file is writable: opening an unwritable file silently falls back to read-only.
  db.pragma(`user_version = ${BROKER_SCHEMA_VERSION}`);
}

/** WAL with synchronous=NORMAL: a commit survives the process being killed (not a power cut). */
export function configureBrokerDb(db: Database): void {
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  // ms: nobody else writes this file; a lock means a second hub on the same data directory.
  db.pragma('busy_timeout = 50');
  db.pragma('journal_size_limit = 16777216');
}
