import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ok, fail, warn } from './check-result.js';
import { FakeMachine } from './fake-doctor-env.js';
import { doctorExitCode, formatDoctorReport, runDoctor } from './run-doctor.js';

let machine: FakeMachine | undefined;
afterEach(() => machine?.cleanup());

describe('runDoctor', () => {
  it('runs every group of checks against a config, in a fixed order', async () => {
    machine = new FakeMachine();
    const data = join(machine.root, 'data');
    const file = machine.file(
      '/edgehub.yaml',
      `hub:\n  data_dir: ${data}\nmqtt:\n  ws_port: null\nhttp:\n  port: null\n`,
    );
    machine.file('/proc/1/comm', 'init\n');
    machine.commands.set('timedatectl show -p NTPSynchronized --value', { code: 0, stdout: 'yes\n' });
    const results = await runDoctor({ configFile: file }, machine.env());
    expect(results.map((r) => `${r.check} ${r.status}`)).toEqual([
      'node.version OK',
      'native.better-sqlite3 OK',
      'native.serialport OK',
      'config OK',
      'rules OK',
      'port.mqtt OK',
      'data.dir OK',
      'data.disk OK',
      'data.inodes OK',
      'clock.time OK',
      'clock.ntp OK',
      'tls OK',
      'service OK',
    ]);
    expect(doctorExitCode(results)).toBe(0);
  });

  it('leaves out the checks that need a config it cannot load', async () => {
    machine = new FakeMachine();
    const file = machine.file('/edgehub.yaml', 'nonsense: true\n');
    const results = await runDoctor({ configFile: file }, machine.env());
    expect(results.find((r) => r.check === 'config')?.status).toBe('FAIL');
    expect(results.some((r) => r.check.startsWith('port.'))).toBe(false);
    expect(doctorExitCode(results)).toBe(1);
  });
});

describe('the report', () => {
  it('has one line per check, its fix under it, and a count; WARN alone exits 0', () => {
    const results = [ok('a', 'fine'), warn('bb', 'hmm', 'look'), fail('c', 'broken', 'mend it')];
    expect(formatDoctorReport(results)).toEqual([
      'OK    a   fine',
      'WARN  bb  hmm',
      '          fix: look',
      'FAIL  c   broken',
      '          fix: mend it',
      '',
      '1 FAIL, 1 WARN, 1 OK',
    ]);
    expect(doctorExitCode(results.slice(0, 2))).toBe(0);
    expect(doctorExitCode(results)).toBe(1);
  });
});
