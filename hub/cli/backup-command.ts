import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { Command } from 'commander';
import {
  createBackup,
  openBackup,
  readBackupFile,
  restoreBackup,
  type OpenedBackup,
} from '../backup/index.js';
import { loadConfig } from '../config/load.js';
import type { HubConfig } from '../config/schema.js';

interface PathOptions {
  config?: string;
  data?: string;
}

const out = (line: string): void => void process.stdout.write(line + '\n');

/** `edgehub backup FILE`: every database (copied online, safe while the hub runs), the config and rules. */
export function backupCommand(): Command {
  return new Command('backup')
    .description('write the databases (safe while the hub runs), config and rules into one tar archive')
    .argument('<file>', 'the archive to write (replaced if it exists)')
    .option(
      '--config <file>',
      'the config file the hub runs with (archived, and says where data and rules are)',
    )
    .option('--data <dir>', 'data directory (default: hub.data_dir of the config)')
    .action(async (file: string, opts: PathOptions) => {
      const config = loadConfig(opts.config, opts.data !== undefined ? { dataDir: opts.data } : {});
      const manifest = await createBackup({
        file,
        dataDir: config.hub.data_dir,
        ...(opts.config !== undefined && { configFile: opts.config }),
        ...(config.hub.rules_dir !== undefined && { rulesDir: config.hub.rules_dir }),
        now: () => new Date(),
      });
      for (const f of manifest.files) out(`${f.name}  ${f.size} bytes`);
      out(`wrote ${resolve(file)} (${manifest.files.length} files)`);
    });
}

/** `edgehub restore FILE`: checks the archive, then puts it back; refuses while a hub uses the data folder. */
export function restoreCommand(): Command {
  return new Command('restore')
    .description('check a backup and put it back (stop the hub first); config and rules only where missing')
    .argument('<file>', 'an archive written by edgehub backup')
    .option('--config <file>', 'where the config goes (and, if it exists, where data and rules are)')
    .option('--data <dir>', 'data directory (default: hub.data_dir of the config)')
    .option('--force', 'replace an existing config file and rule files too')
    .action((file: string, opts: PathOptions & { force?: boolean }) => {
      const force = opts.force === true;
      const backup = openBackup(file);
      const config = configAfterRestore(backup, opts.config, force, opts.data);
      const report = restoreBackup(backup, {
        dataDir: config.hub.data_dir,
        force,
        ...(opts.config !== undefined && { configFile: opts.config }),
        ...(config.hub.rules_dir !== undefined && { rulesDir: config.hub.rules_dir }),
      });
      for (const line of report.restored) out(`restored ${line}`);
      for (const line of report.kept) out(line);
      out(
        `restored ${backup.file} (made ${backup.manifest.createdAt} by edgehub ${backup.manifest.edgehubVersion})`,
      );
    });
}

/**
 * The config the hub will run with once the restore is done, which says where the data and rules
 * go: the existing file unless it is to be replaced, else the archived one, else the defaults.
 */
function configAfterRestore(
  backup: OpenedBackup,
  configFile: string | undefined,
  force: boolean,
  dataDir: string | undefined,
): Readonly<HubConfig> {
  const overrides = dataDir !== undefined ? { dataDir } : {};
  if (configFile !== undefined && existsSync(configFile) && !force) return loadConfig(configFile, overrides);
  const archived = backup.manifest.files.find((f) => f.name.startsWith('config/'));
  if (!archived) return loadConfig(undefined, overrides);
  // loadConfig reads a file (and names it in errors): give it the archived one under its own name.
  const dir = mkdtempSync(join(tmpdir(), 'edgehub-restore-'));
  try {
    const copy = join(dir, basename(archived.name));
    writeFileSync(copy, readBackupFile(backup, archived.name), { mode: 0o600 });
    return loadConfig(copy, overrides);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
