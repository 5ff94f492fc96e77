import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyPassword } from '../hub/security/index.js';
import { collect, spawnCli, waitForLog, type CliResult } from './support/hub-process.js';
import { ClientPool } from './support/mqtt-client.js';
import { connackCode, pubackCode } from './support/secure-broker.js';
import { TempDirs, writeFiles } from './support/temp.js';

const temp = new TempDirs();
const pool = new ClientPool();

afterEach(async () => {
  await pool.closeAll();
  temp.cleanup();
});

/** Runs `edgehub passwd ARGS` with `stdin` piped in (not a terminal, so it reads one line). */
function passwd(args: string[], stdin = ''): Promise<CliResult> {
  const child = spawnCli(['passwd', ...args]);
  const done = collect(child);
  child.stdin.end(stdin);
  return done;
}

const userLine = (file: string, user: string): string =>
  readFileSync(file, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${user}:`)) ?? '';

describe('edgehub passwd', () => {
  it('creates, updates and deletes users; lines are salted scrypt hashes in an owner-only file', async () => {
    const file = join(temp.make(), 'passwords');
    const created = await passwd([file, 'gh-1', '-c'], 'first-pw\n');
    expect(created).toMatchObject({ code: 0, stdout: `added user gh-1 in ${file}\n` });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const line = userLine(file, 'gh-1');
    expect(line).toMatch(/^gh-1:\$scrypt\$N=16384,r=8,p=1\$[^$]+\$[^$]+$/);
    expect(await verifyPassword('first-pw', line.slice('gh-1:'.length))).toBe(true);

    expect((await passwd([file, 'gh-2'], 'second-pw\n')).code).toBe(0);
    const updated = await passwd([file, 'gh-1'], 'changed-pw\r\n');
    expect(updated.stdout).toBe(`updated user gh-1 in ${file}\n`);
    expect(await verifyPassword('changed-pw', userLine(file, 'gh-1').slice(5))).toBe(true);

    expect((await passwd([file, 'gh-2', '-D'])).code).toBe(0);
    expect(readFileSync(file, 'utf8').split('\n').filter(Boolean)).toHaveLength(1);
  });

  it('says what is wrong and exits non-zero', async () => {
    const dir = temp.make();
    const missing = await passwd([join(dir, 'nope'), 'gh-1'], 'pw\n');
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/PASSWORD_FILE_INVALID: .*does not exist; create it with -c/);
    const file = join(dir, 'pw');
    await passwd([file, 'gh-1', '-c'], 'pw\n');
    expect((await passwd([file, 'ghost', '-D'])).stderr).toContain('USAGE: user ghost is not in');
    expect((await passwd([file, 'a:b'], 'pw\n')).stderr).toContain('cannot contain ":"');
    expect((await passwd([file, 'gh-3'], '\n')).stderr).toContain('empty password');
  });
});

describe('SIGHUP', () => {
  it('makes a running hub re-read its password and ACL files', async () => {
    const dir = temp.make();
    const passwords = join(dir, 'passwords');
    const acl = join(dir, 'acl');
    await passwd([passwords, 'gh-1', '-c'], 'gh-1-pw\n');
    writeFiles(dir, {
      acl: 'user gh-1\ntopic write sensors/gh-1/#\n',
      'edgehub.yaml': [
        'mqtt:',
        '  port: 0',
        '  ws_port: null',
        '  security:',
        `    password_file: ${passwords}`,
        `    acl_file: ${acl}`,
        'store:',
        '  enabled: false',
        '',
      ].join('\n'),
    });
    const hub = spawnCli(['start', '--no-demo', '--config', join(dir, 'edgehub.yaml'), '--data', dir]);
    const exited = collect(hub);
    try {
      const port = /mqtt=[\d.]+:(\d+)/.exec(await waitForLog(hub, /MQTT broker listening/))?.[1];
      const url = `mqtt://127.0.0.1:${port}`;
      const device = await pool.connect(url, { protocolVersion: 5, username: 'gh-1', password: 'gh-1-pw' });
      expect(await pubackCode(device, 'sensors/gh-2/temperature', '1')).toBe(0x87);
      await passwd([passwords, 'gh-2'], 'gh-2-pw\n');
      expect(await connackCode(url, { protocolVersion: 5, username: 'gh-2', password: 'gh-2-pw' })).toBe(
        0x86,
      );

      writeFileSync(acl, 'user gh-1\ntopic write sensors/#\n');
      const reloaded = waitForLog(hub, /security reloaded/);
      hub.kill('SIGHUP');
      await reloaded;
      expect(await pubackCode(device, 'sensors/gh-2/temperature', '1')).toBe(0);
      expect(await connackCode(url, { protocolVersion: 5, username: 'gh-2', password: 'gh-2-pw' })).toBe(0);
    } finally {
      hub.kill('SIGTERM');
      await exited;
    }
  });
});
