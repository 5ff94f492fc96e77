import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { EdgehubError, errorMessage } from '../../kernel/index.js';
import { ARCHIVE_DIRS, isSafeName, MANIFEST_FORMAT, MANIFEST_NAME, type Manifest } from './manifest.js';
import { listTar, readTarEntry, type TarEntry } from './tar.js';

/** An archive whose manifest has been read; its files are checked as they are extracted. */
export interface OpenedBackup {
  file: string;
  manifest: Manifest;
  entries: ReadonlyMap<string, TarEntry>;
}

export interface RestoreTargets {
  dataDir: string;
  /** Where the archived config goes; it is not restored without one. */
  configFile?: string;
  rulesDir?: string;
  /** Replace a config file and rule files that already exist (databases are always replaced). */
  force: boolean;
}

export interface RestoreReport {
  /** What was written, as "archive name -> path". */
  restored: string[];
  /** Existing files left as they were (no --force), and archived files with nowhere to go. */
  kept: string[];
}

function invalid(file: string, why: string, cause?: unknown): EdgehubError {
  return new EdgehubError('RESTORE_ARCHIVE_INVALID', `${file} is not a sound edgehub backup: ${why}`, {
    ...(cause !== undefined && { cause }),
  });
}

/** Lists the archive and reads its manifest (checked against the entries, not yet the bytes). */
export function openBackup(path: string): OpenedBackup {
  const file = resolve(path);
  let list: TarEntry[];
  try {
    list = listTar(file);
  } catch (err) {
    throw invalid(file, errorMessage(err), err);
  }
  const entries = new Map(list.map((e) => [e.name, e]));
  const m = entries.get(MANIFEST_NAME);
  if (!m) throw invalid(file, `it has no ${MANIFEST_NAME}`);
  let manifest: Manifest;
  const fd = openSync(file, 'r');
  try {
    const chunks: Buffer[] = [];
    readTarEntry(fd, m, (c) => chunks.push(Buffer.from(c)));
    manifest = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Manifest;
  } catch (err) {
    throw invalid(file, `${MANIFEST_NAME} cannot be read (${errorMessage(err)})`, err);
  } finally {
    closeSync(fd);
  }
  if (manifest.format !== MANIFEST_FORMAT || !Array.isArray(manifest.files)) {
    throw invalid(file, `${MANIFEST_NAME} is not of format ${MANIFEST_FORMAT}`);
  }
  for (const f of manifest.files) {
    if (!isSafeName(f.name)) throw invalid(file, `it names a file outside its folders: ${f.name}`);
    const entry = entries.get(f.name);
    if (!entry) throw invalid(file, `${f.name} is in the manifest but not in the archive`);
    if (entry.size !== f.size)
      throw invalid(file, `${f.name} is ${entry.size} bytes, the manifest says ${f.size}`);
  }
  return { file, manifest, entries };
}

/** One small file of the archive (the config), read whole; its sha256 is checked against the manifest. */
export function readBackupFile(backup: OpenedBackup, name: string): Buffer {
  const entry = backup.entries.get(name);
  const expected = backup.manifest.files.find((f) => f.name === name);
  if (!entry || !expected) throw invalid(backup.file, `it has no ${name}`);
  const chunks: Buffer[] = [];
  const fd = openSync(backup.file, 'r');
  try {
    if (readTarEntry(fd, entry, (c) => chunks.push(Buffer.from(c))) !== expected.sha256) {
      throw invalid(
        backup.file,
        `${name} does not match its sha256 in the manifest (the archive is damaged)`,
      );
    }
  } finally {
    closeSync(fd);
  }
  return Buffer.concat(chunks);
}

/**
 * Fails with RESTORE_HUB_RUNNING when a process holds a database of `dataDir` open. A WAL
 * connection keeps a shared lock on its database file for as long as it is open (idle or not), so
 * taking the exclusive lock without waiting fails exactly while a hub (or `edgehub events`) has it open.
 */
export function assertNoHubRunning(dataDir: string, dbNames: readonly string[]): void {
  for (const name of dbNames) {
    const file = join(dataDir, name);
    if (!existsSync(file)) continue;
    let db;
    try {
      db = new Database(file, { fileMustExist: true, timeout: 0 });
      db.pragma('locking_mode = EXCLUSIVE');
      db.exec('BEGIN EXCLUSIVE');
      db.exec('ROLLBACK');
    } catch (err) {
      if ((err as { code?: unknown }).code === 'SQLITE_BUSY') {
        throw new EdgehubError(
          'RESTORE_HUB_RUNNING',
          `${file} is open in another process: stop the hub using ${dataDir} (systemctl stop edgehub) and run the restore again`,
          { cause: err },
        );
      }
      // A damaged database is about to be replaced; that is what the restore is for.
    } finally {
      db?.close();
    }
  }
}

