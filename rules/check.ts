import { EdgehubError, formatLocation } from '../kernel/index.js';
import { compileRuleDir, readRuleDirSync } from './loader.js';

export interface CheckResult {
  readonly ok: boolean;
  /** Every problem found, in file and position order. */
  readonly errors: readonly EdgehubError[];
  /** Rules in the set when it is valid; 0 otherwise. */
  readonly ruleCount: number;
  readonly fileCount: number;
}

/** Validates a rules directory exactly as the hub loads it (the same reader and compiler). */
export function checkRules(dir: string): CheckResult {
  try {
    const contents = readRuleDirSync(dir);
    const fileCount = contents.files.length + contents.errors.length;
    const result = compileRuleDir(contents);
    if (result.ok) return { ok: true, errors: [], ruleCount: result.set.rules.length, fileCount };
    return { ok: false, errors: result.errors, ruleCount: 0, fileCount };
  } catch (err) {
    if (err instanceof EdgehubError) return { ok: false, errors: [err], ruleCount: 0, fileCount: 0 };
    throw err;
  }
}

/** `file:line:col key.path: message`, the form editors and terminals turn into links. */
export function formatProblem(error: EdgehubError): string {
  const loc = error.location;
  if (!loc) return error.message;
  const prefix = `${formatLocation(loc)}: `;
  const text = error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
  return `${loc.file}:${loc.line}:${loc.col}${loc.path ? ` ${loc.path}` : ''}: ${text}`;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** `edgehub check DIR`: prints one line per problem and a summary; returns the exit status. */
export function runCheckCommand(dir: string, out: (line: string) => void): number {
  const result = checkRules(dir);
  for (const error of result.errors) out(formatProblem(error));
  if (result.ok) {
    out(`${dir}: ${plural(result.ruleCount, 'rule')} in ${plural(result.fileCount, 'file')}, all valid`);
    return 0;
  }
  out(`${dir}: ${plural(result.errors.length, 'error')}; the hub would not load this directory`);
  return 1;
}
