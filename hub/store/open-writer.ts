import type { Database as SqliteDatabase } from 'better-sqlite3';
import { openWritableSqlite } from '../open-sqlite.js';
import { configureWriter, createSchema, registerFunctions } from './schema.js';

/** Opens the writing connection, turning "cannot write here" into one actionable error. */
export function openWriter(file: string): SqliteDatabase {
  return openWritableSqlite(file, {
    what: 'the event database',
    failCode: 'STORE_WRITE_FAILED',
    unusable: 'restart to start a new one',
    prepare: (db) => {
      configureWriter(db);
      createSchema(db);
      registerFunctions(db);
    },
  });
}
