/**
 * Property-based tests over arbitrary input: every topic matcher in the hub agrees with a plain
 * reference matcher (including MQTT's `$` rule), and rule expressions never throw, whatever JSON
 * a payload carries and whatever member path a rule reads.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { topicMatches } from '../kernel/index.js';
import { compileExpression, makeScope, parseFilter, TopicIndex } from '../rules/index.js';

/** MQTT 5 §4.7, written for clarity, not speed: the oracle every matcher is checked against. */
function reference(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  if ((f[0] === '+' || f[0] === '#') && topic.startsWith('$')) return false;
  const walk = (i: number): boolean => {
    if (i === f.length) return i === t.length;
    if (f[i] === '#') return true; // also matches the parent level: `a/#` matches `a`
    if (i === t.length) return false;
    return (f[i] === '+' || f[i] === t[i]) && walk(i + 1);
  };
  return walk(0);
}

const level = fc.constantFrom('a', 'b', 'sensors', '', '$SYS', '$x', 'é', 'a b');
const topic = fc.array(level, { minLength: 1, maxLength: 5 }).map((ls) => ls.join('/'));
const filter = fc
  .tuple(fc.array(fc.oneof(level, fc.constant('+')), { minLength: 0, maxLength: 5 }), fc.boolean())
  .filter(([ls, hash]) => ls.length > 0 || hash)
  .map(([ls, hash]) => [...ls, ...(hash ? ['#'] : [])].join('/'))
  // A topic filter is at least one character long (MQTT 5 §4.7.3).
  .filter((f) => f.length > 0);

function indexMatches(f: string, t: string): boolean {
  const parsed = parseFilter(f);
  if ('error' in parsed) throw new Error(`${f}: ${parsed.error}`);
  const index = new TopicIndex<string>();
  index.add(parsed, f);
  return index.match(t).length === 1;
}

const SEED = 1126;

describe('topic matching', () => {
  it('the rules index and the one topic matcher agree with the reference', () => {
    fc.assert(
      fc.property(filter, topic, (f, t) => {
        const expected = reference(f, t);
        expect({ index: indexMatches(f, t), matcher: topicMatches(f, t) }).toEqual({
          index: expected,
          matcher: expected,
        });
      }),
      { numRuns: 3000, seed: SEED },
    );
  });

  it('never lets a filter starting with a wildcard match a $ topic', () => {
    fc.assert(
      fc.property(filter, topic, (f, t) => {
        fc.pre(f.startsWith('+') || f.startsWith('#'));
        const dollar = `$${t}`;
        expect([indexMatches(f, dollar), topicMatches(f, dollar)]).toEqual([false, false]);
      }),
      { numRuns: 1000, seed: SEED },
    );
  });

  it('finds every added filter that matches, in the order they were added', () => {
    fc.assert(
      fc.property(fc.uniqueArray(filter, { maxLength: 12 }), topic, (filters, t) => {
        const index = new TopicIndex<string>();
        for (const f of filters) {
          const parsed = parseFilter(f);
          if (!('error' in parsed)) index.add(parsed, f);
        }
        expect(index.match(t).map((m) => m.value)).toEqual(filters.filter((f) => reference(f, t)));
      }),
      { numRuns: 1000, seed: SEED },
    );
  });
});

describe('rule expressions', () => {
  const key = fc.oneof(
    fc.constantFrom('__proto__', 'constructor', 'prototype', 'value', 'length', 'toString', 'a', 'b'),
    fc.string({ maxLength: 6 }),
  );
  const step = fc.oneof(
    key.filter((k) => /^[A-Za-z_$][\w$]*$/.test(k)).map((k) => `.${k}`),
    key.map((k) => `[${JSON.stringify(k)}]`),
    fc.integer({ min: -2, max: 5 }).map((i) => `[${i}]`),
  );
  const path = fc.array(step, { maxLength: 6 }).map((steps) => `payload${steps.join('')}`);
  const expression = fc.oneof(
    path,
    fc
      .tuple(path, fc.constantFrom('>', '<', '==', '!=', '+', '-', '*', '/', '%', '&&', '||'), path)
      .map(([a, op, b]) => `${a} ${op} ${b}`),
    path.map((p) => `!${p}`),
    path.map((p) => `-${p}`),
  );

  it('never throw, whatever the payload and the member path', () => {
    fc.assert(
      fc.property(expression, fc.jsonValue(), (text, payload) => {
        const compiled = compileExpression(text);
        expect(() => compiled.evaluate(makeScope({ payload, topic: 'sensors/x/t' }))).not.toThrow();
      }),
      { numRuns: 3000, seed: SEED },
    );
  });

  it('read nothing through __proto__, constructor or prototype, even when the payload has such keys', () => {
    const hostile = fc
      .jsonValue()
      .map((v) => JSON.parse(`{"__proto__": ${JSON.stringify(v)}, "constructor": 1}`) as unknown);
    fc.assert(
      fc.property(hostile, fc.constantFrom('__proto__', 'constructor', 'prototype'), (payload, name) => {
        const scope = makeScope({ payload });
        expect(compileExpression(`payload.${name}`).evaluate(scope)).toBeNull();
        expect(compileExpression(`payload[${JSON.stringify(name)}]`).evaluate(scope)).toBeNull();
      }),
      { numRuns: 500, seed: SEED },
    );
  });
});
