import { accessSync, constants, existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import type { Database as SqliteDatabase } from 'better-sqlite3';
import { EdgehubError, errorMessage } from '../../kernel/index.js';
import { configureWriter, createSchema, registerFunctions } from './schema.js';

/** Opens the writing connection, turning "cannot write here" into one actionable error. */
export function openWriter(file: string): SqliteDatabase {
  const dir = dirname(resolve(file));
  const unwritable = (err: unknown) =>
    new EdgehubError(
      'DATA_DIR_UNWRITABLE',
      `cannot write the event database ${file} (${errorMessage(err)}). Make ${dir} writable by the user running edgehub, or set hub.data_dir to a writable directory`,
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
    configureWriter(db);
    createSchema(db);
    registerFunctions(db);
    return db;
  } catch (err) {
    db?.close();
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && /^SQLITE_(CANTOPEN|READONLY|PERM|IOERR|FULL)/.test(code)) {
      throw unwritable(err);
    }
    if (code === 'SQLITE_BUSY') {
      throw new EdgehubError(
        'STORE_WRITE_FAILED',
        `${file} is locked by another writer; is another edgehub running with the same hub.data_dir?`,
        { cause: err },
      );
    }
    throw new EdgehubError(
      'STORE_WRITE_FAILED',
      `cannot use ${file} as the event database (${errorMessage(err)}); move the file aside and restart to start a new one`,
      { cause: err },
    );
  }
}
