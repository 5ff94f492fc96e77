import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Logger } from '../kernel/index.js';
import { openRulesDb, readerPages, rulesDbPath, type RuleDirWatcher } from '../rules/index.js';
import type { HubConfig } from './config/schema.js';
import type { Hub } from './hub.js';
import { ruleLoadOptions } from './rule-checks.js';
import { DEFAULT_KEPT_VERSIONS, RuleFiles, RuleFileVersions } from './rule-files/index.js';

export interface HubRuleFilesParts {
  config: HubConfig;
  /** The data folder, resolved. */
  dataDir: string;
  logger: Logger;
  /** The rules directory's watcher, once the rules are loaded. */
  watcher: () => RuleDirWatcher | undefined;
}

/**
 * The rule editor's files: validated by the hub's own loader against its devices, previewed over
 * the stored events against the rules in force, saved with their versions beside the traces.
 */
export function hubRuleFiles(hub: Hub, parts: HubRuleFilesParts): RuleFiles {
  const { config, dataDir, logger, watcher } = parts;
  // Only a configured directory is edited: the demo's examples are part of the installed package.
  const editable = config.hub.rules_dir !== undefined ? resolve(config.hub.rules_dir) : undefined;
  return new RuleFiles({
    dir: editable,
    clock: hub.clock,
    logger: logger,
    // Beside the traces in `<data_dir>/rules.db`: the data folder is what the service may write and what backups copy.
    versions: new RuleFileVersions({
      open: () => {
        mkdirSync(dataDir, { recursive: true });
        return openRulesDb(rulesDbPath(dataDir));
      },
      keep: DEFAULT_KEPT_VERSIONS,
    }),
    loadOptions: () => ruleLoadOptions(config, hub.registry.definitions),
    inForce: () => hub.rules.ruleSet,
    events: () => (hub.store ? readerPages(hub.store) : undefined),
    // At once rather than after the watcher's debounce, so a save answers with the load it caused.
    reload: async () => {
      await watcher()?.reload();
      return watcher()?.status;
    },
    // A preview replays on the hub's thread: between pages of events the broker gets its turn.
    betweenPages: () => new Promise<void>((next) => setImmediate(next)),
  });
}
