import type { z } from 'zod';
import { EdgehubError, formatPath } from '../../kernel/index.js';
import { suggestion } from './did-you-mean.js';
import type { RuleSource } from './rule-source.js';
import { ruleFileSchema, ruleSchema, type RuleDefinition } from './schema/rule-file.js';

/**
 * A rule of a file with its position in the `rules:` list. `complete` rules passed the schema;
 * the others carry only their keys that are valid on their own, so their expressions, filters
 * and templates can still be checked and reported in the same pass.
 */
export type CheckedRule =
  | { readonly index: number; readonly complete: true; readonly definition: RuleDefinition }
  | { readonly index: number; readonly complete: false; readonly definition: Partial<RuleDefinition> };

/**
 * Checks a rule file against the schema and returns every problem, located at the offending key.
 * Rules without problems are returned too, so later stages (expressions, duplicate ids) can still
 * report on them while another rule of the file is broken.
 */
export function validateRuleFile(source: RuleSource): { rules: CheckedRule[]; errors: EdgehubError[] } {
  const data = source.toJS();
  const result = ruleFileSchema.safeParse(data, { error: messageFor, reportInput: true });
  if (result.success) {
    return {
      rules: result.data.rules.map((definition, index) => ({ index, complete: true, definition })),
      errors: [],
    };
  }
  const problems = dedupe(flatten(result.error.issues, []));
  const errors = problems.map(
    (p) =>
      new EdgehubError('RULE_INVALID', p.message, {
        location: p.key !== undefined ? source.atKey(p.path, p.key) : source.at(p.path),
      }),
  );
  const broken = new Set(problems.map((p) => (p.path[0] === 'rules' ? p.path[1] : undefined)));
  const list = (data as { rules?: unknown } | null)?.rules;
  // A problem outside any one rule (no `rules:` list at all) leaves nothing to compile.
  if (broken.has(undefined) || !Array.isArray(list)) return { rules: [], errors };
  const rules: CheckedRule[] = [];
  list.forEach((raw: unknown, index) => {
    if (!broken.has(index)) {
      const parsed = ruleSchema.safeParse(raw);
      if (parsed.success) rules.push({ index, complete: true, definition: parsed.data });
    } else if (raw !== null && typeof raw === 'object' && !Array.isArray(raw)) {
      rules.push({ index, complete: false, definition: validKeys(raw as Record<string, unknown>) });
    }
  });
  return { rules, errors };
}

/** The keys of a broken rule that pass their own schema. */
function validKeys(raw: Record<string, unknown>): Partial<RuleDefinition> {
  const out: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(ruleSchema.shape)) {
    if (!Object.hasOwn(raw, key)) continue;
    const parsed = schema.safeParse(raw[key]);
    if (parsed.success) out[key] = parsed.data;
  }
  return out;
}

interface Problem {
  readonly path: PropertyKey[];
  /** Set for an unknown key: the location is the key itself, not its value. */
  readonly key?: string;
  readonly code: string;
  readonly message: string;
}

/**
 * A union branch got past the type check when nothing at its root says "wrong type": a map where a
 * map or a list was allowed. Problems inside it, or a refinement of the map itself, are the useful
 * ones. A nested union at the root is viable when one of its own branches is.
 */
function viable(branch: readonly z.core.$ZodIssue[]): boolean {
  return branch.every((i) => {
    if (i.path.length > 0) return true;
    if (i.code === 'invalid_union') return i.errors.some(viable);
    return i.code === 'custom' || i.code === 'unrecognized_keys';
  });
}

const KNOWN_KEYS = /known keys here: (.*)$/;

function flatten(issues: readonly z.core.$ZodIssue[], prefix: readonly PropertyKey[]): Problem[] {
  const out: Problem[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'invalid_union') {
      // Keep the one branch that got past the type check; otherwise the union's own message.
      const branches = issue.errors.filter(viable);
      const only = branches.length === 1 ? branches[0] : undefined;
      if (only) out.push(...flatten(only, path));
      else out.push({ path, code: issue.code, message: issue.message });
    } else if (issue.code === 'unrecognized_keys') {
      const known = KNOWN_KEYS.exec(issue.message)?.[1]?.split(', ') ?? [];
      for (const key of issue.keys) {
        out.push({
          path,
          key,
          code: issue.code,
          message: `unknown key "${key}"; ${suggestion(key, known)}${issue.message}`,
        });
      }
    } else if (issue.code === 'invalid_key' && path.length > 0) {
      // A bad key of a map (a variable name): point at the key, say what is wrong with it.
      out.push({
        path: path.slice(0, -1),
        key: String(path.at(-1)),
        code: issue.code,
        message: issue.issues[0]?.message ?? issue.message,
      });
    } else if (issue.code === 'invalid_type' && issue.input === undefined && path.length > 0) {
      out.push({ path, code: issue.code, message: `missing required key "${String(path.at(-1))}"` });
    } else {
      out.push({ path, code: issue.code, message: issue.message });
    }
  }
  return out;
}

/**
 * An unknown key already explains why its map lacks something (an action with no known kind, a
 * trigger with `metric:` but a misspelt `above:`); say it once. Refinement complaints about that
 * map or one of its keys are dropped.
 */
function dedupe(problems: Problem[]): Problem[] {
  const unknownAt = new Set(
    problems.filter((p) => p.code === 'unrecognized_keys').map((p) => formatPath(p.path)),
  );
  return problems.filter(
    (p) =>
      p.code !== 'custom' ||
      (!unknownAt.has(formatPath(p.path)) && !unknownAt.has(formatPath(p.path.slice(0, -1)))),
  );
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  if (typeof value === 'string') return `text "${value.length > 40 ? value.slice(0, 40) + '…' : value}"`;
  return `${typeof value} ${JSON.stringify(value) ?? ''}`;
}

/** Messages in the words of rule files (keys, maps, lists), not of JavaScript types. */
const messageFor: z.core.$ZodErrorMap = (issue) => {
  if (issue.code === 'invalid_type') {
    if (issue.input === undefined) return 'missing required value';
    if (issue.path === undefined && issue.expected === 'object') {
      return `a rule file is a map with a top-level "rules:" list; got ${describe(issue.input)}`;
    }
    const expected =
      issue.expected === 'object' ? 'a map' : issue.expected === 'array' ? 'a list' : issue.expected;
    return `expected ${expected}, got ${describe(issue.input)}`;
  }
  if (issue.code === 'unrecognized_keys') {
    const shape = (issue.inst as { _zod?: { def?: { shape?: object } } } | undefined)?._zod?.def?.shape;
    return shape ? `known keys here: ${Object.keys(shape).join(', ')}` : 'not a known key here';
  }
  if (issue.code === 'too_small') {
    if (issue.origin === 'array')
      return `needs at least ${String(issue.minimum)} item${issue.minimum === 1 ? '' : 's'}`;
    if (issue.origin === 'string') return 'may not be empty';
  }
  if (issue.code === 'invalid_value') {
    const hint = typeof issue.input === 'string' ? suggestion(issue.input, issue.values.map(String)) : '';
    return `${hint}expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
  }
  return undefined;
};
