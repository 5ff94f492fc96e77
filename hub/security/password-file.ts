import { chmod, chown, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { EdgehubError, EdgehubErrors } from '../../kernel/index.js';
import { hashFormatProblem } from './password-hash.js';

/** Username → stored hash line, in file order. */
export type PasswordTable = ReadonlyMap<string, string>;

/**
 * Parses a password file: one `user:hash` per line, Mosquitto's layout. Blank lines and lines starting
 * with `#` are skipped. Every bad line is reported, each with its `file:line:col`.
 */
export function parsePasswordFile(file: string, text: string): PasswordTable {
  const table = new Map<string, string>();
  const errors: EdgehubError[] = [];
  const fail = (line: number, col: number, message: string): void => {
    errors.push(
      new EdgehubError('PASSWORD_FILE_INVALID', message, { location: { file, line, col, path: '' } }),
    );
  };
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const colon = line.indexOf(':');
    if (colon <= 0) return fail(i + 1, 1, 'expected user:hash');
    const user = line.slice(0, colon);
    const hash = line.slice(colon + 1);
    const problem = hashFormatProblem(hash);
    if (problem !== null) return fail(i + 1, colon + 2, `user ${user}: ${problem}`);
    if (table.has(user)) return fail(i + 1, 1, `user ${user} appears twice`);
    table.set(user, hash);
  });
  if (errors.length === 1 && errors[0]) throw errors[0];
  if (errors.length > 1) throw new EdgehubErrors('PASSWORD_FILE_INVALID', errors);
  return table;
}

export function formatPasswordFile(table: PasswordTable): string {
  return [...table].map(([user, hash]) => `${user}:${hash}\n`).join('');
}

/** Why a username cannot go in a password file, or null. */
export function usernameProblem(user: string): string | null {
  if (user === '') return 'the username is empty';
  if (user.includes(':')) return 'a username cannot contain ":" (it separates user and hash)';
  if (/[\r\n]/.test(user)) return 'a username cannot contain a line break';
  return null;
}

export async function readPasswordFile(file: string): Promise<PasswordTable> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new EdgehubError(
      'PASSWORD_FILE_INVALID',
      `cannot read password file ${file}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  return parsePasswordFile(file, text);
}

/**
 * Replaces the file in one step (write a sibling, then rename), readable by its owner only, so a hub
 * reloading it on SIGHUP never sees half a file.
 */
export async function writePasswordFile(file: string, table: PasswordTable): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  const before = await stat(file).catch(() => undefined);
  await writeFile(tmp, formatPasswordFile(table), { mode: 0o600 });
  await chmod(tmp, 0o600);
  // `sudo edgehub passwd` on the installed file (owned by the service user, which alone may read
  // it): the new file keeps that owner, or the hub could no longer read it after the next reload.
  if (before && process.getuid?.() === 0) await chown(tmp, before.uid, before.gid);
  await rename(tmp, file);
}
