import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { EdgehubError, errorMessage, migrate, newerSchemaError, type Logger } from '../../kernel/index.js';
import { createBackup } from '../backup/index.js';
import { inspectDataFolder, type SchemaStatus } from './data-folder-schemas.js';

export interface UpgradeOptions {
  dataDir: string;
  logger: Logger;
  /** The time in the backup's name and manifest. */
  now: () => Date;
}

export interface UpgradeReport {
  /** The archive taken before migrating; undefined when nothing needed it. */
  backup?: string;
  /** The databases brought to this edgehub's schema. */
  migrated: { file: string; from: number; to: number }[];
}

/** ms a migration waits for a lock (a CLI reading the file); a second hub holds it longer and fails. */
const BUSY_TIMEOUT_MS = 5000;

/**
 * Run at hub start, before anything opens a database for writing: refuses a data folder written by a
 * newer edgehub (DATA_FOLDER_NEWER, nothing touched), and when any database is older than this
 * edgehub's schema, first archives the whole folder into `<data>/backups/` (as `edgehub backup`
 * does), then migrates each such database in one transaction.
 */
export async function upgradeDataFolder(opts: UpgradeOptions): Promise<UpgradeReport> {
  const found = inspectDataFolder(opts.dataDir);
  const newer = found.find((s) => s.state === 'newer');
  if (newer) throw newerSchemaError(newer.path, newer.schema, newer.version ?? 0);
  const older = found.filter((s) => s.state === 'older');
  if (older.length === 0) return { migrated: [] };

  const backup = join(opts.dataDir, 'backups', backupName(older, opts.now()));
  mkdirSync(join(opts.dataDir, 'backups'), { recursive: true });
  await createBackup({ file: backup, dataDir: opts.dataDir, now: opts.now });
  opts.logger.info('data folder backed up before migrating its databases', {
    backup,
    databases: older.map((s) => `${s.schema.file} ${s.version ?? 0} → ${s.current}`).join(', '),
  });

  const migrated: UpgradeReport['migrated'] = [];
  for (const status of older) {
    let db: Database.Database | undefined;
    try {
      db = new Database(status.path, { fileMustExist: true, timeout: BUSY_TIMEOUT_MS });
      const { from, to } = migrate(db, status.schema, status.path);
      migrated.push({ file: status.schema.file, from, to });
      opts.logger.info('database migrated', { file: status.path, from, to });
    } catch (err) {
      if (err instanceof EdgehubError) throw err;
      throw new EdgehubError(
        'DATA_FOLDER_MIGRATION_FAILED',
        `cannot bring ${status.path} (${status.schema.what}) from schema version ${status.version ?? 0} to ${status.current}: ${errorMessage(err)}. ` +
          `The file is as it was; the data folder was backed up to ${backup} (edgehub restore restores it)`,
        { cause: err },
      );
    } finally {
      db?.close();
    }
  }
  return { backup, migrated };
}

/** `pre-migrate-events.db-2-to-3-rules.db-0-to-1-20261207T121900Z.tar`: what changed, and when. */
function backupName(older: readonly SchemaStatus[], at: Date): string {
  const steps = older.map((s) => `${s.schema.file}-${s.version ?? 0}-to-${s.current}`).join('-');
  const stamp = at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `pre-migrate-${steps}-${stamp}.tar`;
}
