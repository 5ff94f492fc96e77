import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { Database as SqliteDatabase } from 'better-sqlite3';
import { EdgehubError, errorMessage } from '../../kernel/index.js';
import type {
  Bucket,
  DownsampleQuery,
  EventHistory,
  EventQuery,
  LatestValue,
  StoredEvent,
} from './event-queries.js';
import { EventQueries } from './event-queries.js';
import { configureReader, hasEventSchema, registerFunctions } from './schema.js';

/** Read-only access to an event database, for the CLI and tools; safe while the hub writes to it. */
export interface EventReader extends EventHistory {
  close(): void;
}

/**
 * Opens `file` read-only. In WAL mode a reader sees every committed batch and never blocks the
 * hub's writer, so `edgehub events` works while the hub runs. Throws `USAGE` when the file is missing
 * or is not an event database.
 */
export function openEventReader(file: string): EventReader {
  if (!existsSync(file)) {
    throw new EdgehubError(
      'USAGE',
      `no event database at ${file}; the hub creates it on first start (hub.data_dir), or pass the data directory it uses`,
    );
  }
  let db: SqliteDatabase;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw new EdgehubError('USAGE', `cannot read the event database ${file}: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  let ok = false;
  try {
    configureReader(db);
    ok = hasEventSchema(db);
  } catch {
    // Not SQLite at all ("file is not a database"); reported below like any foreign file.
  }
  if (!ok) {
    db.close();
    throw new EdgehubError('USAGE', `${file} is not an edgehub event database`);
  }
  registerFunctions(db);
  return new Reader(db);
}

class Reader implements EventReader {
  private readonly queries: EventQueries;

  constructor(private readonly db: SqliteDatabase) {
    this.queries = new EventQueries(db);
  }

  query(query?: EventQuery): StoredEvent[] {
    return this.queries.query(query);
  }

  history(device: string, since: number, until: number): StoredEvent[];
  history(device: string, metric: string | undefined, since: number, until: number): StoredEvent[];
  history(device: string, a: string | number | undefined, b: number, c?: number): StoredEvent[] {
    if (typeof a === 'number') return this.queries.history(device, a, b);
    return this.queries.history(device, a, b, c ?? Number.MAX_SAFE_INTEGER);
  }

  latest(device?: string): LatestValue[] {
    return this.queries.latest(device);
  }

  downsample(query: DownsampleQuery): Bucket[] {
    return this.queries.downsample(query);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
