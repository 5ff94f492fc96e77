import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  realpathSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../hub/index.js';
import { HubProcesses, collect, runCli, spawnCli, type CliResult } from './support/hub-process.js';
import { ClientPool } from './support/mqtt-client.js';
import { exposureLevel, systemdAnalyze } from './support/systemd-analyze.js';
import { TempDirs } from './support/temp.js';

const temp = new TempDirs();
const hubs = new HubProcesses();
const pool = new ClientPool();
afterEach(async () => {
  await pool.closeAll();
  await hubs.killAll();
  temp.cleanup();
});

const repo = fileURLToPath(new URL('..', import.meta.url));

async function install(root: string, ...more: string[]): Promise<CliResult> {
  const result = await runCli(['install', '--root', root, ...more]);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return result;
}

/** The target's /etc/passwd and /etc/group, as a Raspberry Pi OS that already has the user. */
function fakeAccounts(root: string, { gpio }: { gpio: boolean }): void {
  mkdirSync(join(root, 'etc'), { recursive: true });
  writeFileSync(
    join(root, 'etc/passwd'),
    'root:x:0:0:root:/root:/bin/bash\nedgehub:x:998:998::/var/lib/edgehub:/usr/sbin/nologin\n',
  );
  writeFileSync(
    join(root, 'etc/group'),
    `root:x:0:\ndialout:x:20:pi,edgehub\n${gpio ? 'gpio:x:997:pi,edgehub\n' : ''}edgehub:x:998:\n`,
  );
}

/** Every file and folder under `root` with its mode and mtime. */
function snapshot(root: string): Map<string, { mode: number; mtimeMs: number }> {
  const out = new Map<string, { mode: number; mtimeMs: number }>();
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const st = statSync(path);
      out.set(relative(root, path), { mode: st.mode & 0o7777, mtimeMs: st.mtimeMs });
      if (st.isDirectory()) walk(path);
    }
  };
  walk(root);
  return out;
}

function modeOf(root: string, path: string): string {
  return (statSync(join(root, path)).mode & 0o7777).toString(8).padStart(4, '0');
}

/** The status column of the line naming `subject`. */
function statusOf(stdout: string, subject: string): string | undefined {
  return stdout
    .split('\n')
    .find((l) => l.slice(11).startsWith(subject))
    ?.slice(0, 10)
    .trim();
}

