import { accessSync, constants, existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import type { Database as SqliteDatabase } from 'better-sqlite3';
import { EdgehubError, errorMessage, type ErrorCode } from '../kernel/index.js';

export interface WritableSqlite {
  /** What the file is, for messages: "the event database". */
  what: string;
  /** The code of every failure but an unwritable place (DATA_DIR_UNWRITABLE). */
  failCode: ErrorCode;
  /** What a user does with a file SQLite cannot use, e.g. "restart to start a new one". */
  unusable: string;
  /** Pragmas and schema, on the open connection. */
  prepare(db: SqliteDatabase): void;
}

/**
 * Opens a hub database for writing (creating its directory), turning "cannot write here", "locked
 * by another edgehub" and "not a database we can use" into one actionable error each.
 */
export function openWritableSqlite(file: string, spec: WritableSqlite): SqliteDatabase {
  const dir = dirname(resolve(file));
  const unwritable = (err: unknown) =>
    new EdgehubError(
      'DATA_DIR_UNWRITABLE',
      `cannot write ${spec.what} ${file} (${errorMessage(err)}). Make ${dir} writable by the user running edgehub, or set hub.data_dir to a writable directory`,
      { cause: err },
    );
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
    if (existsSync(file)) accessSync(file, constants.W_OK);
  } catch (err) {
    throw unwritable(err);
  }
  let db: SqliteDatabase | undefined;
  try {
    db = new Database(file);
    spec.prepare(db);
    return db;
  } catch (err) {
    db?.close();
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && /^SQLITE_(CANTOPEN|READONLY|PERM|IOERR|FULL)/.test(code)) {
      throw unwritable(err);
    }
    if (code === 'SQLITE_BUSY') {
      throw new EdgehubError(
        spec.failCode,
        `${file} is locked by another writer; is another edgehub running with the same hub.data_dir?`,
        { cause: err },
      );
    }
    throw new EdgehubError(
      spec.failCode,
      `cannot use ${file} as ${spec.what} (${errorMessage(err)}); move the file aside and ${spec.unusable}`,
      { cause: err },
    );
  }
}
