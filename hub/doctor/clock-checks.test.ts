import { afterEach, describe, expect, it } from 'vitest';
import { clockChecks } from './clock-checks.js';
import { FakeMachine } from './fake-doctor-env.js';
import { serviceCheck } from './service-checks.js';

let machine: FakeMachine | undefined;
afterEach(() => machine?.cleanup());

const NTP = 'timedatectl show -p NTPSynchronized --value';
const statuses = (results: { check: string; status: string }[]) =>
  results.map((r) => `${r.check} ${r.status}`);

describe('clock checks', () => {
  it('passes a set clock that NTP keeps', async () => {
    machine = new FakeMachine();
    machine.commands.set(NTP, { code: 0, stdout: 'yes\n' });
    expect(statuses(await clockChecks(machine.env()))).toEqual(['clock.time OK', 'clock.ntp OK']);
  });

  it('fails a clock before 2024 (never set), and warns when NTP is off or cannot be asked', async () => {
    machine = new FakeMachine();
    machine.commands.set(NTP, { code: 0, stdout: 'no\n' });
    const unset = await clockChecks(machine.env({ now: () => 3_600_000 }));
    expect(statuses(unset)).toEqual(['clock.time FAIL', 'clock.ntp WARN']);
    expect(unset[0]?.message).toContain('clock not set');
    machine.commands.clear(); // no timedatectl
    expect(statuses(await clockChecks(machine.env()))).toEqual(['clock.time OK', 'clock.ntp WARN']);
  });
});

describe('service check', () => {
  const show = 'systemctl show -p LoadState --value edgehub';
  const active = 'systemctl is-active edgehub';

  it('says "not installed" where systemd does not run the machine', async () => {
    machine = new FakeMachine();
    machine.file('/proc/1/comm', 'bash\n');
    expect((await serviceCheck(machine.env())).status).toBe('OK');
  });

  it("reports the installed unit's state", async () => {
    machine = new FakeMachine();
    machine.file('/proc/1/comm', 'systemd\n');
    machine.commands.set(show, { code: 0, stdout: 'not-found\n' });
    const absent = await serviceCheck(machine.env());
    expect([absent.status, absent.message]).toEqual(['OK', expect.stringContaining('not installed')]);
    machine.commands.set(show, { code: 0, stdout: 'loaded\n' });
    machine.commands.set(active, { code: 0, stdout: 'active\n' });
    expect((await serviceCheck(machine.env())).status).toBe('OK');
    machine.commands.set(active, { code: 3, stdout: 'failed\n' });
    expect((await serviceCheck(machine.env())).status).toBe('FAIL');
    machine.commands.set(active, { code: 3, stdout: 'inactive\n' });
    expect((await serviceCheck(machine.env())).status).toBe('WARN');
  });
});
