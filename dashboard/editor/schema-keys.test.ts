import { describe, expect, it } from 'vitest';
import rulesSchema from '../../schemas/rules.schema.json';
import { keysAt, valuesAt, type SchemaNode } from './schema-keys.js';

const schema = rulesSchema as SchemaNode;
const labels = (s: { label: string }[]): string[] => s.map((x) => x.label);

describe('completion from the rules JSON Schema', () => {
  it('offers the top-level key, then a rule’s keys with their descriptions', () => {
    expect(labels(keysAt(schema, []))).toContain('rules');
    const ruleKeys = keysAt(schema, ['rules', '[]']);
    expect(labels(ruleKeys)).toEqual(expect.arrayContaining(['id', 'when', 'if', 'then', 'mode', 'enabled']));
    expect(ruleKeys.find((k) => k.label === 'id')?.detail).toMatch(/Unique/);
  });

  it('offers the triggers under when, through the anyOf of trigger kinds', () => {
    expect(labels(keysAt(schema, ['rules', '[]', 'when']))).toEqual(
      expect.arrayContaining(['mqtt', 'device', 'schedule']),
    );
  });

  it('offers the actions of a then item, through $ref', () => {
    expect(labels(keysAt(schema, ['rules', '[]', 'then', '[]']))).toEqual(
      expect.arrayContaining(['publish', 'command', 'alert', 'log']),
    );
  });

  it('offers enum and boolean values', () => {
    expect(labels(valuesAt(schema, ['rules', '[]'], 'mode'))).toEqual([
      'single',
      'restart',
      'queued',
      'parallel',
    ]);
    expect(labels(valuesAt(schema, ['rules', '[]'], 'enabled'))).toEqual(['true', 'false']);
  });
});
