import { randomBytes } from 'node:crypto';
import { open, realpath, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Writes `text` to `file` so that a reader (the hub's rules watcher, a crash) sees either the old
 * file or the new one, never a part: a temporary file in the same directory, fsynced, renamed over
 * the target, then the directory fsynced so the rename itself survives a power cut. The temporary
 * name starts with `.`, which the rules loader and watcher ignore. Keeps the target's mode, and a
 * symlinked file stays a symlink (its target is what is replaced).
 */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const file = await realpath(path).catch(() => path);
  const dir = dirname(file);
  const temp = join(dir, `.${basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  let mode = 0o644;
  try {
    mode = (await stat(file)).mode & 0o7777;
  } catch {
    // A new file: the default mode above.
  }
  try {
    const handle = await open(temp, 'wx', mode);
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  await syncDir(dir);
}

async function syncDir(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // Some file systems cannot fsync a directory; the rename has happened either way.
  } finally {
    await handle?.close();
  }
}
