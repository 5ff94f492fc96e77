import { readdirSync, readFileSync, statSync, type Dirent } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  EdgehubError,
  EdgehubErrors,
  errorMessage,
  formatLocation,
  type SourceLocation,
} from '../../kernel/index.js';
import type { RuleLoadOptions } from './compile/context.js';
import { compileRule } from './compile/rule.js';
import { createRuleSet, type Rule, type RuleSet } from './rule.js';
import { RuleSource } from './rule-source.js';
import { validateRuleFile } from './validate.js';

/** One rule file's name (as it appears in error locations) and text. */
export interface RuleFileText {
  readonly file: string;
  readonly text: string;
}

export type { RuleLoadOptions };

/** `warnings` do not stop a set from loading (a device glob that matches no declared device). */
export type RuleLoadResult =
  | { readonly ok: true; readonly set: RuleSet; readonly warnings: readonly EdgehubError[] }
  | { readonly ok: false; readonly errors: readonly EdgehubError[] };

/** `*.yaml` / `*.yml`, except files starting with `_` or `.` (drafts, editor swap files). */
export function isRuleFileName(name: string): boolean {
  return /\.ya?ml$/.test(name) && !name.startsWith('_') && !name.startsWith('.');
}

/**
 * The one validator: `check`, the watcher and the hub all go through here, so "valid" means
 * "loads". Returns every problem of every file, sorted by file and position.
 */
export function compileRuleFiles(
  files: readonly RuleFileText[],
  options: RuleLoadOptions = {},
): RuleLoadResult {
  const errors: EdgehubError[] = [];
  const warnings: EdgehubError[] = [];
  const rules: Rule[] = [];
  const seen = new Map<string, SourceLocation>();
  for (const { file, text } of files) {
    let source: RuleSource;
    try {
      source = RuleSource.parse(file, text);
    } catch (err) {
      if (err instanceof EdgehubError) {
        errors.push(err);
        continue;
      }
      throw err;
    }
    const valid = validateRuleFile(source);
    errors.push(...valid.errors);
    for (const checked of valid.rules) {
      const rule = compileRule(checked, { source, ordinal: rules.length, options, warnings }, errors);
      const id = checked.definition.id;
      if (id === undefined) continue;
      const location = source.at(['rules', checked.index, 'id']);
      const first = seen.get(id);
      if (first) {
        errors.push(
          new EdgehubError(
            'RULE_DUPLICATE_ID',
            `rule id "${id}" is already used at ${formatLocation(first)}`,
            {
              location,
            },
          ),
        );
        continue;
      }
      seen.set(id, location);
      if (rule) rules.push(rule);
    }
  }
  if (errors.length > 0) return { ok: false, errors: sortErrors(errors, files) };
  return {
    ok: true,
    set: createRuleSet(
      rules,
      files.map((f) => f.file),
    ),
    warnings: sortErrors(warnings, files),
  };
}

function sortErrors(errors: EdgehubError[], files: readonly RuleFileText[]): EdgehubError[] {
  const order = new Map(files.map((f, i) => [f.file, i]));
  const rank = (e: EdgehubError) => (e.location ? (order.get(e.location.file) ?? -1) : -1);
  return errors
    .map((e, i) => ({ e, i }))
    .sort(
      (a, b) =>
        rank(a.e) - rank(b.e) ||
        (a.e.location?.line ?? 0) - (b.e.location?.line ?? 0) ||
        (a.e.location?.col ?? 0) - (b.e.location?.col ?? 0) ||
        a.i - b.i,
    )
    .map(({ e }) => e);
}

function dirNotFound(dir: string, err: unknown): EdgehubError {
  return new EdgehubError(
    'RULES_DIR_NOT_FOUND',
    `cannot read the rules directory ${dir}: ${errorMessage(err)}`,
    {
      cause: err,
    },
  );
}

function ruleFileNames(entries: readonly Dirent[], dir: string): string[] {
  return entries
    .filter(
      (e) => isRuleFileName(e.name) && (e.isFile() || (e.isSymbolicLink() && isFile(join(dir, e.name)))),
    )
    .map((e) => e.name)
    .sort();
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The rule files of a directory, and the ones that could not be read. */
export interface RuleDirContents {
  readonly files: RuleFileText[];
  readonly errors: EdgehubError[];
}

/** A file removed between listing and reading (an editor saving) is skipped, not an error. */
function readProblem(file: string, err: unknown): EdgehubError | null {
  if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
  return new EdgehubError('RULE_INVALID', `cannot read ${file}: ${errorMessage(err)}`, {
    location: { file, line: 1, col: 1, path: '' },
  });
}

function collect(results: readonly (RuleFileText | EdgehubError | null)[]): RuleDirContents {
  const files: RuleFileText[] = [];
  const errors: EdgehubError[] = [];
  for (const r of results) {
    if (r instanceof EdgehubError) errors.push(r);
    else if (r) files.push(r);
  }
  return { files, errors };
}

/** Reads the rule files of `dir` (not its subdirectories), in name order. */
export async function readRuleDir(dir: string): Promise<RuleDirContents> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    throw dirNotFound(dir, err);
  }
  const results = await Promise.all(
    ruleFileNames(entries, dir).map(async (name) => {
      const file = join(dir, name);
      try {
        return { file, text: await readFile(file, 'utf8') };
      } catch (err) {
        return readProblem(file, err);
      }
    }),
  );
  return collect(results);
}

/** {@link readRuleDir} for the `check` command, which runs before anything else is up. */
export function readRuleDirSync(dir: string): RuleDirContents {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    throw dirNotFound(dir, err);
  }
  return collect(
    ruleFileNames(entries, dir).map((name) => {
      const file = join(dir, name);
      try {
        return { file, text: readFileSync(file, 'utf8') };
      } catch (err) {
        return readProblem(file, err);
      }
    }),
  );
}

/** Validates what was read from a directory; read problems count like any other. */
export function compileRuleDir(contents: RuleDirContents, options: RuleLoadOptions = {}): RuleLoadResult {
  const result = compileRuleFiles(contents.files, options);
  if (contents.errors.length === 0) return result;
  return { ok: false, errors: [...contents.errors, ...(result.ok ? [] : result.errors)] };
}

/**
 * Loads and validates a rules directory. Throws {@link EdgehubErrors} carrying every problem
 * (`RULES_DIR_NOT_FOUND` when the directory cannot be read, else `RULE_INVALID`).
 */
export async function loadRuleDir(dir: string, options: RuleLoadOptions = {}): Promise<RuleSet> {
  const result = await tryLoadRuleDir(dir, options);
  if (result.ok) return result.set;
  const first = result.errors[0];
  throw new EdgehubErrors(
    result.errors.length === 1 && first?.code === 'RULES_DIR_NOT_FOUND' ? first.code : 'RULE_INVALID',
    result.errors,
  );
}

/** {@link loadRuleDir} without throwing: the watcher keeps the running set on errors. */
export async function tryLoadRuleDir(dir: string, options: RuleLoadOptions = {}): Promise<RuleLoadResult> {
  try {
    return compileRuleDir(await readRuleDir(dir), options);
  } catch (err) {
    if (err instanceof EdgehubError) return { ok: false, errors: [err] };
    throw err;
  }
}
