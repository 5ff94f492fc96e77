import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { errorMessage, readSchemaVersion, schemaVersionOf, type DatabaseSchema } from '../../kernel/index.js';
import { RULES_DB_SCHEMA } from '../../rules/index.js';
import { NOTIFICATIONS_DB_SCHEMA } from '../notifiers/index.js';
import { BROKER_DB_SCHEMA } from '../persistence/index.js';
import { EVENTS_DB_SCHEMA } from '../store/index.js';

/** Every database the hub writes into its data folder, with the steps that make its schema. */
export const DATA_FOLDER_SCHEMAS: readonly DatabaseSchema[] = [
  EVENTS_DB_SCHEMA,
  BROKER_DB_SCHEMA,
  RULES_DB_SCHEMA,
  NOTIFICATIONS_DB_SCHEMA,
];

export type SchemaState = 'current' | 'older' | 'newer' | 'unreadable';

/** One database of the data folder as found on disk. */
export interface SchemaStatus {
  readonly schema: DatabaseSchema;
  readonly path: string;
  /** `user_version` of the file; undefined when it cannot be read. */
  readonly version: number | undefined;
  /** The version this edgehub writes. */
  readonly current: number;
  readonly state: SchemaState;
  /** Why the file could not be read (state `unreadable`). */
  readonly error?: string;
}

/**
 * The schema version of each hub database present in `dataDir`, read through a read-only connection
 * (safe while a hub runs). Missing files are left out: the hub creates them at the current version.
 * An unreadable file is reported, and left to the component that opens it to explain.
 */
export function inspectDataFolder(dataDir: string): SchemaStatus[] {
  let present: Set<string>;
  try {
    present = new Set(readdirSync(dataDir));
  } catch {
    return []; // no folder yet: the hub creates it
  }
  const out: SchemaStatus[] = [];
  for (const schema of DATA_FOLDER_SCHEMAS) {
    if (!present.has(schema.file)) continue;
    const path = join(dataDir, schema.file);
    const current = schemaVersionOf(schema);
    let db: Database.Database | undefined;
    try {
      db = new Database(path, { readonly: true, fileMustExist: true, timeout: 5000 });
      const version = readSchemaVersion(db);
      const state: SchemaState = version === current ? 'current' : version < current ? 'older' : 'newer';
      out.push({ schema, path, version, current, state });
    } catch (err) {
      out.push({ schema, path, version: undefined, current, state: 'unreadable', error: errorMessage(err) });
    } finally {
      db?.close();
    }
  }
  return out;
}
