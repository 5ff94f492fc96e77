import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { EdgehubError } from '../../kernel/index.js';

/** One line of what install or uninstall did (or, under `--root`, would have had a command do). */
export interface InstallStep {
  status: 'created' | 'updated' | 'unchanged' | 'removed' | 'absent' | 'kept' | 'ran' | 'would run' | 'note';
  subject: string;
}

/** Who a file or folder belongs to, by name (looked up in the target's /etc/passwd and /etc/group). */
export interface Owner {
  user: string;
  group: string;
}

export interface Wanted {
  /** Absolute path on the installed system, e.g. `/etc/edgehub/config.yaml`. */
  path: string;
  /** Permission bits, e.g. 0o640. */
  mode: number;
  owner: Owner;
}

/**
 * The system being installed into: `/` (live: commands run, owners are set) or a folder given with
 * `--root` (files only: commands are listed as `would run`, owners are left as they are, since the
 * users they name exist only on the real system).
 */
export class InstallTarget {
  readonly steps: InstallStep[] = [];

  constructor(readonly root: string) {}

  get live(): boolean {
    return this.root === '/';
  }

  /** Where `path` (absolute on the installed system) is on this machine. */
  at(path: string): string {
    return join(this.root, path);
  }

  step(status: InstallStep['status'], subject: string): void {
    this.steps.push({ status, subject });
  }

  /** Runs a command when live; under `--root` lists it instead. Returns its stdout. */
  run(argv: readonly string[]): string {
    const shown = argv.join(' ');
    if (!this.live) {
      this.step('would run', shown);
      return '';
    }
    try {
      const out = execFileSync(argv[0] ?? '', argv.slice(1), { encoding: 'utf8', stdio: 'pipe' });
      this.step('ran', shown);
      return out;
    } catch (err) {
      const stderr = (err as { stderr?: string }).stderr?.trim();
      throw new EdgehubError('INSTALL_FAILED', `${shown} failed: ${stderr || (err as Error).message}`, {
        cause: err,
      });
    }
  }

  /** Runs a query command (no change to the system) and gives its stdout, '' when it fails. */
  query(argv: readonly string[]): string {
    if (!this.live) return '';
    try {
      return execFileSync(argv[0] ?? '', argv.slice(1), { encoding: 'utf8', stdio: 'pipe' }).trim();
    } catch (err) {
      return ((err as { stdout?: string }).stdout ?? '').trim();
    }
  }

  /** Entries of the target's `/etc/passwd` or `/etc/group`: name → fields after the name. */
  database(file: '/etc/passwd' | '/etc/group'): Map<string, string[]> {
    const entries = new Map<string, string[]>();
    let text = '';
    try {
      text = readFileSync(this.at(file), 'utf8');
    } catch {
      return entries;
    }
    for (const line of text.split('\n')) {
      const [name, ...fields] = line.split(':');
      if (name) entries.set(name, fields);
    }
    return entries;
  }

  /** A folder with its mode (and owner when live); created or corrected only where it differs. */
  ensureDir(wanted: Wanted): void {
    const where = this.at(wanted.path);
    if (!existsSync(where)) {
      // Folders above it (only missing under --root) get the usual 0755.
      mkdirSync(dirname(where), { recursive: true, mode: 0o755 });
      mkdirSync(where, { mode: wanted.mode });
      chmodSync(where, wanted.mode);
      this.setOwner(where, wanted.owner);
      this.step('created', `${wanted.path}/ (${describe(wanted)})`);
      return;
    }
    this.correct(where, wanted, `${wanted.path}/`);
  }

  /**
   * A file edgehub owns: written when missing or when its text differs, else left alone (its mtime
   * too). `seed` files are the user's once written: their text is never replaced, only their mode.
   */
  ensureFile(wanted: Wanted, text: string, kind: 'owned' | 'seed'): 'created' | 'updated' | 'unchanged' {
    const where = this.at(wanted.path);
    if (!existsSync(where)) {
      writeFileSync(where, text, { mode: wanted.mode });
      chmodSync(where, wanted.mode);
      this.setOwner(where, wanted.owner);
      this.step('created', `${wanted.path} (${describe(wanted)})`);
      return 'created';
    }
    if (kind === 'owned' && readFileSync(where, 'utf8') !== text) {
      writeFileSync(where, text);
      this.correct(where, wanted, wanted.path, true);
      this.step('updated', `${wanted.path} (${describe(wanted)})`);
      return 'updated';
    }
    return this.correct(where, wanted, kind === 'seed' ? `${wanted.path} (kept as it is)` : wanted.path)
      ? 'updated'
      : 'unchanged';
  }

  /** Sets mode and owner where they differ; true when something changed. */
  private correct(where: string, wanted: Wanted, subject: string, quiet = false): boolean {
    const st = statSync(where);
    const fixes: string[] = [];
    if ((st.mode & 0o7777) !== wanted.mode) {
      chmodSync(where, wanted.mode);
      fixes.push(`mode ${octal(st.mode & 0o7777)} -> ${octal(wanted.mode)}`);
    }
    const ids = this.live ? this.ids(wanted.owner) : undefined;
    if (ids && (st.uid !== ids.uid || st.gid !== ids.gid)) {
      chownSync(where, ids.uid, ids.gid);
      fixes.push(`owner -> ${wanted.owner.user}:${wanted.owner.group}`);
    }
    if (!quiet)
      this.step(
        fixes.length > 0 ? 'updated' : 'unchanged',
        fixes.length > 0 ? `${subject}: ${fixes.join(', ')}` : subject,
      );
    return fixes.length > 0;
  }

  private setOwner(where: string, owner: Owner): void {
    const ids = this.live ? this.ids(owner) : undefined;
    if (ids) chownSync(where, ids.uid, ids.gid);
  }

  private ids(owner: Owner): { uid: number; gid: number } {
    const uid = this.database('/etc/passwd').get(owner.user)?.[1];
    const gid = this.database('/etc/group').get(owner.group)?.[1];
    if (uid === undefined || gid === undefined)
      throw new EdgehubError(
        'INSTALL_FAILED',
        `no user ${owner.user} or group ${owner.group} in /etc/passwd, /etc/group`,
      );
    return { uid: Number(uid), gid: Number(gid) };
  }
}

function octal(mode: number): string {
  return mode.toString(8).padStart(4, '0');
}

function describe(wanted: Wanted): string {
  return `${octal(wanted.mode)} ${wanted.owner.user}:${wanted.owner.group}`;
}
