import { EdgehubError } from '../../../kernel/index.js';
import type { RuleLoadOptions } from '../../language/compile/context.js';
import { compileRuleDir, readRuleDirSync } from '../../language/loader.js';
import { findRuleLoops } from '../../language/loops.js';
import { formatProblem } from '../../language/rule-problem.js';

export interface CheckResult {
  readonly ok: boolean;
  /** Every problem found, in file and position order. */
  readonly errors: readonly EdgehubError[];
  /** Possible loops (`RULE_POSSIBLE_LOOP`); they do not stop the hub from loading the directory. */
  readonly warnings: readonly EdgehubError[];
  /** Rules in the set when it is valid; 0 otherwise. */
  readonly ruleCount: number;
  readonly fileCount: number;
}

/**
 * Validates a rules directory exactly as the hub loads it (the same reader and compiler); with the
 * hub's load options (its declared devices, whether it has a location), against them as the hub does.
 */
export function checkRules(dir: string, load: RuleLoadOptions = {}): CheckResult {
  try {
    const contents = readRuleDirSync(dir);
    const fileCount = contents.files.length + contents.errors.length;
    const result = compileRuleDir(contents, load);
    const warnings = findRuleLoops(contents.files);
    if (result.ok) return { ok: true, errors: [], warnings, ruleCount: result.set.rules.length, fileCount };
    return { ok: false, errors: result.errors, warnings, ruleCount: 0, fileCount };
  } catch (err) {
    if (err instanceof EdgehubError)
      return { ok: false, errors: [err], warnings: [], ruleCount: 0, fileCount: 0 };
    throw err;
  }
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

export interface CheckCommandOptions {
  /** Possible loops count as errors for the exit status (for CI that wants none). */
  strict?: boolean;
  /** What the hub checks rules against: its declared devices and location. */
  load?: RuleLoadOptions;
}

/**
 * `edgehub check DIR`: prints one line per problem and a summary; returns the exit status.
 * Errors make it non-zero; possible loops are printed as warnings and only do so with `strict`,
 * because the hub loads such a directory (and breaks real loops at run time).
 */
export function runCheckCommand(
  dir: string,
  out: (line: string) => void,
  options: CheckCommandOptions = {},
): number {
  const result = checkRules(dir, options.load);
  for (const error of result.errors) out(formatProblem(error));
  for (const warning of result.warnings) out(formatProblem(warning, 'warning'));
  const warned = result.warnings.length > 0 ? `; ${plural(result.warnings.length, 'warning')}` : '';
  if (result.ok) {
    out(
      `${dir}: ${plural(result.ruleCount, 'rule')} in ${plural(result.fileCount, 'file')}, all valid${warned}`,
    );
    return options.strict && result.warnings.length > 0 ? 1 : 0;
  }
  out(`${dir}: ${plural(result.errors.length, 'error')}${warned}; the hub would not load this directory`);
  return 1;
}
