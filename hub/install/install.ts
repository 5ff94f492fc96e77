import { existsSync, readFileSync, rmSync } from 'node:fs';
import { EdgehubError } from '../../kernel/index.js';
import { defaultAcl, defaultConfig } from './default-files.js';
import { resolveExecStart } from './exec-start.js';
import { INSTALL_PATHS, SERVICE_GROUP, SERVICE_NAME, SERVICE_USER } from './layout.js';
import { checkNodeVersion } from './node-version.js';
import { journaldDropIn, serviceUnit, type ExecStart } from './service-unit.js';
import { InstallTarget, type InstallStep, type Owner } from './target.js';

export interface InstallOptions {
  /** `/` to install for real; another folder to write the files there only. */
  root: string;
  /** Test seams: what would otherwise come from this process and this machine. */
  testing?: {
    nodeVersion?: string;
    execStart?: ExecStart;
  };
}

export interface UninstallOptions {
  root: string;
  /** Remove /etc/edgehub and /var/lib/edgehub too. */
  purge: boolean;
}

const ROOT_OWNED: Owner = { user: 'root', group: 'root' };
/** Readable by the service (group), written only by root. */
const SERVICE_READS: Owner = { user: 'root', group: SERVICE_GROUP };
const SERVICE_OWNS: Owner = { user: SERVICE_USER, group: SERVICE_GROUP };

/** Folders under which ProtectHome=yes hides files from the service. */
const HIDDEN_BY_PROTECT_HOME = ['/home/', '/root/', '/run/user/'];

/** The groups the service user joins: dialout (serial ports) and gpio where the system has one. */
export function supplementaryGroups(target: InstallTarget): string[] {
  const groups = target.database('/etc/group');
  return ['dialout', ...(groups.has('gpio') ? ['gpio'] : [])];
}

/** The unit `edgehub install` writes on this machine (for `--print-unit`). */
export function unitFor(target: InstallTarget, execStart: ExecStart = resolveExecStart()): string {
  return serviceUnit({ execStart, supplementaryGroups: supplementaryGroups(target) });
}

/**
 * `edgehub install`: the service user, /etc/edgehub, /var/lib/edgehub, the systemd unit and the
 * journald limits, then the service enabled and started. Each step is checked first and done only
 * when something differs, so running it again changes nothing that is already right.
 */
export function runInstall(opts: InstallOptions): InstallStep[] {
  checkNodeVersion(opts.testing?.nodeVersion);
  const target = new InstallTarget(opts.root);
  if (target.live) mustBeRoot('install');
  const execStart = opts.testing?.execStart ?? resolveExecStart();
  checkVisible(target, execStart);

  ensureUser(target);
  const dirs = INSTALL_PATHS;
  target.ensureDir({ path: dirs.configDir, mode: 0o750, owner: SERVICE_READS });
  // The service writes its rules folder: the dashboard's rule editor saves there (admins only).
  target.ensureDir({ path: dirs.rulesDir, mode: 0o750, owner: SERVICE_OWNS });
  target.ensureDir({ path: dirs.dataDir, mode: 0o750, owner: SERVICE_OWNS });
  target.ensureFile({ path: dirs.config, mode: 0o640, owner: SERVICE_READS }, defaultConfig(), 'seed');
  // The hashes are secret: the service alone reads them. `edgehub passwd` keeps the owner it finds.
  target.ensureFile({ path: dirs.passwordFile, mode: 0o600, owner: SERVICE_OWNS }, '', 'seed');
  target.ensureFile({ path: dirs.aclFile, mode: 0o640, owner: SERVICE_READS }, defaultAcl(), 'seed');

  target.ensureDir({ path: '/etc/systemd/system', mode: 0o755, owner: ROOT_OWNED });
  const unit = target.ensureFile(
    { path: dirs.unit, mode: 0o644, owner: ROOT_OWNED },
    unitFor(target, execStart),
    'owned',
  );
  target.ensureDir({ path: '/etc/systemd/journald.conf.d', mode: 0o755, owner: ROOT_OWNED });
  const journald = target.ensureFile(
    { path: dirs.journaldDropIn, mode: 0o644, owner: ROOT_OWNED },
    journaldDropIn(),
    'owned',
  );

  const systemd = systemdState(target);
  if (systemd === 'absent') return target.steps;
  if (journald !== 'unchanged') target.run(['systemctl', 'restart', 'systemd-journald']);
  if (unit !== 'unchanged') target.run(['systemctl', 'daemon-reload']);
  if (systemd === 'listed') {
    if (unit !== 'unchanged') target.run(['systemctl', 'enable', '--now', SERVICE_NAME]);
    return target.steps;
  }
  const enabled = target.query(['systemctl', 'is-enabled', SERVICE_NAME]) === 'enabled';
  const active = target.query(['systemctl', 'is-active', SERVICE_NAME]) === 'active';
  if (!enabled || !active) target.run(['systemctl', 'enable', '--now', SERVICE_NAME]);
  else if (unit === 'updated') target.run(['systemctl', 'restart', SERVICE_NAME]);
  else target.step('unchanged', `${SERVICE_NAME}.service enabled and running`);
  return target.steps;
}

