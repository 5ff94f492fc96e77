import { resolve } from 'node:path';
import { Command } from 'commander';
import {
  InstallTarget,
  checkNodeVersion,
  runInstall,
  runUninstall,
  unitFor,
  type InstallStep,
} from '../install/index.js';

const out = (line: string): void => void process.stdout.write(line + '\n');

/** Each step as `status    subject`, statuses in one column. */
function print(steps: readonly InstallStep[]): void {
  for (const step of steps) out(`${step.status.padEnd(10)} ${step.subject}`);
}

/** `edgehub install [--root DIR] [--print-unit]`. */
export function installCommand(): Command {
  return new Command('install')
    .description(
      'install the hub as a systemd service: the edgehub user, /etc/edgehub, /var/lib/edgehub, the unit (run as root)',
    )
    .option('--root <dir>', 'write the files under this folder instead of /, run no commands')
    .option('--print-unit', 'print the systemd unit it would write, and exit')
    .action((opts: { root?: string; printUnit?: boolean }) => {
      const root = resolve(opts.root ?? '/');
      if (opts.printUnit === true) {
        checkNodeVersion();
        process.stdout.write(unitFor(new InstallTarget(root)));
        return;
      }
      print(runInstall({ root }));
    });
}

/** `edgehub uninstall [--purge] [--root DIR]`. */
export function uninstallCommand(): Command {
  return new Command('uninstall')
    .description('stop and remove the systemd service; config and data stay unless --purge (run as root)')
    .option('--purge', 'remove /etc/edgehub and /var/lib/edgehub too')
    .option('--root <dir>', 'act on the files under this folder instead of /, run no commands')
    .action((opts: { root?: string; purge?: boolean }) => {
      print(runUninstall({ root: resolve(opts.root ?? '/'), purge: opts.purge === true }));
    });
}
