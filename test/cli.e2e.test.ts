import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ClientPool } from './support/mqtt-client.js';
import { collect, runCli, spawnCli, waitForLog } from './support/hub-process.js';
import { TempDirs, writeFiles } from './support/temp.js';

const temp = new TempDirs();
const pool = new ClientPool();

afterEach(async () => {
  await pool.closeAll();
  temp.cleanup();
});

describe('edgehub start', () => {
  it('refuses an invalid config with file, line and key path, and exits non-zero', async () => {
    const dir = temp.make();
    writeFiles(dir, { 'edgehub.yaml': 'mqtt:\n  port: 1883\n  host: 127.0.0.1\nstore:\n  batch_size: -5\n' });
    const result = await runCli(['start', '--config', join(dir, 'edgehub.yaml')]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(`CONFIG_INVALID: ${join(dir, 'edgehub.yaml')}:5:15 (store.batch_size)`);
  });

  it('stores every acknowledged event, flushes them on SIGTERM, and `events` reads them', async () => {
    const data = temp.make();
    const hub = spawnCli(['start', '--no-demo', '--mqtt-port', '0', '--ws-port', '0', '--data', data]);
    const done = collect(hub);
    const line = await waitForLog(hub, /MQTT broker listening/);
    const port = /mqtt=[\d.]+:(\d+)/.exec(line)?.[1];
    const sensor = await pool.connect(`mqtt://127.0.0.1:${port}`, { clientId: 'cli-sensor' });
    for (let seq = 0; seq < 300; seq++) {
      await sensor.publishAsync(`sensors/s${seq % 3}/temperature`, JSON.stringify({ value: 20, seq }), {
        qos: 1,
      });
    }
    const live = await runCli(['events', '--data', data, '--device', 's1', '--limit', '5', '--json']);
    expect(live.code).toBe(0);

    hub.kill('SIGTERM');
    const result = await done;
    expect(result.code).toBe(0);

    const all = await runCli(['events', '--data', data, '--limit', '1000', '--json']);
    const events = all.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { topic: string; payload: { seq: number }; clientId: string });
    expect(events.filter((e) => e.clientId === 'cli-sensor')).toHaveLength(300);
    const s2 = await runCli([
      'events',
      '--data',
      data,
      '--device',
      's2',
      '--since',
      '1h',
      '--limit',
      '1000',
      '--json',
    ]);
    expect(s2.stdout.trim().split('\n')).toHaveLength(100);
  });
});

describe('edgehub check', () => {
  it('exits non-zero and names file:line:col for a broken rule file', async () => {
    const dir = temp.make();
    writeFiles(dir, {
      'ok.yaml': 'rules:\n  - id: ok\n    when:\n      mqtt: a/b\n    then:\n      - log: hi\n',
      'bad.yaml': 'rules:\n  - id: bad\n    when:\n      mqtt: a/b\n    then:\n      - lgo: hi\n',
    });
    const result = await runCli(['check', dir]);
    expect(result.code).not.toBe(0);
    expect(result.stdout).toContain(`${join(dir, 'bad.yaml')}:6:`);
  });

  it('with --config, checks rules against the declared devices as the hub does', async () => {
    const dir = temp.make();
    const rules = join(dir, 'rules');
    mkdirSync(rules);
    writeFiles(dir, {
      'edgehub.yaml': 'devices:\n  - id: gh-1\n    actuators: [{ name: fan, kind: switch }]\n',
      'rules/fan.yaml':
        'rules:\n  - id: fan\n    when: { mqtt: a/b }\n    then:\n      - command: { device: gh-2, set: { fan: true } }\n',
      'broken.yaml':
        'devices:\n  - id: gh-1\n    sensors: [{ metric: light, kind: illuminance, unit: lumen }]\n',
    });
    // Without the config there are no declared devices to hold gh-2 against.
    expect((await runCli(['check', rules])).code).toBe(0);
    const checked = await runCli(['check', rules, '--config', join(dir, 'edgehub.yaml')]);
    expect(checked.code).toBe(1);
    expect(checked.stdout).toContain(`${join(rules, 'fan.yaml')}:5:`);
    expect(checked.stdout).toContain('gh-2');
    const broken = await runCli(['check', rules, '--config', join(dir, 'broken.yaml')]);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toContain(`${join(dir, 'broken.yaml')}:3:`);
  });

  it('exits zero for the example rules', async () => {
    const result = await runCli(['check', 'rules/examples']);
    expect(result.stdout + result.stderr).not.toMatch(/error/i);
    expect(result.code).toBe(0);
  });
});
