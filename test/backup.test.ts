import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { eventsDbPath, openEventReader } from '../hub/index.js';
import { AckedLoad } from './support/acked-load.js';
import { ClientPool } from './support/mqtt-client.js';
import { HubProcesses, runCli, signalAndWait } from './support/hub-process.js';
import { TempDirs, writeFiles } from './support/temp.js';

const temp = new TempDirs();
const pool = new ClientPool();
const hubs = new HubProcesses();

afterEach(async () => {
  await pool.closeAll();
  await hubs.killAll();
  temp.cleanup();
});

function systemTar(args: string[]): string {
  try {
    return execFileSync('tar', args, { encoding: 'utf8' });
  } catch (err) {
    throw new Error(`this test needs GNU tar on the PATH (apt-get install tar): ${(err as Error).message}`);
  }
}

/** A database like the hub's (WAL), so the config/rules tests need no hub. */
function makeDatabase(file: string, rows: number): void {
  const db = new BetterSqlite(file);
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE t (x INTEGER)');
  for (let i = 0; i < rows; i++) db.prepare('INSERT INTO t VALUES (?)').run(i);
  db.close();
}

describe('edgehub backup while the hub takes QoS 1 messages', () => {
  it('restores every message acknowledged before the backup began; restore refuses while the hub runs', async () => {
    const data = temp.make('edgehub-backup-data-');
    const { hub, url } = await hubs.start(data);

    // Four publishers, four messages in flight each, until told to stop.
    const load = await AckedLoad.start(pool, url, { publishers: 4, inFlight: 4 });
    await load.untilEach(150);
    const before = load.snapshot();
    const archive = join(temp.make('edgehub-backup-out-'), 'hub.tar');
    const backup = await runCli(['backup', archive, '--data', data]);
    const during = load.total;
    expect(backup.stderr).toBe('');
    expect(backup.code).toBe(0);
    // The backup ran under load: messages kept being acknowledged while it copied.
    expect(during).toBeGreaterThan(before.reduce((n, s) => n + s.length, 0));

    const refused = await runCli(['restore', archive, '--data', data]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('RESTORE_HUB_RUNNING');

    await load.stop();
    await pool.closeAll();
    await signalAndWait(hub, 'SIGTERM');

    const listed = systemTar(['-tf', archive]).trim().split('\n');
    expect(listed[0]).toBe('manifest.json');
    expect(listed).toEqual(expect.arrayContaining(['data/events.db', 'data/broker.db']));

    const fresh = join(temp.make('edgehub-restore-'), 'data');
    const restored = await runCli(['restore', archive, '--data', fresh]);
    expect(restored.stderr).toBe('');
    expect(restored.code).toBe(0);
    const reader = openEventReader(eventsDbPath(fresh));
    try {
      const stored = AckedLoad.stored(reader, before.length);
      before.forEach((seqs, p) => {
        const got = stored[p] ?? [];
        const missing = seqs.filter((seq) => !new Set(got).has(seq));
        expect({ p, missing }).toEqual({ p, missing: [] });
        expect(new Set(got).size).toBe(got.length); // no event twice
        expect(got.length).toBeGreaterThanOrEqual(seqs.length);
      });
    } finally {
      reader.close();
    }
  });
});

describe('edgehub restore', () => {
  function setUp() {
    const root = temp.make('edgehub-backup-cfg-');
    const data = join(root, 'data');
    const rules = join(root, 'rules');
    execFileSync('mkdir', ['-p', data, rules]);
    makeDatabase(join(data, 'events.db'), 100);
    const config = join(root, 'edgehub.yaml');
    writeFileSync(config, `hub:\n  data_dir: ${data}\n  rules_dir: ${rules}\n`);
    writeFiles(rules, { 'a.yaml': 'rules: []\n', 'b.yaml': 'rules: []\n' });
    return { root, data, rules, config, archive: join(root, 'backup.tar') };
  }

  it('refuses a damaged archive, naming the file, and changes nothing', async () => {
    const s = setUp();
    expect((await runCli(['backup', s.archive, '--config', s.config])).code).toBe(0);
    const bytes = readFileSync(s.archive);
    // The first data block after the header of data/events.db (its name starts the 512-byte header).
    const at = bytes.indexOf('data/events.db\0') + 512 + 1000;
    bytes[at] = bytes[at]! ^ 0xff;
    const damaged = join(s.root, 'damaged.tar');
    writeFileSync(damaged, bytes);

    const fresh = join(s.root, 'fresh');
    const result = await runCli(['restore', damaged, '--data', fresh]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('RESTORE_ARCHIVE_INVALID');
    expect(result.stderr).toContain('data/events.db');
    expect(existsSync(join(fresh, 'events.db'))).toBe(false);
  });

  it('puts back the config and rules only where missing, or with --force', async () => {
    const s = setUp();
    expect((await runCli(['backup', s.archive, '--config', s.config])).code).toBe(0);
    const original = readFileSync(s.config, 'utf8');
    writeFileSync(s.config, original + '# edited\n');
    writeFileSync(join(s.rules, 'a.yaml'), 'rules: [] # edited\n');
    execFileSync('rm', [join(s.rules, 'b.yaml'), join(s.data, 'events.db')]);

    const kept = await runCli(['restore', s.archive, '--config', s.config]);
    expect(kept.stderr).toBe('');
    expect(kept.code).toBe(0);
    expect(readFileSync(s.config, 'utf8')).toBe(original + '# edited\n');
    expect(readFileSync(join(s.rules, 'a.yaml'), 'utf8')).toBe('rules: [] # edited\n');
    expect(readFileSync(join(s.rules, 'b.yaml'), 'utf8')).toBe('rules: []\n');
    const db = new BetterSqlite(join(s.data, 'events.db'), { readonly: true });
    expect(db.prepare('SELECT count(*) AS n FROM t').get()).toEqual({ n: 100 });
    db.close();

    const forced = await runCli(['restore', s.archive, '--config', s.config, '--force']);
    expect(forced.code).toBe(0);
    expect(readFileSync(s.config, 'utf8')).toBe(original);
    expect(readFileSync(join(s.rules, 'a.yaml'), 'utf8')).toBe('rules: []\n');
  });
});
