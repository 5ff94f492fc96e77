import { existsSync, readdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fail, ok, reason, warn, type CheckResult } from './check-result.js';
import type { DiskSpace, DoctorEnv } from './doctor-env.js';
import { schemaChecks } from './schema-checks.js';
import { mayAccess, type ServiceUser } from './service-user.js';

const MiB = 1024 * 1024;

/**
 * Free space verdicts. Below 50 MiB the hub is close to failing: SQLite needs room for the WAL of a
 * batch and for checkpoints, and the hub then buffers events in memory and drops the oldest. Below
 * 500 MiB or 10 % of the file system (an SD card of 8 GiB fills with logs and updates too) there is
 * still room, but not for long at a few hundred events a second, nor for the event store's default
 * retention of 1 GiB (store.retention.max_size_mb).
 */
export const DISK_LIMITS = { failBytes: 50 * MiB, warnBytes: 500 * MiB, warnFraction: 0.1 } as const;
/** Inodes: the hub needs a few dozen files (each database with its -wal and -shm, temporary files). */
export const INODE_LIMITS = { failFree: 100, warnFraction: 0.1 } as const;

/** What each database the hub writes into its data folder holds, for messages. */
export const HUB_DATABASES: Readonly<Record<string, string>> = {
  'events.db': 'the event store',
  'broker.db': "the broker's sessions, retained messages and queued QoS 1/2 messages",
  'rules.db': 'rule traces and rule state',
  'notifications.db': 'notification deliveries',
};

function mib(bytes: number): string {
  return bytes >= 10 * 1024 * MiB
    ? `${(bytes / (1024 * MiB)).toFixed(1)} GiB`
    : `${Math.floor(bytes / MiB)} MiB`;
}

/** The closest existing folder at or above `dir`. */
function existingAncestor(dir: string): string {
  let at = dir;
  while (!existsSync(at) && dirname(at) !== at) at = dirname(at);
  return at;
}

/** `hub.data_dir` is a folder the hub can create files in, with room on its disk, and its databases are sound. */
export async function dataChecks(env: DoctorEnv, dataDir: string, user: ServiceUser): Promise<CheckResult[]> {
  const dir = resolve(dataDir);
  const results: CheckResult[] = [folderCheck(env, dir, user)];
  let space: DiskSpace | undefined;
  try {
    space = await env.statfs(existingAncestor(dir));
  } catch (err) {
    results.push(
      warn('data.disk', `cannot tell the free space of ${dir}: ${reason(err)}`, 'check it with `df -h`'),
    );
  }
  if (space) results.push(diskCheck(dir, space), inodeCheck(dir, space));
  results.push(...(await sqliteChecks(dir)), ...schemaChecks(dir));
  return results;
}

function folderCheck(env: DoctorEnv, dir: string, user: ServiceUser): CheckResult {
  const fix = `make ${dir} writable by ${user.name} (sudo chown -R ${user.name} ${dir}), or set hub.data_dir to a writable folder`;
  if (!existsSync(dir)) {
    const parent = existingAncestor(dir);
    const stat = statSync(parent);
    if (!stat.isDirectory() || !mayAccess(stat, user, 3))
      return fail('data.dir', `${dir} does not exist and ${user.name} cannot create it in ${parent}`, fix);
    return ok('data.dir', `${dir} does not exist yet; the hub creates it at start`);
  }
  const stat = statSync(dir);
  if (!stat.isDirectory()) return fail('data.dir', `${dir} is not a folder`, `set hub.data_dir to a folder`);
  // The real test: create and delete a file (a read-only mount or a full disk shows here, not in mode bits).
  const probe = join(dir, `.edgehub-doctor-${env.pid}`);
  try {
    writeFileSync(probe, '');
    unlinkSync(probe);
  } catch (err) {
    return fail('data.dir', `cannot create a file in ${dir}: ${reason(err)}`, fix);
  }
  if (user.service && !mayAccess(stat, user, 3))
    return fail('data.dir', `${dir} is writable, but not by the service user ${user.name}`, fix);
  return ok('data.dir', `${dir} is writable`);
}

export function diskCheck(dir: string, s: DiskSpace): CheckResult {
  const free = s.bavail * s.bsize;
  const total = s.blocks * s.bsize;
  const share = total > 0 ? free / total : 1;
  const what = `${mib(free)} free of ${mib(total)} (${Math.round(share * 100)} %) under ${dir}`;
  const fix = `free space: delete old files, shorten store.retention.max_age / max_size_mb, or limit the journal (journalctl --vacuum-size=100M)`;
  if (free < DISK_LIMITS.failBytes) return fail('data.disk', `${what}: the disk is full or nearly`, fix);
  if (free < DISK_LIMITS.warnBytes || share < DISK_LIMITS.warnFraction)
    return warn('data.disk', `${what}: running low`, fix);
  return ok('data.disk', what);
}

export function inodeCheck(dir: string, s: DiskSpace): CheckResult {
  if (s.files === 0) return ok('data.inodes', `the file system under ${dir} does not count inodes`);
  const what = `${s.ffree} of ${s.files} inodes free under ${dir}`;
  const fix = 'delete many small files (find / -xdev -type f | cut -d/ -f2 | sort | uniq -c shows where)';
  if (s.ffree < INODE_LIMITS.failFree) return fail('data.inodes', `${what}: no new files can be made`, fix);
  if (s.ffree < s.files * INODE_LIMITS.warnFraction) return warn('data.inodes', `${what}: running low`, fix);
  return ok('data.inodes', what);
}

/** `PRAGMA quick_check` of every `*.db` in the folder, opened read-only (safe while the hub runs). */
export async function sqliteChecks(dir: string): Promise<CheckResult[]> {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.db'));
  } catch {
    return []; // no folder yet: nothing to check, and data.dir has said so
  }
  if (names.length === 0) return [ok('sqlite', `no databases in ${dir} yet; the hub creates them at start`)];
  const { default: Database } = await import('better-sqlite3');
  return names.sort().map((name) => {
    const file = join(dir, name);
    const check = `sqlite.${name}`;
    const what = HUB_DATABASES[name] ? ` (${HUB_DATABASES[name]})` : '';
    const fix = `stop the hub and move ${file} aside (the hub starts a new one), or restore it from a backup; \`sqlite3 ${file} .recover\` may save its rows`;
    let db;
    try {
      db = new Database(file, { readonly: true, fileMustExist: true });
      const rows = db.pragma('quick_check') as { quick_check: string }[];
      const problems = rows.map((r) => r.quick_check).filter((r) => r !== 'ok');
      if (problems.length > 0) return fail(check, `${file}${what} is damaged: ${problems[0]}`, fix);
      return ok(check, `${file}${what} passes quick_check`);
    } catch (err) {
      return fail(check, `${file}${what} cannot be read as a database: ${reason(err)}`, fix);
    } finally {
      db?.close();
    }
  });
}
