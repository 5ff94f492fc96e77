import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { DeviceDefinition } from '../../devices/index.js';
import { deviceListSchema } from '../../devices/index.js';
import { FakeMachine } from './fake-doctor-env.js';
import { ProcTable } from './proc-table.js';
import { accessCheck, byIdCheck, holdersCheck, serialChecks } from './serial-checks.js';
import type { ServiceUser } from './service-user.js';

let machine: FakeMachine | undefined;
afterEach(() => machine?.cleanup());

const pi: ServiceUser = { name: 'pi', uid: 1000, gid: 1000, gids: [1000], notInSession: [], service: false };
const DIALOUT = [{ name: 'dialout', gid: 20, members: [] }];

function serialDevice(path: string): DeviceDefinition[] {
  return deviceListSchema.parse([{ id: 'bench-1', adapter: 'serial', serial: { path } }]);
}

const verdicts = (results: { check: string; status: string }[]) =>
  results.map((r) => `${r.check} ${r.status}`);

describe('serial checks', () => {
  it('fails a path that does not exist, and one that is not a character device', () => {
    machine = new FakeMachine();
    const env = machine.env();
    expect(verdicts(serialChecks(env, serialDevice(join(machine.root, 'ttyUSB9')), pi))).toEqual([
      'serial.bench-1 FAIL',
    ]);
    const plain = machine.file('/not-a-tty', '');
    expect(verdicts(serialChecks(env, serialDevice(plain), pi))).toEqual(['serial.bench-1 FAIL']);
  });

  it('passes a character device (through a link) that nobody else holds', () => {
    machine = new FakeMachine();
    const link = join(machine.root, 'board');
    symlinkSync('/dev/null', link);
    const results = serialChecks(machine.env(), serialDevice(link), pi);
    expect(verdicts(results)).toEqual([
      'serial.bench-1 OK',
      'serial.bench-1.access OK',
      'serial.bench-1.holders OK',
      'serial.bench-1.by-id OK',
    ]);
  });

  it('only looks at the serial and Firmata devices, which name ports', () => {
    machine = new FakeMachine();
    const devices = deviceListSchema.parse([{ id: 'mqtt-1' }]);
    expect(serialChecks(machine.env(), devices, pi)).toEqual([]);
  });
});

describe('serial access', () => {
  const tty = { mode: 0o20660, uid: 0, gid: 20 };

  it('fails a dialout port for a user outside dialout, telling how to join it', () => {
    const r = accessCheck('a', '/dev/ttyUSB0', tty, pi, DIALOUT);
    expect(r.status).toBe('FAIL');
    expect(r.fix).toContain('usermod -aG dialout pi');
  });

  it('fails a user added to dialout since logging in, telling to log in again', () => {
    const r = accessCheck('a', '/dev/ttyUSB0', tty, { ...pi, notInSession: [20] }, DIALOUT);
    expect(r.status).toBe('FAIL');
    expect(r.fix).toContain('log out and in again');
  });

  it('passes a member of dialout', () => {
    expect(accessCheck('a', '/dev/ttyUSB0', tty, { ...pi, gids: [1000, 20] }, DIALOUT).status).toBe('OK');
  });
});

describe('other holders of a port', () => {
  it('fails ModemManager and a serial console by name, and any other program', () => {
    machine = new FakeMachine();
    machine.process(10, 'ModemManager', ['/usr/sbin/ModemManager'], { '12': '/dev/ttyACM0' });
    machine.process(11, 'agetty', ['/sbin/agetty', '-o', '-p', '--', '\\u', '115200', 'ttyAMA0'], {
      '0': '/dev/ttyAMA0',
    });
    machine.process(12, 'screen', ['screen', '/dev/ttyUSB0', '115200'], { '3': '/dev/ttyUSB0' });
    const proc = new ProcTable(machine.root, 1);
    const modem = holdersCheck(proc, 'h', '/dev/ttyACM0', '/dev/ttyACM0');
    expect([modem.status, modem.message]).toEqual(['FAIL', expect.stringContaining('ModemManager')]);
    const getty = holdersCheck(proc, 'h', '/dev/serial0', '/dev/ttyAMA0');
    expect([getty.status, getty.fix]).toEqual(['FAIL', expect.stringContaining('serial console')]);
    const other = holdersCheck(proc, 'h', '/dev/ttyUSB0', '/dev/ttyUSB0');
    expect([other.status, other.message]).toEqual(['FAIL', expect.stringContaining('pid 12 (screen')]);
  });

  it("passes the running hub and a pseudo-terminal's own maker", () => {
    machine = new FakeMachine();
    machine.process(20, 'node', ['node', '/usr/bin/edgehub', 'start'], { '21': '/dev/ttyUSB0' });
    machine.process(30, 'socat', ['socat', 'pty', 'pty'], { '5': '/dev/ptmx', '6': '/dev/pts/4' });
    machine.file('/proc/30/fdinfo/5', 'pos:\t0\ntty-index:\t4\n');
    const proc = new ProcTable(machine.root, 1);
    expect(holdersCheck(proc, 'h', '/dev/ttyUSB0', '/dev/ttyUSB0').status).toBe('OK');
    const pty = holdersCheck(proc, 'h', '/tmp/uno', '/dev/pts/4');
    expect([pty.status, pty.message]).toEqual(['OK', expect.stringContaining('socat (pid 30)')]);
    // socat holds pts/4's master, not pts/5's: a process with pts/5 open is a rival.
    machine.process(31, 'cat', ['cat', '/dev/pts/5'], { '0': '/dev/pts/5' });
    machine.process(32, 'socat', ['socat', 'pty', 'pty'], { '5': '/dev/ptmx', '6': '/dev/pts/5' });
    machine.file('/proc/32/fdinfo/5', 'pos:\t0\ntty-index:\t5\n');
    expect(holdersCheck(new ProcTable(machine.root, 1), 'h', '/tmp/b', '/dev/pts/5').status).toBe('FAIL');
  });
});

describe('by-id names', () => {
  it('suggests the by-id name for a numbered ttyUSB path, and passes by-id paths and others', () => {
    machine = new FakeMachine();
    mkdirSync(join(machine.root, '/dev/serial/by-id'), { recursive: true });
    machine.link('/dev/serial/by-id/usb-FTDI_FT232R_A1-if00-port0', '/dev/null');
    const env = machine.env();
    const numbered = byIdCheck(env, 'b', '/dev/ttyUSB0', '/dev/null');
    expect(numbered.status).toBe('WARN');
    expect(numbered.fix).toContain('/dev/serial/by-id/usb-FTDI_FT232R_A1-if00-port0');
    expect(byIdCheck(env, 'b', '/dev/serial/by-id/usb-FTDI_FT232R_A1-if00-port0', '/dev/null').status).toBe(
      'OK',
    );
    expect(byIdCheck(env, 'b', '/dev/ttyAMA0', '/dev/ttyAMA0').status).toBe('OK');
  });

  it('warns about a numbered path even without a by-id name to offer', () => {
    machine = new FakeMachine();
    expect(byIdCheck(machine.env(), 'b', '/dev/ttyACM0', '/dev/ttyACM0').status).toBe('WARN');
  });
});