/**
 * Checks every file of the backup (sha256, and `PRAGMA integrity_check` for databases) while writing
 * it to a temporary file beside its target, then renames them into place: a failed check changes
 * nothing. Databases replace what is there, with the old `-wal`/`-shm` removed first (they belong to
 * the old file); the config and rule files only where none exists, unless `force`.
 */
export function restoreBackup(backup: OpenedBackup, targets: RestoreTargets): RestoreReport {
  const dataDir = resolve(targets.dataDir);
  const dbs = backup.manifest.files.filter((f) => f.name.startsWith(ARCHIVE_DIRS.data));
  assertNoHubRunning(
    dataDir,
    dbs.map((f) => f.name.slice(ARCHIVE_DIRS.data.length)),
  );
  const report: RestoreReport = { restored: [], kept: [] };
  const plan: { name: string; target: string; sha256: string; database: boolean }[] = [];
  for (const f of backup.manifest.files) {
    const target = targetOf(f.name, dataDir, targets);
    if (target === undefined) {
      report.kept.push(`${f.name}: not restored (give --config FILE to say where the config goes)`);
    } else if (!f.name.startsWith(ARCHIVE_DIRS.data) && existsSync(target) && !targets.force) {
      report.kept.push(`${target}: kept as it is (--force replaces it with ${f.name})`);
    } else {
      plan.push({ name: f.name, target, sha256: f.sha256, database: f.name.startsWith(ARCHIVE_DIRS.data) });
    }
  }
  const staged: { tmp: string; target: string; name: string; database: boolean }[] = [];
  const fd = openSync(backup.file, 'r');
  try {
    for (const p of plan) {
      const tmp = stageFile(backup, fd, p.name, p.target, p.sha256);
      staged.push({ tmp, target: p.target, name: p.name, database: p.database });
      if (p.database) checkDatabase(backup.file, p.name, tmp);
    }
    for (const s of staged) {
      if (s.database) for (const j of ['-wal', '-shm', '-journal']) rmSync(s.target + j, { force: true });
      renameSync(s.tmp, s.target);
      report.restored.push(`${s.name} -> ${s.target}`);
    }
    return report;
  } catch (err) {
    if (err instanceof EdgehubError) throw err;
    throw new EdgehubError('RESTORE_FAILED', `cannot restore ${backup.file}: ${errorMessage(err)}`, {
      cause: err,
    });
  } finally {
    closeSync(fd);
    for (const s of staged) rmSync(dirname(s.tmp), { recursive: true, force: true });
  }
}

function targetOf(name: string, dataDir: string, t: RestoreTargets): string | undefined {
  if (name.startsWith(ARCHIVE_DIRS.data)) return join(dataDir, name.slice(ARCHIVE_DIRS.data.length));
  if (name.startsWith(ARCHIVE_DIRS.config))
    return t.configFile !== undefined ? resolve(t.configFile) : undefined;
  if (t.rulesDir === undefined) return undefined;
  return join(resolve(t.rulesDir), name.slice(ARCHIVE_DIRS.rules.length));
}

/** Extracts one entry into a fresh folder beside its target (same disk, so the rename is atomic). */
function stageFile(backup: OpenedBackup, fd: number, name: string, target: string, sha256: string): string {
  const entry = backup.entries.get(name)!; // openBackup checked every manifest name has an entry
  mkdirSync(dirname(target), { recursive: true });
  const dir = mkdtempSync(join(dirname(target), '.edgehub-restore-'));
  const tmp = join(dir, 'file');
  const out = openSync(tmp, 'w', 0o600);
  let actual: string;
  try {
    actual = readTarEntry(fd, entry, (chunk) => {
      for (let done = 0; done < chunk.length;) done += writeSync(out, chunk, done, chunk.length - done);
    });
  } finally {
    closeSync(out);
  }
  if (actual !== sha256) {
    rmSync(dir, { recursive: true, force: true });
    throw invalid(backup.file, `${name} does not match its sha256 in the manifest (the archive is damaged)`);
  }
  return tmp;
}

function checkDatabase(file: string, name: string, path: string): void {
  let db;
  try {
    db = new Database(path, { fileMustExist: true });
    const rows = db.pragma('integrity_check') as { integrity_check: string }[];
    const problems = rows.map((r) => r.integrity_check).filter((r) => r !== 'ok');
    if (problems.length > 0) throw invalid(file, `${name} fails integrity_check: ${problems[0]}`);
  } catch (err) {
    if (err instanceof EdgehubError) throw err;
    throw invalid(file, `${name} cannot be opened as a database (${errorMessage(err)})`, err);
  } finally {
    db?.close();
  }
}
