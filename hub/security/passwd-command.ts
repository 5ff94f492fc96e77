import { access } from 'node:fs/promises';
import { EdgehubError } from '../../kernel/index.js';
import { readPasswordFile, usernameProblem, writePasswordFile } from './password-file.js';
import { hashPassword, type ScryptParams } from './password-hash.js';

export interface PasswdOptions {
  file: string;
  user: string;
  /** Start a new file holding only this user (replacing any existing file). */
  create: boolean;
  /** Remove the user instead of setting a password. */
  delete: boolean;
}

/** Where the password comes from: asked twice on a terminal, or one line from a pipe. */
export interface PasswordSource {
  /** Resolves with the password typed, or read from stdin. */
  read(): Promise<string>;
}

export interface PasswdDeps {
  source: PasswordSource;
  out: (line: string) => void;
  /** Cost parameters; tests lower them to run fast. */
  scrypt?: ScryptParams;
}

/**
 * `edgehub passwd FILE USER [-c] [-D]`: adds or updates USER's password (hashed with scrypt), or
 * deletes USER. The file is replaced in one step, so a running hub reloading it on SIGHUP never
 * reads half of it.
 */
export async function runPasswdCommand(opts: PasswdOptions, deps: PasswdDeps): Promise<void> {
  if (opts.create && opts.delete) throw new EdgehubError('USAGE', '-c and -D cannot be used together');
  const problem = usernameProblem(opts.user);
  if (problem !== null) throw new EdgehubError('USAGE', problem);
  const exists = await access(opts.file).then(
    () => true,
    () => false,
  );
  if (!opts.create && !exists) {
    throw new EdgehubError(
      'PASSWORD_FILE_INVALID',
      `password file ${opts.file} does not exist; create it with -c`,
    );
  }
  const table = new Map(opts.create ? [] : await readPasswordFile(opts.file));
  if (opts.delete) {
    if (!table.delete(opts.user)) {
      throw new EdgehubError('USAGE', `user ${opts.user} is not in ${opts.file}`);
    }
    await writePasswordFile(opts.file, table);
    deps.out(`deleted user ${opts.user} from ${opts.file}`);
    return;
  }
  const password = await deps.source.read();
  if (password === '') throw new EdgehubError('USAGE', 'empty password; nothing written');
  const updating = table.has(opts.user);
  table.set(opts.user, await hashPassword(password, deps.scrypt));
  await writePasswordFile(opts.file, table);
  deps.out(`${updating ? 'updated' : 'added'} user ${opts.user} in ${opts.file}`);
}
