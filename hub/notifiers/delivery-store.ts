import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Database as SqliteDatabase, Statement } from 'better-sqlite3';
import { EdgehubError, errorMessage, migrate, type DatabaseSchema } from '../../kernel/index.js';
import type { Notification, NotifyPriority } from '../../rules/index.js';
import { openWritableSqlite } from '../open-sqlite.js';

/**
 * Every notification and what became of it, in `<data_dir>/notifications.db`: `edgehub trace
 * --notifications` and `GET /api/notifications` read it, and a notification still pending or held
 * for quiet hours is sent after a restart.
 */

/** `pending` waits for (or is in) an attempt, `held` waits for quiet hours to end. */
export type DeliveryState = 'pending' | 'held' | 'delivered' | 'failed';

export interface DeliveryRecord extends Notification {
  readonly id: number;
  readonly notifier: string;
  readonly state: DeliveryState;
  readonly attempts: number;
  /** Epoch ms on the hub clock. */
  readonly createdAt: number;
  readonly updatedAt: number;
  /** The last failure; null once delivered. */
  readonly error: string | null;
}

export interface DeliveryQuery {
  notifier?: string;
  /** `rule:<id>`, `alert:<key>`. */
  source?: string;
  /** Newest first; default 20. */
  limit?: number;
}

export interface DeliveryReader {
  recent(query?: DeliveryQuery): DeliveryRecord[];
}

/** Every notification the hub sent or holds, with its outcome (`edgehub trace`, the API). */
export const NOTIFICATIONS_DB_SCHEMA: DatabaseSchema = {
  file: 'notifications.db',
  what: 'notification deliveries',
  migrations: [
    {
      to: 1,
      why: 'notification deliveries and their outcomes',
      sql: `
CREATE TABLE IF NOT EXISTS notify_deliveries (
  id INTEGER PRIMARY KEY,
  notifier TEXT NOT NULL,
  source TEXT NOT NULL,
  title TEXT NOT NULL,
  message TEXT NOT NULL,
  priority TEXT NOT NULL,
  tags TEXT NOT NULL,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  error TEXT
);
CREATE INDEX IF NOT EXISTS notify_deliveries_open ON notify_deliveries (state) WHERE state IN ('pending', 'held');`,
    },
  ],
};

export function notificationsDbPath(dataDir: string): string {
  return join(dataDir, NOTIFICATIONS_DB_SCHEMA.file);
}

interface Row {
  id: number;
  notifier: string;
  source: string;
  title: string;
  message: string;
  priority: string;
  tags: string;
  state: string;
  attempts: number;
  created_at: number;
  updated_at: number;
  error: string | null;
}

function toRecord(r: Row): DeliveryRecord {
  let tags: string[] = [];
  try {
    const parsed = JSON.parse(r.tags) as unknown;
    if (Array.isArray(parsed)) tags = parsed.map(String);
  } catch {
    // A damaged tag list loses only the tags.
  }
  return {
    id: r.id,
    notifier: r.notifier,
    source: r.source,
    title: r.title,
    message: r.message,
    priority: r.priority as NotifyPriority,
    tags,
    state: r.state as DeliveryState,
    attempts: r.attempts,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    error: r.error,
  };
}

class DeliveryQueries implements DeliveryReader {
  private readonly statement: Statement;

  constructor(db: SqliteDatabase) {
    this.statement = db.prepare(
      `SELECT * FROM notify_deliveries
       WHERE (@notifier IS NULL OR notifier = @notifier) AND (@source IS NULL OR source = @source)
       ORDER BY id DESC LIMIT @limit`,
    );
  }

  recent(query: DeliveryQuery = {}): DeliveryRecord[] {
    const rows = this.statement.all({
      notifier: query.notifier ?? null,
      source: query.source ?? null,
      limit: query.limit ?? 20,
    }) as Row[];
    return rows.map(toRecord);
  }
}

/** The writing side, owned by the hub's notifiers. Writes are few (one per attempt), so each is its own statement. */
export class DeliveryStore implements DeliveryReader {
  private readonly queries: DeliveryQueries;
  private readonly insert: Statement;
  private readonly change: Statement;
  private readonly open: Statement;
  private readonly prune: Statement;

  /** @param keep finished deliveries kept (the newest); unfinished ones are always kept. */
  constructor(
    private readonly db: SqliteDatabase,
    private readonly keep = 1000,
  ) {
    migrate(db, NOTIFICATIONS_DB_SCHEMA, db.name);
    this.queries = new DeliveryQueries(db);
    this.insert = db.prepare(
      `INSERT INTO notify_deliveries (notifier, source, title, message, priority, tags, state, attempts, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?)`,
    );
    this.change = db.prepare(
      'UPDATE notify_deliveries SET state = ?, attempts = ?, error = ?, updated_at = ? WHERE id = ?',
    );
    this.open = db.prepare("SELECT * FROM notify_deliveries WHERE state IN ('pending', 'held') ORDER BY id");
    this.prune = db.prepare(
      `DELETE FROM notify_deliveries WHERE state IN ('delivered', 'failed') AND id < (
         SELECT id FROM notify_deliveries ORDER BY id DESC LIMIT 1 OFFSET ?)`,
    );
  }

  /** Opens (creating) `<data_dir>/notifications.db` in WAL mode, so the CLI reads while the hub writes. */
  static open(dataDir: string): DeliveryStore {
    const db = openWritableSqlite(notificationsDbPath(dataDir), {
      what: 'the notifications database',
      failCode: 'DATA_DIR_UNWRITABLE',
      unusable: 'restart to start a new one',
      prepare: (d) => {
        d.pragma('journal_mode = WAL');
        d.pragma('synchronous = NORMAL');
        d.pragma('busy_timeout = 1000');
      },
    });
    return new DeliveryStore(db);
  }

  add(notifier: string, n: Notification, state: DeliveryState, at: number): number {
    const result = this.insert.run(
      notifier,
      n.source,
      n.title,
      n.message,
      n.priority,
      JSON.stringify(n.tags),
      state,
      at,
      at,
    );
    this.prune.run(this.keep);
    return Number(result.lastInsertRowid);
  }

  update(id: number, to: { state: DeliveryState; attempts: number; error: string | null; at: number }): void {
    this.change.run(to.state, to.attempts, to.error, to.at, id);
  }

  /** Pending and held deliveries, oldest first: what a restart sends. */
  unfinished(): DeliveryRecord[] {
    return (this.open.all() as Row[]).map(toRecord);
  }

  recent(query?: DeliveryQuery): DeliveryRecord[] {
    return this.queries.recent(query);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

/** Read-only deliveries for the CLI; safe while the hub writes (WAL). */
export function openDeliveryReader(dataDir: string): DeliveryReader & { close(): void } {
  const file = notificationsDbPath(dataDir);
  if (!existsSync(file))
    throw new EdgehubError(
      'TRACES_UNAVAILABLE',
      `no notifications database at ${file}; the hub creates it when notifiers are configured (hub.data_dir), or pass the data directory it uses`,
    );
  let db: SqliteDatabase;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 5000');
    const queries = new DeliveryQueries(db);
    return { recent: (q) => queries.recent(q), close: () => db.close() };
  } catch (err) {
    throw new EdgehubError('TRACES_UNAVAILABLE', `cannot read ${file}: ${errorMessage(err)}`, { cause: err });
  }
}