/**
 * `edgehub uninstall`: stops, disables and removes the service and the journald limits; the config
 * and the data stay unless `purge`. The user stays either way (files elsewhere may belong to it).
 */
export function runUninstall(opts: UninstallOptions): InstallStep[] {
  const target = new InstallTarget(opts.root);
  if (target.live) mustBeRoot('uninstall');
  const systemd = systemdState(target) !== 'absent';
  const unitPath = target.at(INSTALL_PATHS.unit);
  if (existsSync(unitPath) && systemd) target.run(['systemctl', 'disable', '--now', SERVICE_NAME]);
  const unitRemoved = remove(target, INSTALL_PATHS.unit);
  if (remove(target, INSTALL_PATHS.journaldDropIn) && systemd)
    target.run(['systemctl', 'restart', 'systemd-journald']);
  if (unitRemoved && systemd) target.run(['systemctl', 'daemon-reload']);
  for (const [path, what] of [
    [INSTALL_PATHS.configDir, 'config, rules, password and ACL files'],
    [INSTALL_PATHS.dataDir, 'data'],
  ] as const) {
    if (opts.purge) remove(target, path);
    else if (existsSync(target.at(path))) target.step('kept', `${path}/ (${what}; --purge removes it)`);
  }
  if (target.database('/etc/passwd').has(SERVICE_USER) || target.live)
    target.step('kept', `user ${SERVICE_USER} (\`sudo userdel ${SERVICE_USER}\` removes it)`);
  return target.steps;
}

function remove(target: InstallTarget, path: string): boolean {
  const where = target.at(path);
  if (!existsSync(where)) {
    target.step('absent', path);
    return false;
  }
  rmSync(where, { recursive: true, force: true });
  target.step('removed', path);
  return true;
}

function mustBeRoot(command: string): void {
  if (process.getuid?.() === 0) return;
  throw new EdgehubError(
    'INSTALL_FAILED',
    `edgehub ${command} creates a system user and writes to /etc: run it as root (sudo edgehub ${command}), ` +
      'or give --root DIR to write the files into a folder',
  );
}

/** The service cannot run node or the script from a home folder (ProtectHome=yes hides them). */
function checkVisible(target: InstallTarget, execStart: ExecStart): void {
  for (const path of [execStart.node, execStart.script]) {
    if (!HIDDEN_BY_PROTECT_HOME.some((dir) => path.startsWith(dir))) continue;
    const message =
      `${path} is under a home folder, which the service cannot see (ProtectHome=yes); ` +
      'install Node.js and edgehub system-wide (NodeSource, then sudo npm install -g edgehub)';
    if (target.live) throw new EdgehubError('INSTALL_FAILED', message);
    target.step('note', message);
  }
}

function ensureUser(target: InstallTarget): void {
  const groups = supplementaryGroups(target);
  const user = target.database('/etc/passwd').get(SERVICE_USER);
  if (user === undefined) {
    target.run([
      'useradd',
      '--system',
      '--user-group',
      '--home-dir',
      INSTALL_PATHS.dataDir,
      '--no-create-home',
      '--shell',
      '/usr/sbin/nologin',
      '--groups',
      groups.join(','),
      SERVICE_USER,
    ]);
    if (target.live) target.step('created', `user ${SERVICE_USER} (groups ${groups.join(', ')})`);
    return;
  }
  const members = target.database('/etc/group');
  const missing = groups.filter((g) => !(members.get(g)?.[2] ?? '').split(',').includes(SERVICE_USER));
  if (missing.length > 0) target.run(['usermod', '--append', '--groups', missing.join(','), SERVICE_USER]);
  else target.step('unchanged', `user ${SERVICE_USER} (groups ${groups.join(', ')})`);
}

/**
 * What to do about systemd: `live` when systemd runs this machine (sd_booted(): the folder
 * /run/systemd/system exists), `listed` under `--root` (the commands are shown, not run), `absent`
 * otherwise, saying why the service was not touched.
 */
function systemdState(target: InstallTarget): 'live' | 'listed' | 'absent' {
  if (!target.live) {
    target.step(
      'note',
      `--root ${target.root}: files only; what is marked "would run" was not run, and owners were not set`,
    );
    return 'listed';
  }
  if (existsSync('/run/systemd/system')) return 'live';
  let init = 'unknown';
  try {
    init = readFileSync('/proc/1/comm', 'utf8').trim();
  } catch {
    // /proc may be hidden; the name is only for the message.
  }
  target.step(
    'note',
    `systemd is not running this machine (PID 1 is ${init}): the service was not enabled or started`,
  );
  return 'absent';
}
