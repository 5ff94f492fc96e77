import { mkdirSync } from 'node:fs';
import type { Database as SqliteDatabase } from 'better-sqlite3';
import { EdgehubError, errorMessage, type Clock, type Logger } from '../kernel/index.js';
import { openRulesDb, rulesDbPath, TraceStore } from '../rules/index.js';

export interface TraceStoreFile {
  dataDir: string;
  clock: Clock;
  logger: Logger;
  /** Traces kept per rule. */
  keep: number;
}

/**
 * The trace store on `<data_dir>/rules.db`, started, on a connection of its own: the engine's state
 * store keeps its tables in the same file on another; both are in WAL mode, so neither waits long.
 * `DATA_DIR_UNWRITABLE` when the file cannot be opened.
 */
export function openTraceStore(file: TraceStoreFile): { traces: TraceStore; close: () => void } {
  const { dataDir, clock, logger, keep } = file;
  let db: SqliteDatabase;
  try {
    mkdirSync(dataDir, { recursive: true });
    db = openRulesDb(rulesDbPath(dataDir));
  } catch (err) {
    throw new EdgehubError(
      'DATA_DIR_UNWRITABLE',
      `cannot open the rules database in ${dataDir}: ${errorMessage(err)} (hub.data_dir)`,
      { cause: err },
    );
  }
  const traces = new TraceStore({ db, clock, logger, keep });
  traces.start();
  return {
    traces,
    close: () => {
      traces.stop();
      db.close();
    },
  };
}
