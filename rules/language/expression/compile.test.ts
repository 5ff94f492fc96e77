import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EdgehubError } from '../../../kernel/index.js';
import { compileExpression } from './compile.js';
import { makeScope, type Scope } from './scope.js';

const scope = makeScope({
  payload: { value: 31.5, unit: 'C', seq: 7, tags: ['a', 'b'], nested: { deep: [1, { x: 2 }] }, none: null },
  topic: 'sensors/gh-1/temperature',
  captures: Object.assign(Object.create(null) as Record<string, string>, { device: 'gh-1' }),
  trigger: { id: 'hot', key: 'gh-1' },
  now: 1_700_000_000_000,
});

const run = (text: string, s: Scope = scope): unknown => compileExpression(text).evaluate(s);

function compileError(text: string): EdgehubError {
  try {
    compileExpression(text);
  } catch (err) {
    if (err instanceof EdgehubError) return err;
    throw err;
  }
  throw new Error(`"${text}" compiled`);
}

describe('expressions: names and members', () => {
  it.each([
    ['payload.value', 31.5],
    ['payload["unit"]', 'C'],
    ['payload.tags[1]', 'b'],
    ['payload.nested.deep[1].x', 2],
    ['payload.tags.length', 2],
    ['topic', 'sensors/gh-1/temperature'],
    ['levels[1]', 'gh-1'],
    ['levels.length', 3],
    ['device', 'gh-1'],
    ['trigger.id', 'hot'],
    ['trigger.key', 'gh-1'],
    ['now', 1_700_000_000_000],
    ['now()', 1_700_000_000_000],
    ['topic.length', 24],
    ['payload?.value', 31.5],
  ])('%s → %j', (text, expected) => {
    expect(run(text)).toEqual(expected);
  });

  it.each([
    'payload.missing',
    'payload.missing.deeper[3].still',
    'payload.none.x',
    'payload.tags[5]',
    'payload.tags[-1]',
    'payload.tags[0.5]',
    'payload.value.x',
    'unknown_name',
    'vars.anything',
    'payload.__proto__',
    'payload.constructor',
    'payload["constructor"]',
    'payload.tags.constructor',
    'payload.unit.constructor',
    'topic.toString',
    'payload.hasOwnProperty',
    '__proto__',
    'constructor',
    'prototype',
    'process',
    'globalThis',
    'trigger.constructor.name',
    'levels.__proto__',
  ])('%s → null', (text) => {
    expect(run(text)).toBeNull();
  });

  it('reads own keys named like prototype members only when the payload has them', () => {
    const s = makeScope({
      payload: JSON.parse('{"toString": 1, "__proto__": {"polluted": true}}') as unknown,
    });
    expect(run('payload.toString', s)).toBe(1);
    // Blocked outright, even as an own key of the payload.
    expect(run('payload.__proto__', s)).toBeNull();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('expressions: operators', () => {
  it.each([
    ['payload.value > 30', true],
    ['payload.value >= 31.5 && payload.value <= 31.5', true],
    ['payload.value < 30 || payload.unit == "C"', true],
    ['!(payload.value > 30)', false],
    ['payload.seq + 1', 8],
    ['payload.seq - 10', -3],
    ['payload.seq * 2 / 4', 3.5],
    ['payload.seq % 4', 3],
    ['2 ** 10', 1024],
    ['-payload.seq', -7],
    ['"gh" + "-" + 1', 'gh-1'],
    ['device + ":" + payload.value', 'gh-1:31.5'],
    ['payload.value > 30 ? "hot" : "ok"', 'hot'],
    ['payload.missing ?? "default"', 'default'],
    ['payload.missing || "fallback"', 'fallback'],
    ['payload.unit && payload.seq', 7],
    ['1 == 1', true],
    ['1 === 1', true],
    ['1 == "1"', false],
    ['"1" != 1', true],
    ['1 !== 2', true],
    ['null == null', true],
    ['payload.missing == null', true],
    ['payload.tags == ["a", "b"]', true],
    ['payload.nested == payload.nested', true],
    ['"a" in payload.tags', true],
    ['"c" in payload.tags', false],
    ['"unit" in payload', true],
    ['"none" in payload', true],
    ['"constructor" in payload', false],
    ['"gh" in device', true],
    ['1 in "123"', false],
    ['[1, 2, 3]', [1, 2, 3]],
    ['2 in [1, 2, 3]', true],
  ])('%s → %j', (text, expected) => {
    expect(run(text)).toEqual(expected);
  });

  it.each([
    ['payload.missing > 30', false],
    ['payload.missing < 30', false],
    ['payload.unit > 3', false],
    ['payload.missing + 1', null],
    ['payload.missing * 2', null],
    ['1 / 0', null],
    ['-payload.unit', null],
    ['payload.tags + 1', null],
  ])('type mismatches are null or false, never an exception: %s → %j', (text, expected) => {
    expect(run(text)).toEqual(expected);
  });
});

describe('expressions: functions', () => {
  it.each([
    ['abs(-3)', 3],
    ['abs("x")', null],
    ['min(3, 1, 2)', 1],
    ['max(3, 1, 2)', 3],
    ['max([4, 9, 2])', 9],
    ['min(1, "a")', null],
    ['round(2.5)', 3],
    ['round(-2.5)', -3],
    ['round(21.456, 1)', 21.5],
    ['round("x")', null],
    ['number("21.5")', 21.5],
    ['number("abc")', null],
    ['number(true)', 1],
    ['string(21.5)', '21.5'],
    ['string(payload.tags)', '["a","b"]'],
    ['string(payload.missing)', ''],
    ['lower("ABC")', 'abc'],
    ['upper(device)', 'GH-1'],
    ['upper(3)', null],
    ['contains(topic, "gh-1")', true],
    ['contains(payload.tags, "b")', true],
    ['contains(payload, "seq")', true],
    ['starts_with(topic, "sensors/")', true],
    ['starts_with(3, "3")', false],
  ])('%s → %j', (text, expected) => {
    expect(run(text)).toEqual(expected);
  });
});

describe('expressions: load-time errors', () => {
  it.each([
    ['payload.value >', 15, 'Expected expression'],
    ['payload.value > 30 )', 19, 'Unexpected'],
    ['foo(1)', 0, 'unknown function "foo"'],
    ['payload.value > 1 && bar(payload)', 21, 'unknown function "bar"'],
    ['payload.x.toString()', 0, 'only the built-in functions'],
    ['round()', 0, 'takes 1 to 2 arguments'],
    ['abs(1, 2)', 0, 'takes 1 argument'],
    ['a b', 2, 'second expression'],
    ['a, b', 3, 'second expression'],
    ['1 | 2', 2, 'operator |'],
    ['x >> 1', 2, 'operator >>'],
    ['~x', 0, 'operator ~'],
    ['this.x', 0, '"this"'],
    ['', 0, 'empty expression'],
    ['[1, , 2]', 0, 'empty slots'],
  ])('%j fails at column %i', (text, offset, words) => {
    const err = compileError(text);
    expect(err.code).toBe('RULE_EXPRESSION_INVALID');
    expect(err.message).toContain(words);
    expect(err.message).toContain(`column ${offset + 1} of expression`);
  });

  it('locates the error inside the file through the locator', () => {
    let asked = -1;
    try {
      compileExpression('payload.value > nope(1)', (offset) => {
        asked = offset;
        return { file: 'r.yaml', line: 4, col: 9 + offset, path: 'rules[0].if' };
      });
    } catch (err) {
      expect(err).toBeInstanceOf(EdgehubError);
      expect((err as EdgehubError).location).toEqual({
        file: 'r.yaml',
        line: 4,
        col: 25,
        path: 'rules[0].if',
      });
    }
    expect(asked).toBe(16);
  });
});

describe('expressions: properties', () => {
  const paths = fc.array(
    fc.oneof(
      fc.string(),
      fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'length', 'valueOf'),
      fc.integer({ min: -2, max: 5 }),
    ),
    { minLength: 1, maxLength: 5 },
  );
  const access = (path: (string | number)[]) =>
    'payload' + path.map((p) => (typeof p === 'number' ? `[${p}]` : `[${JSON.stringify(p)}]`)).join('');

  it('member access on any JSON payload never throws and yields JSON data or null', () => {
    fc.assert(
      fc.property(fc.jsonValue(), paths, (payload, path) => {
        const value = run(access(path), makeScope({ payload }));
        expect(value === null || ['string', 'number', 'boolean', 'object'].includes(typeof value)).toBe(true);
        expect(typeof value).not.toBe('function');
      }),
    );
  });

  it('prototype names and globals are null whatever the payload holds', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (payload) => {
        const s = makeScope({ payload });
        for (const text of [
          'payload.__proto__',
          'payload.constructor',
          'payload.prototype',
          'payload["__proto__"]',
          'payload.x.constructor',
          'process',
          'globalThis',
          'constructor',
          '__proto__',
        ]) {
          expect(run(text, s)).toBeNull();
        }
      }),
    );
  });

  it('comparisons and arithmetic on any JSON values never throw', () => {
    const ops = ['+', '-', '*', '/', '%', '**', '<', '>', '<=', '>=', '==', '!=', '&&', '||', '??', 'in'];
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), fc.constantFrom(...ops), (a, b, op) => {
        const s = makeScope({ payload: { a, b } });
        const value = run(`payload.a ${op} payload.b`, s);
        if (typeof value === 'number') expect(Number.isFinite(value)).toBe(true);
      }),
    );
  });
});

describe('expressions: speed', () => {
  it('evaluates well over 1,000,000 simple comparisons per second', () => {
    const expr = compileExpression('payload.value > 30');
    const scopes = [31, 29, 30.5, 12].map((value) => makeScope({ payload: { value } }));
    const n = 2_000_000;
    let hits = 0;
    const started = performance.now();
    for (let i = 0; i < n; i++) if (expr.evaluate(scopes[i & 3] ?? scope) === true) hits++;
    const perSecond = n / ((performance.now() - started) / 1000);
    expect(hits).toBe(n / 2);
    expect(perSecond).toBeGreaterThan(1_000_000);
  });
});