describe('edgehub install --root', () => {
  it('writes the config, rules, password and ACL files, the data folder and the unit, with their modes', async () => {
    const root = temp.make();
    const { stdout } = await install(root);

    expect(modeOf(root, 'etc/edgehub')).toBe('0750');
    expect(modeOf(root, 'etc/edgehub/rules')).toBe('0750');
    expect(modeOf(root, 'var/lib/edgehub')).toBe('0750');
    expect(modeOf(root, 'etc/edgehub/config.yaml')).toBe('0640');
    expect(modeOf(root, 'etc/edgehub/passwords')).toBe('0600');
    expect(modeOf(root, 'etc/edgehub/acl')).toBe('0640');
    expect(modeOf(root, 'etc/systemd/system/edgehub.service')).toBe('0644');
    expect(modeOf(root, 'etc/systemd/journald.conf.d/edgehub.conf')).toBe('0644');
    // Folders above those it was asked for are the usual 0755, not the data folder's 0750.
    expect(modeOf(root, 'var/lib')).toBe('0755');

    // The hub's own loader accepts the config, with the installed layout in it.
    const config = loadConfig(join(root, 'etc/edgehub/config.yaml'));
    expect(config.hub.data_dir).toBe('/var/lib/edgehub');
    expect(config.hub.rules_dir).toBe('/etc/edgehub/rules');
    expect(config.mqtt.security.password_file).toBe('/etc/edgehub/passwords');
    expect(config.mqtt.security.acl_file).toBe('/etc/edgehub/acl');

    const unit = readFileSync(join(root, 'etc/systemd/system/edgehub.service'), 'utf8');
    expect(unit).toContain('ReadWritePaths=/var/lib/edgehub /etc/edgehub/rules\n');
    expect(readFileSync(join(root, 'etc/systemd/journald.conf.d/edgehub.conf'), 'utf8')).toMatch(
      /^\[Journal\]\nSystemMaxUse=\S+$/m,
    );

    // Under --root nothing is run; what would be is listed, and the output says so.
    expect(stdout).toMatch(/^would run +useradd --system .*--groups dialout edgehub$/m);
    expect(stdout).toMatch(/^would run +systemctl daemon-reload$/m);
    expect(stdout).toMatch(/^would run +systemctl enable --now edgehub$/m);
    expect(stdout).toContain('was not run');
    expect(statusOf(stdout, '/etc/edgehub/config.yaml')).toBe('created');
  });

  it('the hub starts with the files it wrote (empty password file, default ACL) and serves a client on loopback', async () => {
    const root = temp.make();
    await install(root);
    const installed = readFileSync(join(root, 'etc/edgehub/config.yaml'), 'utf8');
    const config = join(root, 'here.yaml');
    writeFileSync(config, installed.replaceAll('/etc/edgehub', join(root, 'etc/edgehub')));
    const { url } = await hubs.start(temp.make(), ['--config', config, '--http-port', '0']);
    const client = await pool.connect(url, { clientId: 'on-the-pi' });
    const got = new Promise<string>((resolve) =>
      client.once('message', (_t, payload) => resolve(payload.toString())),
    );
    await client.subscribeAsync('sensors/#', { qos: 1 });
    await client.publishAsync('sensors/gh-1/temperature', '21.5', { qos: 1 });
    expect(await got).toBe('21.5');
  });

  it('run again, changes nothing: every item unchanged, no file rewritten, no command listed', async () => {
    const root = temp.make();
    fakeAccounts(root, { gpio: true });
    const first = await install(root);
    expect(first.stdout).toMatch(/^unchanged +user edgehub \(groups dialout, gpio\)$/m);
    const before = snapshot(root);

    const again = await install(root);
    expect(snapshot(root)).toEqual(before);
    for (const line of again.stdout.trim().split('\n')) expect(line).toMatch(/^(unchanged|note) /);
    for (const path of ['/etc/edgehub/', '/var/lib/edgehub/', '/etc/systemd/system/edgehub.service'])
      expect(statusOf(again.stdout, path)).toBe('unchanged');
  });

  it('joins gpio only where the system has that group, and adds a missing group with usermod', async () => {
    const root = temp.make();
    fakeAccounts(root, { gpio: true });
    writeFileSync(join(root, 'etc/group'), 'dialout:x:20:pi\ngpio:x:997:edgehub\nedgehub:x:998:\n');
    const { stdout } = await install(root);
    expect(stdout).toMatch(/^would run +usermod --append --groups dialout edgehub$/m);
    expect(readFileSync(join(root, 'etc/systemd/system/edgehub.service'), 'utf8')).toContain(
      '\nSupplementaryGroups=dialout gpio\n',
    );

    const plain = temp.make();
    fakeAccounts(plain, { gpio: false });
    await install(plain);
    expect(readFileSync(join(plain, 'etc/systemd/system/edgehub.service'), 'utf8')).toContain(
      '\nSupplementaryGroups=dialout\n',
    );
  });

  it("keeps the user's edits to config, password and ACL files, puts back a changed unit and wrong modes", async () => {
    const root = temp.make();
    await install(root);
    const configPath = join(root, 'etc/edgehub/config.yaml');
    const edited = readFileSync(configPath, 'utf8').replace('host: 127.0.0.1', 'host: 0.0.0.0');
    writeFileSync(configPath, edited);
    writeFileSync(join(root, 'etc/edgehub/passwords'), 'gh-1:$7$x\n');
    chmodSync(join(root, 'etc/edgehub/passwords'), 0o644);
    const unitPath = join(root, 'etc/systemd/system/edgehub.service');
    const unit = readFileSync(unitPath, 'utf8');
    writeFileSync(unitPath, unit.replace('ProtectHome=yes', 'ProtectHome=no'));

    const { stdout } = await install(root);
    expect(readFileSync(configPath, 'utf8')).toBe(edited);
    expect(readFileSync(join(root, 'etc/edgehub/passwords'), 'utf8')).toBe('gh-1:$7$x\n');
    expect(modeOf(root, 'etc/edgehub/passwords')).toBe('0600');
    expect(statusOf(stdout, '/etc/edgehub/passwords')).toBe('updated');
    expect(readFileSync(unitPath, 'utf8')).toBe(unit);
    expect(statusOf(stdout, '/etc/systemd/system/edgehub.service')).toBe('updated');
    expect(stdout).toMatch(/^would run +systemctl daemon-reload$/m);
    expect(statusOf(stdout, '/etc/edgehub/config.yaml')).toBe('unchanged');
  });
  it('`sudo edgehub passwd` on the installed password file leaves it owned by the service user', async () => {
    const root = temp.make();
    await install(root);
    const file = join(root, 'etc/edgehub/passwords');
    // As root (how `sudo edgehub passwd` runs) the file is handed to a stand-in service user first;
    // otherwise the owner it keeps is the one running the test.
    const asRoot = process.getuid?.() === 0;
    if (asRoot) chownSync(file, 998, 998);
    const owner = { uid: statSync(file).uid, gid: statSync(file).gid };
    const child = spawnCli(['passwd', file, 'gh-1']);
    const done = collect(child);
    child.stdin.end('pw-of-gh-1\n');
    expect((await done).code).toBe(0);
    const after = statSync(file);
    expect({ uid: after.uid, gid: after.gid }).toEqual(owner);
    expect(after.mode & 0o7777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toMatch(/^gh-1:\$scrypt\$/);
  });
});

describe('edgehub uninstall --root', () => {
  it('removes the unit and the journald limits, keeps config and data', async () => {
    const root = temp.make();
    await install(root);
    writeFileSync(join(root, 'var/lib/edgehub/events.db'), 'events');
    const result = await runCli(['uninstall', '--root', root]);
    expect(result.code).toBe(0);
    expect(existsSync(join(root, 'etc/systemd/system/edgehub.service'))).toBe(false);
    expect(existsSync(join(root, 'etc/systemd/journald.conf.d/edgehub.conf'))).toBe(false);
    expect(readFileSync(join(root, 'var/lib/edgehub/events.db'), 'utf8')).toBe('events');
    expect(existsSync(join(root, 'etc/edgehub/config.yaml'))).toBe(true);
    expect(result.stdout).toMatch(/^would run +systemctl disable --now edgehub$/m);
    expect(result.stdout).toMatch(/^kept +\/var\/lib\/edgehub\//m);

    // A second uninstall finds nothing to remove and still keeps the data.
    const again = await runCli(['uninstall', '--root', root]);
    expect(again.code).toBe(0);
    expect(statusOf(again.stdout, '/etc/systemd/system/edgehub.service')).toBe('absent');
    expect(again.stdout).not.toContain('systemctl disable');
    expect(existsSync(join(root, 'var/lib/edgehub/events.db'))).toBe(true);
  });

  it('with --purge, removes config and data too', async () => {
    const root = temp.make();
    await install(root);
    writeFileSync(join(root, 'var/lib/edgehub/events.db'), 'events');
    const result = await runCli(['uninstall', '--purge', '--root', root]);
    expect(result.code).toBe(0);
    expect(existsSync(join(root, 'var/lib/edgehub'))).toBe(false);
    expect(existsSync(join(root, 'etc/edgehub'))).toBe(false);
    expect(statusOf(result.stdout, '/var/lib/edgehub')).toBe('removed');
  });
});

describe('edgehub install --print-unit', () => {
  it('prints the unit install writes, running node with the flags of the edgehub command', async () => {
    const root = temp.make();
    await install(root);
    const printed = await runCli(['install', '--print-unit', '--root', root]);
    expect(printed.code).toBe(0);
    expect(printed.stdout).toBe(readFileSync(join(root, 'etc/systemd/system/edgehub.service'), 'utf8'));

    const shebang = readFileSync(join(repo, 'bin/edgehub.js'), 'utf8').split('\n', 1)[0] ?? '';
    const flags = shebang.split(/\s+/).filter((w) => w.startsWith('--'));
    expect(flags.length).toBeGreaterThan(0);
    const execStart = /^ExecStart=(.*)$/m.exec(printed.stdout)?.[1]?.split(' ');
    expect(execStart).toEqual([
      realpathSync(process.execPath),
      ...flags,
      join(repo, 'bin/edgehub.js'),
      'start',
      '--config',
      '/etc/edgehub/config.yaml',
    ]);
    expect(printed.stdout).toMatch(/^Environment=NODE_ENV=production MALLOC_ARENA_MAX=2$/m);
  });

  it('is hardened as listed, and keeps V8 able to JIT', async () => {
    const { stdout: unit } = await runCli(['install', '--print-unit']);
    for (const line of [
      'Type=exec',
      'User=edgehub',
      'Group=edgehub',
      'NoNewPrivileges=yes',
      'ProtectSystem=strict',
      'ReadWritePaths=/var/lib/edgehub /etc/edgehub/rules',
      'ProtectHome=yes',
      'PrivateTmp=yes',
      'ProtectKernelTunables=yes',
      'ProtectKernelModules=yes',
      'ProtectKernelLogs=yes',
      'ProtectControlGroups=yes',
      'ProtectClock=yes',
      'ProtectHostname=yes',
      'ProtectProc=invisible',
      'ProcSubset=pid',
      'RestrictNamespaces=yes',
      'RestrictRealtime=yes',
      'RestrictSUIDSGID=yes',
      'LockPersonality=yes',
      'SystemCallFilter=@system-service',
      'SystemCallArchitectures=native',
      'CapabilityBoundingSet=',
      'AmbientCapabilities=',
      'UMask=0027',
      'Restart=on-failure',
      'DevicePolicy=closed',
      'DeviceAllow=char-ttyUSB rw',
      'DeviceAllow=char-ttyACM rw',
      'DeviceAllow=char-ttyAMA rw',
    ])
      expect(unit.split('\n')).toContain(line);
    expect(unit).toMatch(/^RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6( AF_NETLINK)?$/m);
    expect(unit).toMatch(/^MemoryMax=\d+M$/m);
    expect(unit).toMatch(/^StartLimitIntervalSec=\d+$/m);
    expect(unit).toMatch(/^StartLimitBurst=\d+$/m);
    expect(unit).toMatch(/^LogRateLimitIntervalSec=\S+$/m);
    expect(unit).toMatch(/^LogRateLimitBurst=\d+$/m);
    // V8's JIT writes code and runs it; the setting is only mentioned, in a comment.
    expect(unit).not.toMatch(/^MemoryDenyWriteExecute=/m);
    expect(unit).not.toMatch(/^PrivateDevices=yes/m);
    expect(unit).not.toMatch(/^Type=notify/m);
  });

  it('passes `systemd-analyze verify` without a warning', async () => {
    const { stdout: unit } = await runCli(['install', '--print-unit']);
    const verify = systemdAnalyze(['verify', '--man=no'], unit);
    expect(verify.stderr).toBe('');
    expect(verify.code).toBe(0);
  });

  it('scores 2.0 or lower on `systemd-analyze security --offline=yes`', async () => {
    const { stdout: unit } = await runCli(['install', '--print-unit']);
    const security = systemdAnalyze(['security', '--offline=yes', '--no-pager'], unit);
    expect(security.code).toBe(0);
    expect(exposureLevel(security.stdout)).toBeLessThanOrEqual(2.0);
  });
});

describe('install.sh', () => {
  /** A bin folder of stand-ins (node, npm, edgehub, id) that log their arguments to `calls`. */
  function fakeBin(nodeVersion: string): { path: string; calls: string } {
    const bin = temp.make();
    const calls = join(bin, 'calls');
    const script = (name: string, body: string): void => {
      writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`);
      chmodSync(join(bin, name), 0o755);
    };
    script('node', `echo "${nodeVersion}"`);
    script('npm', `echo "npm $*" >> "${calls}"`);
    script('edgehub', `echo "edgehub $*" >> "${calls}"`);
    script('id', 'echo 0');
    return { path: `${bin}:/usr/bin:/bin`, calls };
  }

  function runScript(path: string): { code: number | null; stdout: string; stderr: string } {
    const run = spawnSync('sh', [join(repo, 'install.sh')], {
      encoding: 'utf8',
      env: { PATH: path, HOME: temp.make() },
    });
    return { code: run.status, stdout: run.stdout, stderr: run.stderr };
  }

  it("refuses Debian 12's Node.js 18 and says how to get Node.js 20/22 from NodeSource", () => {
    const { path, calls } = fakeBin('v18.19.0');
    const result = runScript(path);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('needs Node.js 20.19 or later; this is v18.19.0');
    expect(result.stderr).toContain('https://deb.nodesource.com/setup_22.x');
    expect(existsSync(calls)).toBe(false);
  });

  it('refuses 20.18 and accepts 20.19: installs the package, then runs edgehub install', () => {
    expect(runScript(fakeBin('v20.18.3').path).code).not.toBe(0);
    const { path, calls } = fakeBin('v20.19.0');
    const result = runScript(path);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(readFileSync(calls, 'utf8')).toBe('npm install -g edgehub\nedgehub install\n');
  });
});
