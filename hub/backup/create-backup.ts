import {
  closeSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import { EdgehubError, errorMessage } from '../../kernel/index.js';
import { EDGEHUB_VERSION } from '../version.js';
import {
  ARCHIVE_DIRS,
  MANIFEST_FORMAT,
  MANIFEST_NAME,
  sha256OfFile,
  type Manifest,
  type ManifestFile,
} from './manifest.js';
import { TarWriter } from './tar.js';

export interface BackupOptions {
  /** The archive to write; replaced atomically (written beside it, then renamed). */
  file: string;
  dataDir: string;
  /** The config file the hub runs with; archived when given. */
  configFile?: string;
  /** The rules folder; every regular file under it is archived. */
  rulesDir?: string;
  /** The time written into the manifest. */
  now: () => Date;
}

/**
 * ms a database may stay locked while its copy starts (a hub's writer commits a batch in a few ms);
 * after that the backup fails rather than hang.
 */
const BUSY_TIMEOUT_MS = 5000;
/** Pages per backup step: all at once, so the copy is one read transaction and never restarts under writes. */
const ALL_PAGES = 0x7fffffff;

/**
 * Copies every `*.db` of the data folder with SQLite's online backup API (safe while the hub writes:
 * each copy is one read snapshot of its database), then writes them, the config and the rules with a
 * manifest into one tar archive. Returns the manifest.
 */
export async function createBackup(opts: BackupOptions): Promise<Manifest> {
  const file = resolve(opts.file);
  const dataDir = resolve(opts.dataDir);
  const dbs = listDatabases(dataDir);
  const staging = tempDirBeside(file);
  const partial = `${file}.partial-${process.pid}`;
  try {
    const entries: { name: string; path: string }[] = [];
    for (const db of dbs) {
      const copy = join(staging, db);
      await copyDatabase(join(dataDir, db), copy);
      entries.push({ name: ARCHIVE_DIRS.data + db, path: copy });
    }
    if (opts.configFile !== undefined) {
      entries.push({ name: ARCHIVE_DIRS.config + basename(opts.configFile), path: resolve(opts.configFile) });
    }
    if (opts.rulesDir !== undefined) {
      const rulesDir = resolve(opts.rulesDir);
      for (const path of walkFiles(rulesDir)) {
        entries.push({ name: ARCHIVE_DIRS.rules + relative(rulesDir, path).split(sep).join('/'), path });
      }
    }
    // Config and rules are small and may be edited meanwhile: read once, so hash and bytes agree.
    const contents = entries.map((e) => ({
      name: e.name,
      data: e.path.startsWith(staging) ? undefined : readOrFail(e.path),
      path: e.path,
    }));
    const files: ManifestFile[] = contents.map((c) => ({
      name: c.name,
      size: c.data?.length ?? statSync(c.path).size,
      sha256: c.data ? createHash('sha256').update(c.data).digest('hex') : sha256OfFile(c.path),
    }));
    const manifest: Manifest = {
      format: MANIFEST_FORMAT,
      edgehubVersion: EDGEHUB_VERSION,
      createdAt: opts.now().toISOString(),
      files,
    };
    const mtimeMs = opts.now().getTime();
    const fd = openSync(partial, 'w', 0o600);
    try {
      const tar = new TarWriter(fd);
      tar.addBuffer(MANIFEST_NAME, Buffer.from(JSON.stringify(manifest, null, 2) + '\n'), mtimeMs);
      for (const [i, c] of contents.entries()) {
        if (c.data) tar.addBuffer(c.name, c.data, mtimeMs);
        else streamInto(tar, c.name, c.path, files[i]!.size, mtimeMs);
      }
      tar.finish();
    } finally {
      closeSync(fd);
    }
    renameSync(partial, file);
    return manifest;
  } catch (err) {
    rmSync(partial, { force: true });
    if (err instanceof EdgehubError) throw err;
    throw new EdgehubError('BACKUP_FAILED', `cannot write the backup ${file}: ${errorMessage(err)}`, {
      cause: err,
    });
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

function listDatabases(dataDir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dataDir).filter((n) => n.endsWith('.db'));
  } catch (err) {
    throw new EdgehubError('BACKUP_FAILED', `cannot read the data folder ${dataDir}: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  if (names.length === 0) {
    throw new EdgehubError(
      'BACKUP_FAILED',
      `no databases in ${dataDir}: is it the hub's data folder (hub.data_dir, or --data)?`,
    );
  }
  return names.sort();
}

async function copyDatabase(source: string, dest: string): Promise<void> {
  let db;
  try {
    // Read-only: the backup never takes the write lock the hub's writer needs.
    db = new Database(source, { readonly: true, fileMustExist: true, timeout: BUSY_TIMEOUT_MS });
    await db.backup(dest, { progress: () => ALL_PAGES });
  } catch (err) {
    throw new EdgehubError('BACKUP_FAILED', `cannot copy the database ${source}: ${errorMessage(err)}`, {
      cause: err,
    });
  } finally {
    db?.close();
  }
  // The copy is a single file; a -wal would only appear if something opened it meanwhile.
  for (const extra of [`${dest}-wal`, `${dest}-shm`]) rmSync(extra, { force: true });
}

function streamInto(tar: TarWriter, name: string, path: string, size: number, mtimeMs: number): void {
  const fd = openSync(path, 'r');
  try {
    let position = 0;
    tar.addStream(name, size, mtimeMs, (chunk) => {
      const n = readSync(fd, chunk, 0, chunk.length, position);
      position += n;
      return n;
    });
  } finally {
    closeSync(fd);
  }
}

function readOrFail(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new EdgehubError('BACKUP_FAILED', `cannot read ${path}: ${errorMessage(err)}`, { cause: err });
  }
}

/** Regular files under `dir`, sorted, skipping editors' hidden files and folders. */
function walkFiles(dir: string): string[] {
  let items;
  try {
    items = readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    throw new EdgehubError('BACKUP_FAILED', `cannot read the rules folder ${dir}: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  const out: string[] = [];
  for (const item of items.sort((a, b) => a.name.localeCompare(b.name))) {
    if (item.name.startsWith('.')) continue;
    const path = join(dir, item.name);
    if (item.isDirectory()) out.push(...walkFiles(path));
    else if (item.isFile()) out.push(path);
  }
  return out;
}

/** Staging beside the archive: on its disk, so a small /tmp (tmpfs on a Pi) does not limit the backup. */
function tempDirBeside(file: string): string {
  try {
    return mkdtempSync(join(dirname(file), '.edgehub-backup-'));
  } catch (err) {
    throw new EdgehubError('BACKUP_FAILED', `cannot write beside ${file}: ${errorMessage(err)}`, {
      cause: err,
    });
  }
}
