import { readdirSync, realpathSync, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import type { DeviceDefinition } from '../../devices/index.js';
import { fail, ok, reason, warn, type CheckResult } from './check-result.js';
import type { DoctorEnv } from './doctor-env.js';
import { describeProcess, ProcTable, unique, type ProcessInfo } from './proc-table.js';
import {
  groupName,
  mayAccess,
  readGroups,
  type GroupEntry,
  type Ownership,
  type ServiceUser,
} from './service-user.js';

/** The serial port each serial or Firmata device opens. */
export function serialPaths(devices: readonly DeviceDefinition[]): { id: string; path: string }[] {
  return devices.flatMap((d) => {
    const path =
      d.adapter === 'serial' ? d.serial?.path : d.adapter === 'firmata' ? d.firmata?.path : undefined;
    return path === undefined ? [] : [{ id: d.id, path }];
  });
}

/** Numbered names the kernel hands out in the order boards are found; by-id names stay. */
const NUMBERED_USB = /^\/dev\/tty(USB|ACM)\d+$/;
const BY_ID = '/dev/serial/by-id';

export function serialChecks(
  env: DoctorEnv,
  devices: readonly DeviceDefinition[],
  user: ServiceUser,
): CheckResult[] {
  const proc = new ProcTable(env.root, env.pid);
  return serialPaths(devices).flatMap(({ id, path }) => deviceChecks(env, proc, user, id, path));
}

function deviceChecks(
  env: DoctorEnv,
  proc: ProcTable,
  user: ServiceUser,
  id: string,
  path: string,
): CheckResult[] {
  const check = `serial.${id}`;
  let stat: Stats;
  let real: string;
  try {
    stat = statSync(path);
    real = realpathSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return [
      fail(
        check,
        code === 'ENOENT' ? `${path} does not exist` : `${path} cannot be looked at: ${reason(err)}`,
        `plug the board in and check the path (ls -l ${BY_ID}/ lists the boards found)`,
      ),
    ];
  }
  if (!stat.isCharacterDevice())
    return [
      fail(
        check,
        `${path} is ${stat.isDirectory() ? 'a folder' : 'a regular file'}, not a character device (a serial port)`,
        `point the device's path at the board's port (ls -l ${BY_ID}/)`,
      ),
    ];
  const alias = real === path ? '' : ` (${real})`;
  return [
    ok(check, `${path}${alias} is a character device`),
    accessCheck(`${check}.access`, path, stat, user, readGroups(env)),
    holdersCheck(proc, `${check}.holders`, path, real),
    byIdCheck(env, `${check}.by-id`, path, real),
  ];
}

/** Whether the hub's user may open the port, and what to change when not (`groups`: /etc/group). */
export function accessCheck(
  check: string,
  path: string,
  stat: Ownership,
  user: ServiceUser,
  groups: readonly GroupEntry[],
): CheckResult {
  const group = groupName(groups, stat.gid);
  const who = user.service ? `the service user ${user.name}` : user.name;
  if (mayAccess(stat, user, 6)) return ok(check, `${who} may read and write ${path}`);
  const grantedByGroup = (stat.mode & 0o060) === 0o060;
  if (grantedByGroup && user.notInSession.includes(stat.gid))
    return fail(
      check,
      `${user.name} was added to ${group} since logging in; this session cannot open ${path} yet`,
      `log out and in again (or run \`newgrp ${group}\`); the service gets the group at its next start`,
    );
  if (grantedByGroup)
    return fail(
      check,
      `${who} may not read and write ${path}: it belongs to group ${group} and ${user.name} is not in it`,
      user.service
        ? `sudo usermod -aG ${group} ${user.name}, then sudo systemctl restart edgehub`
        : `sudo usermod -aG ${group} ${user.name}, then log in again`,
    );
  return fail(
    check,
    `${who} may not read and write ${path} (mode ${(stat.mode & 0o777).toString(8)}, group ${group})`,
    `give group dialout access with a udev rule (MODE="0660", GROUP="dialout") and add ${user.name} to dialout`,
  );
}

/** Who else has the port open: a second reader steals bytes, and ModemManager or a login console answers them. */
export function holdersCheck(proc: ProcTable, check: string, path: string, real: string): CheckResult {
  const holders = unique(proc.holders((link) => link === real).map((h) => h.process));
  // The process holding a pty's master is the far end of the line (socat, a simulator), not a rival.
  const ptyIndex = /^\/dev\/pts\/(\d+)$/.exec(real)?.[1];
  const owners = new Set<number>();
  if (ptyIndex !== undefined)
    for (const h of proc.holders((link) => link === '/dev/ptmx'))
      if (proc.ptyIndex(h.process.pid, h.fd) === Number(ptyIndex)) owners.add(h.process.pid);
  const rivals = holders.filter((p) => !owners.has(p.pid) && !p.edgehub);
  const hub = holders.filter((p) => p.edgehub);
  const modem = rivals.find((p) => p.comm === 'ModemManager');
  if (modem)
    return fail(
      check,
      `ModemManager has ${path} open, ${describeProcess(modem)}: it probes new ttyACM ports and answers for the board`,
      'sudo apt purge modemmanager if nothing needs it (or a udev rule with ENV{ID_MM_DEVICE_IGNORE}="1")',
    );
  const getty = rivals.find((p) => /getty$/.test(p.comm));
  if (getty)
    return fail(
      check,
      `a login console runs on ${path}, ${describeProcess(getty)}`,
      'disable the serial console: raspi-config → Interface Options → Serial Port (login shell: no), or sudo systemctl disable --now serial-getty@<tty>.service',
    );
  if (rivals.length > 0)
    return fail(
      check,
      `${path} is open in ${rivals.map(describeProcess).join(', ')}`,
      'stop that program: two readers of one port each get part of the lines',
    );
  const notes: string[] = [];
  if (hub.length > 0) notes.push(`open in edgehub, ${hub.map(describeProcess).join(', ')}`);
  if (owners.size > 0) notes.push(`a pseudo-terminal made by ${describeOwners(holders, owners)}`);
  return ok(check, notes.length > 0 ? `${path}: ${notes.join('; ')}` : `no other process has ${path} open`);
}

function describeOwners(holders: readonly ProcessInfo[], owners: ReadonlySet<number>): string {
  return holders
    .filter((p) => owners.has(p.pid))
    .map((p) => `${p.comm} (pid ${p.pid})`)
    .join(', ');
}

/** The stable names udev gives a USB serial board, and a nudge towards them. */
export function byIdCheck(env: DoctorEnv, check: string, path: string, real: string): CheckResult {
  const dir = join(env.root, BY_ID);
  let names: string[] = [];
  try {
    names = readdirSync(dir).filter((name) => {
      try {
        return realpathSync(join(dir, name)) === real;
      } catch {
        return false;
      }
    });
  } catch {
    // no by-id folder: no USB serial boards, or no udev
  }
  const byId = names.sort().map((name) => `${BY_ID}/${name}`);
  if (path.startsWith(`${BY_ID}/`)) return ok(check, `${path} is a stable name`);
  if (NUMBERED_USB.test(path)) {
    const fix =
      byId.length > 0
        ? `set the device's path to ${byId[0]}`
        : `use its ${BY_ID}/ name (ls -l ${BY_ID}/; udev makes them)`;
    return warn(
      check,
      `${path} may name another board after a reboot or replug${byId.length > 0 ? `; it is ${byId.join(', ')}` : ''}`,
      fix,
    );
  }
  return ok(check, byId.length > 0 ? `${path} is also ${byId.join(', ')}` : `${path} has no ${BY_ID} name`);
}
