import { resolve } from 'node:path';
import type { DeviceDefinition } from '../../devices/index.js';
import { EdgehubError, EdgehubErrors } from '../../kernel/index.js';
import { checkRules, EXAMPLE_RULES_DIR, formatProblem } from '../../rules/index.js';
import { loadConfig } from '../config/load.js';
import type { HubConfig } from '../config/schema.js';
import { declaredDevices, ruleLoadOptions } from '../rule-checks.js';
import { fail, ok, reason, warn, type CheckResult } from './check-result.js';

export interface LoadedConfig {
  config: Readonly<HubConfig>;
  devices: DeviceDefinition[];
}

/** Problems an error carries, each as `file:line:col key.path: message` where it has a place. */
function problems(err: unknown): string[] {
  const errors = err instanceof EdgehubErrors ? err.errors : err instanceof EdgehubError ? [err] : [];
  if (errors.length === 0) return [reason(err)];
  return errors.map((e) => (e.location ? formatProblem(e) : e.message));
}

/** "first problem (and 2 more)": a verdict is one line; `edgehub check` prints them all. */
function summary(list: readonly string[]): string {
  const [first = 'unknown error'] = list;
  return list.length > 1 ? `${first} (and ${list.length - 1} more)` : first;
}

/** The config as `edgehub start --config FILE` loads it, with its declared devices. */
export function configCheck(file: string | undefined): { result: CheckResult; loaded?: LoadedConfig } {
  let config: Readonly<HubConfig>;
  try {
    config = loadConfig(file);
  } catch (err) {
    return {
      result: fail(
        'config',
        summary(problems(err)),
        file === undefined
          ? 'fix the defaults'
          : `fix ${file} at the place named; the hub refuses to start with it`,
      ),
    };
  }
  let devices: DeviceDefinition[];
  try {
    devices = declaredDevices(config);
  } catch (err) {
    return {
      result: fail('config', summary(problems(err)), 'fix the device definitions at the place named'),
    };
  }
  const what = file === undefined ? 'no config file given: every default applies' : `${file} is valid`;
  return { result: ok('config', `${what} (${devices.length} devices)`), loaded: { config, devices } };
}

/** The rules directory the hub would load, checked by the hub's own loader against the config. */
export function rulesCheck(loaded: LoadedConfig, file: string | undefined): CheckResult {
  const { config, devices } = loaded;
  const dir =
    config.hub.rules_dir !== undefined
      ? resolve(config.hub.rules_dir)
      : config.demo
        ? EXAMPLE_RULES_DIR
        : undefined;
  if (dir === undefined) return ok('rules', 'no hub.rules_dir: the hub runs without rules');
  const result = checkRules(dir, ruleLoadOptions(config, devices));
  const recheck = `edgehub check ${dir}${file === undefined ? '' : ` --config ${file}`}`;
  if (!result.ok)
    return fail(
      'rules',
      summary(result.errors.map((e) => formatProblem(e))),
      `fix the rule at the place named (\`${recheck}\` lists every problem); the hub would refuse the whole directory`,
    );
  const loaded_ = `${result.ruleCount} rules in ${result.fileCount} files in ${dir} load`;
  if (result.warnings.length > 0)
    return warn(
      'rules',
      `${loaded_}, with ${result.warnings.length} possible loops: ${formatProblem(result.warnings[0]!, 'warning')}`,
      `see \`${recheck}\`; the hub breaks real loops at run time (rules.loop_breaker)`,
    );
  return ok('rules', loaded_);
}
