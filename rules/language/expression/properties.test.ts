import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileExpression } from './compile.js';
import { makeScope, type Scope } from './scope.js';

/**
 * Properties of the evaluator over generated expressions and data: it never throws, yields only
 * JSON data or null, and never reaches prototypes or globals.
 */

const FORBIDDEN = [
  '__proto__',
  'constructor',
  'prototype',
  'process',
  'globalThis',
  'global',
  'require',
  'Function',
  'eval',
  'this_',
];
const names = fc.constantFrom(
  'payload',
  'topic',
  'levels',
  'trigger',
  'vars',
  'now',
  'wait',
  'device',
  ...FORBIDDEN,
);
const member = fc.oneof(
  fc.constantFrom('value', 'x', 'length', 'state', 'status', 'last_seen', 'timed_out', ...FORBIDDEN),
  fc.string({ maxLength: 6 }).filter((s) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(s)),
);

/** Small expressions built from names, members, indexes, calls, literals and operators. */
const expression: fc.Arbitrary<string> = fc.letrec<{ expr: string }>((tie) => ({
  expr: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    names,
    fc.constantFrom('1', '0', '-2.5', '"a"', 'null', 'true', '[1, "b"]'),
    fc.tuple(tie('expr'), member).map(([e, m]) => `(${e}).${m}`),
    fc.tuple(tie('expr'), tie('expr')).map(([e, i]) => `(${e})[${i}]`),
    fc
      .tuple(
        fc.constantFrom('+', '-', '*', '/', '%', '**', '<', '>=', '==', '!=', '&&', '||', '??', 'in'),
        tie('expr'),
        tie('expr'),
      )
      .map(([op, a, b]) => `(${a}) ${op} (${b})`),
    fc.tuple(tie('expr'), tie('expr'), tie('expr')).map(([a, b, c]) => `(${a}) ? (${b}) : (${c})`),
    tie('expr').map((e) => `!(${e})`),
    fc
      .tuple(fc.constantFrom('abs', 'number', 'string', 'lower', 'upper', 'round', 'device'), tie('expr'))
      .map(([f, a]) => `${f}(${a})`),
    fc
      .tuple(fc.constantFrom('min', 'max', 'contains', 'starts_with'), tie('expr'), tie('expr'))
      .map(([f, a, b]) => `${f}(${a}, ${b})`),
  ),
})).expr;

function isJson(value: unknown, depth = 0): boolean {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (depth > 20 || typeof value !== 'object') return false;
  if (Array.isArray(value)) return value.every((v) => isJson(v, depth + 1));
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return false;
  return Object.values(value).every((v) => isJson(v, depth + 1));
}

function scopeWith(payload: unknown, vars: Record<string, unknown>): Scope {
  const registry: Record<string, unknown> = {
    'gh-1': { id: 'gh-1', status: 'online', last_seen: 5, state: { temperature: 21 }, updated_at: {} },
  };
  return makeScope({
    payload,
    topic: 'sensors/gh-1/temperature',
    vars,
    wait: { timed_out: false },
    lookupDevice: (id) => (typeof id === 'string' && Object.hasOwn(registry, id) ? registry[id] : null),
  });
}

describe('expression evaluator properties', () => {
  it('never throws on any generated expression and any JSON data, and yields JSON or null', () => {
    fc.assert(
      fc.property(
        expression,
        fc.jsonValue(),
        fc.dictionary(fc.string(), fc.jsonValue()),
        (text, payload, vars) => {
          const compiled = compileExpression(text);
          const value = compiled.evaluate(scopeWith(payload, vars));
          expect(isJson(value)).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('missing members at any depth are null, never an exception', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.array(member, { minLength: 1, maxLength: 6 }), (payload, path) => {
        const text = ['payload', ...path].join('.');
        const value = compileExpression(text).evaluate(scopeWith(payload, {}));
        expect(value === null || isJson(value)).toBe(true);
      }),
    );
  });

  it('__proto__, constructor, process and globalThis are plain missing names wherever they appear', () => {
    const BLOCKED = ['__proto__', 'constructor', 'prototype'];
    fc.assert(
      fc.property(
        fc.constantFrom(...FORBIDDEN),
        fc.constantFrom(
          '',
          'payload.',
          'vars.',
          'wait.',
          'device("gh-1").',
          'device("gh-1").state.',
          'levels.',
          'trigger.',
        ),
        fc.jsonValue(),
        (name, prefix, payload) => {
          const vars = JSON.parse(`{${JSON.stringify(name)}: 1}`) as Record<string, unknown>;
          const value = compileExpression(`${prefix}${name}`).evaluate(scopeWith(payload, vars));
          if (prefix === '' || BLOCKED.includes(name)) expect(value).toBeNull();
          // Elsewhere a name like `process` is an ordinary key: own data of the map, or null.
          else expect(isJson(value)).toBe(true);
        },
      ),
    );
  });

  it('bare global names evaluate to null, never to the host’s objects', () => {
    for (const name of FORBIDDEN) expect(compileExpression(name).evaluate(scopeWith({}, {}))).toBeNull();
    for (const name of ['__proto__', 'constructor', 'prototype']) {
      expect(
        compileExpression(`vars.${name}`).evaluate(
          scopeWith({}, JSON.parse(`{"${name}": 1}`) as Record<string, unknown>),
        ),
      ).toBeNull();
      expect(compileExpression(`device("gh-1").${name}`).evaluate(scopeWith({}, {}))).toBeNull();
    }
  });
});
