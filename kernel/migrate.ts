import type { Database } from 'better-sqlite3';
import { EdgehubError } from './errors.js';

/** One step of a database's schema: applying it takes the file from `to - 1` to `to`. */
export interface Migration {
  /** The `user_version` after this step. */
  readonly to: number;
  /** Why the step exists, for the log. */
  readonly why: string;
  /**
   * DDL run in the migration's transaction. Written with `IF NOT EXISTS`: a file made before edgehub
   * stamped versions (user_version 0) may already hold the tables of the first steps.
   */
  readonly sql: string;
}

/** A database of the hub's data folder and the ordered steps that make its schema. */
export interface DatabaseSchema {
  /** The file name inside the data folder: `events.db`. */
  readonly file: string;
  /** What it holds, for messages: "the event store". */
  readonly what: string;
  /** Step `i` has `to: i + 1`; the schema version is the last step's `to`. */
  readonly migrations: readonly Migration[];
}

/** The version this edgehub writes for `schema`. */
export function schemaVersionOf(schema: DatabaseSchema): number {
  return schema.migrations.at(-1)?.to ?? 0;
}

/** SQLite's `user_version` of an open database (0 for a new file). */
export function readSchemaVersion(db: Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** The error for a file made by a newer edgehub: this one cannot know what its tables mean. */
export function newerSchemaError(file: string, schema: DatabaseSchema, version: number): EdgehubError {
  return new EdgehubError(
    'DATA_FOLDER_NEWER',
    `${file} (${schema.what}) has schema version ${version}, but this edgehub knows only up to ${schemaVersionOf(schema)}: ` +
      'it was written by a newer edgehub. Install that newer edgehub again, or restore a backup made by this version (edgehub restore FILE)',
  );
}

/**
 * Brings `db` to the current version of `schema`, each pending step in one transaction with its
 * `user_version` stamp, so a failed step leaves the file as it was. A new file and an old one end with
 * the same tables because both run the same steps. Refuses (DATA_FOLDER_NEWER) a file newer than
 * `schema`. Returns the version found and the version now.
 */
export function migrate(
  db: Database,
  schema: DatabaseSchema,
  file = schema.file,
): { from: number; to: number } {
  const current = schemaVersionOf(schema);
  const found = readSchemaVersion(db);
  if (found > current) throw newerSchemaError(file, schema, found);
  if (found === current) return { from: found, to: found };
  // IMMEDIATE: the write lock is taken before the version is read again, so two connections opening
  // the same new file (the rule state and the trace store share rules.db) never both apply a step.
  db.transaction(() => {
    const from = readSchemaVersion(db);
    if (from > current) throw newerSchemaError(file, schema, from);
    for (const step of schema.migrations) {
      if (step.to <= from) continue;
      db.exec(step.sql);
      db.pragma(`user_version = ${step.to}`);
    }
  }).immediate();
  return { from: found, to: current };
}
