import { EdgehubError, type SourceLocation } from '../../../kernel/index.js';
import { compileExpression, type Evaluator } from './compile.js';
import type { Scope } from './scope.js';
import { toText } from './values.js';

/** A value of an action with its `{{ expression }}` parts compiled. */
export interface CompiledTemplate {
  /** True when nothing in the value is templated; `render` then returns the same value every time. */
  readonly isStatic: boolean;
  render(scope: Scope): unknown;
}

/** Maps an offset inside the string at `path` (relative to the templated value) to a file location. */
export type TemplateLocator = (path: readonly PropertyKey[], offset: number) => SourceLocation;

const OPEN = '{{';
const CLOSE = '}}';

/**
 * Compiles `{{ expr }}` in every string of `value`, recursively through lists and maps (map keys
 * stay literal). A string that is exactly one template keeps the expression's type; otherwise the
 * parts are joined as text. Errors are `RULE_TEMPLATE_INVALID` (an unclosed or empty `{{ }}`) or
 * `RULE_EXPRESSION_INVALID`, located through `locate` when given.
 */
export function compileTemplate(value: unknown, locate?: TemplateLocator): CompiledTemplate {
  return compileAt(value, [], locate);
}

function staticValue(value: unknown): CompiledTemplate {
  return { isStatic: true, render: () => value };
}

function compileAt(
  value: unknown,
  path: readonly PropertyKey[],
  locate: TemplateLocator | undefined,
): CompiledTemplate {
  if (typeof value === 'string') return compileString(value, path, locate);
  if (Array.isArray(value)) {
    const items = value.map((item: unknown, i) => compileAt(item, [...path, i], locate));
    if (items.every((t) => t.isStatic)) return staticValue(value);
    return { isStatic: false, render: (s) => items.map((t) => t.render(s)) };
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).map(([k, v]) => [k, compileAt(v, [...path, k], locate)] as const);
    if (entries.every(([, t]) => t.isStatic)) return staticValue(value);
    return {
      isStatic: false,
      render: (s) => {
        const out: Record<string, unknown> = {};
        for (const [k, t] of entries) out[k] = t.render(s);
        return out;
      },
    };
  }
  return staticValue(value);
}

type Part = string | Evaluator;

function compileString(
  text: string,
  path: readonly PropertyKey[],
  locate: TemplateLocator | undefined,
): CompiledTemplate {
  if (!text.includes(OPEN)) return staticValue(text);
  const at = (offset: number) => (locate ? { location: locate(path, offset) } : {});
  const parts: Part[] = [];
  let pos = 0;
  for (;;) {
    const open = text.indexOf(OPEN, pos);
    if (open < 0) break;
    if (open > pos) parts.push(text.slice(pos, open));
    const start = open + OPEN.length;
    const close = findClose(text, start);
    if (close < 0) {
      throw new EdgehubError(
        'RULE_TEMPLATE_INVALID',
        `"{{" at column ${open + 1} of ${JSON.stringify(text)} has no closing "}}"`,
        at(open),
      );
    }
    const source = text.slice(start, close);
    if (source.trim() === '') {
      throw new EdgehubError(
        'RULE_TEMPLATE_INVALID',
        `empty "{{ }}" at column ${open + 1} of ${JSON.stringify(text)}`,
        at(open),
      );
    }
    const expression = compileExpression(
      source,
      locate ? (offset) => locate(path, start + offset) : undefined,
    );
    parts.push(expression.evaluate);
    pos = close + CLOSE.length;
  }
  if (pos < text.length) parts.push(text.slice(pos));

  const [only] = parts;
  if (parts.length === 1 && typeof only === 'function') return { isStatic: false, render: only };
  return {
    isStatic: false,
    render: (s) => {
      let out = '';
      for (const part of parts) out += typeof part === 'string' ? part : toText(part(s));
      return out;
    },
  };
}

/** The `}}` closing a template, skipping quoted strings in the expression (which may hold `}}`). */
function findClose(text: string, from: number): number {
  let quote: string | null = null;
  for (let i = from; i < text.length; i++) {
    const ch = text[i];
    if (quote !== null) {
      if (ch === '\\') i++;
      else if (ch === quote) quote = null;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
    } else if (ch === '}' && text[i + 1] === '}') {
      return i;
    }
  }
  return -1;
}
