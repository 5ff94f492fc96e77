import { chmodSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { dataChecks, diskCheck, inodeCheck, sqliteChecks } from './data-checks.js';
import { FakeMachine, ROOMY_DISK } from './fake-doctor-env.js';
import type { ServiceUser } from './service-user.js';

let machine: FakeMachine | undefined;
afterEach(() => machine?.cleanup());

/** Whoever runs the tests, as the doctor sees the user running it. */
const me: ServiceUser = {
  name: 'me',
  uid: process.getuid?.() ?? 0,
  gid: process.getgid?.() ?? 0,
  gids: process.getgroups?.() ?? [],
  notInSession: [],
  service: false,
};
/** A disk of `totalMiB` with `freeMiB` free, in 4 KiB blocks. */
const disk = (freeMiB: number, totalMiB: number) => ({
  ...ROOMY_DISK,
  bavail: freeMiB * 256,
  blocks: totalMiB * 256,
});
const verdicts = (results: { check: string; status: string }[]) =>
  results.map((r) => `${r.check} ${r.status}`);

describe('disk headroom', () => {
  it('fails under 50 MiB, warns under 500 MiB or 10 %, passes otherwise', () => {
    expect(diskCheck('/d', disk(49, 30_000)).status).toBe('FAIL');
    expect(diskCheck('/d', disk(499, 1_000)).status).toBe('WARN');
    expect(diskCheck('/d', disk(2_000, 30_000)).status).toBe('WARN');
    expect(diskCheck('/d', disk(2_000, 10_000)).status).toBe('OK');
    expect(diskCheck('/d', { ...ROOMY_DISK, bavail: 0 }).status).toBe('FAIL');
  });

  it('fails with under 100 inodes free, warns under 10 %, and passes file systems that do not count them', () => {
    expect(inodeCheck('/d', { ...ROOMY_DISK, files: 1000, ffree: 99 }).status).toBe('FAIL');
    expect(inodeCheck('/d', { ...ROOMY_DISK, files: 100_000, ffree: 9_000 }).status).toBe('WARN');
    expect(inodeCheck('/d', { ...ROOMY_DISK, files: 100_000, ffree: 50_000 }).status).toBe('OK');
    expect(inodeCheck('/d', { ...ROOMY_DISK, files: 0, ffree: 0 }).status).toBe('OK');
  });
});

describe('data folder', () => {
  it('passes a writable folder and leaves no probe file behind', async () => {
    machine = new FakeMachine();
    const dir = join(machine.root, 'data');
    mkdirSync(dir);
    const results = await dataChecks(machine.env(), dir, me);
    expect(verdicts(results)).toEqual(['data.dir OK', 'data.disk OK', 'data.inodes OK', 'sqlite OK']);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('passes a folder the hub will create, and fails a file where the folder should be', async () => {
    machine = new FakeMachine();
    const missing = await dataChecks(machine.env(), join(machine.root, 'not', 'yet'), me);
    expect(missing[0]?.status).toBe('OK');
    const file = machine.file('/data', '');
    expect((await dataChecks(machine.env(), file, me))[0]?.status).toBe('FAIL');
  });

  it('fails a folder the service user may not write', async () => {
    machine = new FakeMachine();
    const dir = join(machine.root, 'data');
    mkdirSync(dir);
    chmodSync(dir, 0o755);
    const service: ServiceUser = { ...me, uid: 998, gid: 997, gids: [997], service: true };
    expect((await dataChecks(machine.env(), dir, service))[0]?.status).toBe('FAIL');
  });

  it('reports a full disk from statfs', async () => {
    machine = new FakeMachine();
    machine.disk = { ...ROOMY_DISK, bavail: 0 };
    const results = await dataChecks(machine.env(), machine.root, me);
    expect(results.find((r) => r.check === 'data.disk')?.status).toBe('FAIL');
  });
});

describe('databases', () => {
  it('passes a sound database and fails a file that is not one', async () => {
    machine = new FakeMachine();
    const dir = join(machine.root, 'data');
    mkdirSync(dir);
    const db = new Database(join(dir, 'events.db'));
    db.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)');
    db.close();
    writeFileSync(join(dir, 'broker.db'), 'this is not a database, only a long enough text. '.repeat(40));
    expect(verdicts(await sqliteChecks(dir))).toEqual(['sqlite.broker.db FAIL', 'sqlite.events.db OK']);
  });
});
