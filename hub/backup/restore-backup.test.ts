import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { EdgehubError } from '../../kernel/index.js';
import { assertNoHubRunning } from './restore-backup.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Another process holding `file` open in WAL mode and idle (no transaction), as a hub between batches. */
async function holdOpen(file: string): Promise<() => Promise<void>> {
  const script = `
    const db = new (require('better-sqlite3'))(${JSON.stringify(file)});
    db.pragma('journal_mode = WAL');
    db.prepare('SELECT count(*) FROM t').get();
    process.stdout.write('ready\\n');
    process.stdin.on('end', () => { db.close(); process.exit(0); });
    process.stdin.resume();`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`the holder exited (${code})`)));
  });
  return () =>
    new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.stdin.end();
    });
}

describe('assertNoHubRunning', () => {
  it('refuses while another process has the database open, even idle, and passes once it closed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgehub-lock-'));
    dirs.push(dir);
    const db = new Database(join(dir, 'events.db'));
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE t (x)');
    db.close();

    const release = await holdOpen(join(dir, 'events.db'));
    let caught: unknown;
    try {
      assertNoHubRunning(dir, ['events.db']);
    } catch (err) {
      caught = err;
    }
    await release();
    expect((caught as EdgehubError).code).toBe('RESTORE_HUB_RUNNING');
    expect(() => assertNoHubRunning(dir, ['events.db', 'missing.db'])).not.toThrow();
  });
});
