import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PtyPair } from '../firmware-sim/index.js';
import { certWithDates, requireOpenssl } from './support/certs.js';
import { Cleanups } from './support/cleanups.js';
import { runCli, signalAndWait, spawnCli, waitForLog } from './support/hub-process.js';
import { requireSocat } from './support/socat.js';
import { TempDirs } from './support/temp.js';

interface Verdict {
  check: string;
  status: 'OK' | 'WARN' | 'FAIL';
  message: string;
  fix?: string;
}

const temp = new TempDirs();
const cleanups = new Cleanups();
afterEach(async () => {
  await cleanups.run();
  temp.cleanup();
});

requireSocat();
requireOpenssl();

/** A server on a free loopback port; closed after the test. */
async function listening(): Promise<{ server: Server; port: number }> {
  const server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.add(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { server, port: (server.address() as AddressInfo).port };
}

/** A port that was free a moment ago (the config must name a number to be checked). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A hub config under a fresh folder: its data folder, rules folder and the YAML `extra` adds. */
function hubConfig(extra: string, dataDir?: string): { dir: string; file: string; rules: string } {
  const dir = temp.make('edgehub-doctor-');
  const data = dataDir ?? join(dir, 'data');
  const rules = join(dir, 'rules');
  mkdirSync(data, { recursive: true });
  mkdirSync(rules);
  writeFileSync(
    join(rules, 'hello.yaml'),
    'rules:\n  - id: hello\n    when:\n      mqtt: sensors/#\n    then:\n      - log: "{{ topic }}"\n',
  );
  const file = join(dir, 'edgehub.yaml');
  writeFileSync(file, `hub:\n  data_dir: ${data}\n  rules_dir: ${rules}\n${extra}`);
  return { dir, file, rules };
}

/** `mqtt:`/`http:` on ports free now, so the port checks have something to check. */
async function freeListeners(): Promise<string> {
  return `mqtt:\n  host: 127.0.0.1\n  port: ${await freePort()}\n  ws_port: null\nhttp:\n  port: ${await freePort()}\n`;
}

async function doctor(file: string): Promise<{ code: number | null; verdicts: Verdict[] }> {
  const result = await runCli(['doctor', '--config', file, '--json']);
  return { code: result.code, verdicts: JSON.parse(result.stdout) as Verdict[] };
}

const statusOf = (verdicts: readonly Verdict[], check: string) =>
  verdicts.find((v) => v.check === check)?.status;

/** A pty pair whose host end is the serial device; stopped after the test. */
async function ptyDevice(dir: string): Promise<string> {
  const pty = new PtyPair({ hostLink: join(dir, 'ttyBoard'), deviceLink: join(dir, 'ttyBoard-sim') });
  await pty.start();
  cleanups.add(() => pty.stop());
  return pty.hostPath;
}

describe('edgehub doctor', () => {
  it('passes a good config with a pty as its serial device: only OK and WARN, exit 0', async () => {
    const remote = await listening();
    const { dir, file } = hubConfig(await freeListeners());
    const board = await ptyDevice(dir);
    const db = new Database(join(dir, 'data', 'events.db'));
    db.exec('CREATE TABLE events (id INTEGER PRIMARY KEY, topic TEXT)');
    db.close();
    writeFileSync(
      file,
      `devices:\n  - id: bench-1\n    adapter: serial\n    serial: { path: ${board} }\n` +
        `connectors:\n  - id: up\n    type: mqtt\n    url: mqtt://127.0.0.1:${remote.port}\n`,
      { flag: 'a' },
    );

    const human = await runCli(['doctor', '--config', file]);
    expect(human.stderr).toBe('');
    expect(human.code).toBe(0);
    const lines = human.stdout.split('\n').filter((l) => /^(OK|WARN|FAIL) /.test(l));
    expect(lines.length).toBeGreaterThan(10);
    expect(lines.filter((l) => l.startsWith('FAIL'))).toEqual([]);

    const { code, verdicts } = await doctor(file);
    expect(code).toBe(0);
    expect(verdicts.filter((v) => v.status === 'FAIL')).toEqual([]);
    for (const check of [
      'config',
      'rules',
      'port.mqtt',
      'port.http',
      'data.dir',
      'sqlite.events.db',
      'serial.bench-1',
      'serial.bench-1.access',
      'serial.bench-1.holders',
      'clock.time',
      'connector.up',
    ])
      expect([check, statusOf(verdicts, check)]).toEqual([check, 'OK']);
  });

  it('prints --json as an array of {check, status, message, fix?}', async () => {
    const { file } = hubConfig(await freeListeners());
    const { verdicts } = await doctor(file);
    expect(Array.isArray(verdicts)).toBe(true);
    for (const v of verdicts) {
      expect(Object.keys(v).sort()).toEqual(
        v.status === 'OK' ? ['check', 'message', 'status'] : ['check', 'fix', 'message', 'status'],
      );
      expect(['OK', 'WARN', 'FAIL']).toContain(v.status);
      expect(typeof v.check === 'string' && typeof v.message === 'string').toBe(true);
    }
  });

  it('fails a serial path that is not a character device', async () => {
    const { dir, file } = hubConfig(await freeListeners());
    const notTty = join(dir, 'ttyUSB-file');
    writeFileSync(notTty, '');
    writeFileSync(file, `devices:\n  - id: uno\n    adapter: firmata\n    firmata: { path: ${notTty} }\n`, {
      flag: 'a',
    });
    const { code, verdicts } = await doctor(file);
    expect(code).toBe(1);
    expect(statusOf(verdicts, 'serial.uno')).toBe('FAIL');
  });

  it('fails a port held by another process, naming its pid', async () => {
    const { port } = await listening();
    const { file } = hubConfig(
      `mqtt:\n  host: 127.0.0.1\n  port: ${port}\n  ws_port: null\nhttp:\n  port: null\n`,
    );
    const { code, verdicts } = await doctor(file);
    expect(code).toBe(1);
    const held = verdicts.find((v) => v.check === 'port.mqtt');
    expect(held?.status).toBe('FAIL');
    expect(held?.message).toContain(`pid ${process.pid}`);
  });

  it('passes ports held by a running edgehub, and checks its databases while it writes them', async () => {
    const { file } = hubConfig(await freeListeners());
    const hub = spawnCli(['start', '--config', file, '--no-demo']);
    cleanups.add(() => signalAndWait(hub, 'SIGKILL'));
    await waitForLog(hub, /MQTT broker listening/);
    const { code, verdicts } = await doctor(file);
    expect(code).toBe(0);
    const held = verdicts.find((v) => v.check === 'port.mqtt');
    expect(held?.status).toBe('OK');
    expect(held?.message).toContain(`pid ${hub.pid}`);
    expect(statusOf(verdicts, 'port.http')).toBe('OK');
    expect(statusOf(verdicts, 'sqlite.events.db')).toBe('OK');
  });

  it('fails a broken rule file at its file:line', async () => {
    const { file, rules } = hubConfig(await freeListeners());
    writeFileSync(
      join(rules, 'broken.yaml'),
      'rules:\n  - id: fan\n    when:\n      mqtt: a/b\n      for: 5 minutes\n    then: []\n',
    );
    const { code, verdicts } = await doctor(file);
    expect(code).toBe(1);
    const rulesVerdict = verdicts.find((v) => v.check === 'rules');
    expect(rulesVerdict?.status).toBe('FAIL');
    expect(rulesVerdict?.message).toMatch(new RegExp(`^${join(rules, 'broken.yaml')}:\\d+:\\d+`));
  });

  it('fails an expired TLS certificate', async () => {
    const certs = temp.make('edgehub-doctor-certs-');
    const { cert, key } = certWithDates(certs, 'hub', '20200101000000Z', '20200201000000Z');
    const tls = `  tls:\n    port: ${await freePort()}\n    cert: ${cert}\n    key: ${key}\n`;
    const { file } = hubConfig((await freeListeners()).replace('http:', `${tls}http:`));
    const { code, verdicts } = await doctor(file);
    expect(code).toBe(1);
    expect(statusOf(verdicts, 'tls.cert')).toBe('FAIL');
  });
});

describe('edgehub doctor on a full disk', () => {
  let mountPoint: string | undefined;
  const mounts = new TempDirs();

  beforeAll(() => {
    mountPoint = mounts.make('edgehub-doctor-full-');
    // A 1 MiB tmpfs, filled to the last block: a real ENOSPC disk (needs root; CI runs as root).
    const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mountPoint], {
      encoding: 'utf8',
    });
    if (mount.status !== 0) {
      const why = mount.error?.message ?? mount.stderr.trim();
      mountPoint = undefined;
      throw new Error(`the full-disk test mounts a tmpfs, which needs root (mount -t tmpfs): ${why}`);
    }
    spawnSync('dd', ['if=/dev/zero', `of=${join(mountPoint, 'filler')}`, 'bs=64k'], { stdio: 'ignore' });
  });

  afterAll(() => {
    if (mountPoint !== undefined) spawnSync('umount', [mountPoint], { stdio: 'ignore' });
    mounts.cleanup();
  });

  it('fails the disk check', async () => {
    const { file } = hubConfig(await freeListeners(), mountPoint);
    const { code, verdicts } = await doctor(file);
    expect(code).toBe(1);
    expect(statusOf(verdicts, 'data.disk')).toBe('FAIL');
  });
});
