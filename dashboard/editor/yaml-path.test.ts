import { describe, expect, it } from 'vitest';
import { yamlSpot } from './yaml-path.js';

describe('yamlSpot', () => {
  it('finds the mapping a key is typed in, through sequence items', () => {
    const text = ['rules:', '  - id: a', '    when:', '      mq'].join('\n');
    expect(yamlSpot(text)).toEqual({ path: ['rules', '[]', 'when'], kind: 'key', prefix: 'mq' });
  });

  it('a key beside the first one of an item belongs to the same item', () => {
    const text = ['rules:', '  - id: a', '    '].join('\n');
    expect(yamlSpot(text)).toEqual({ path: ['rules', '[]'], kind: 'key', prefix: '' });
  });

  it('a new item on a dash line', () => {
    const text = ['rules:', '  - id: a', '    then:', '      - log: x', '      - pub'].join('\n');
    expect(yamlSpot(text)).toEqual({ path: ['rules', '[]', 'then', '[]'], kind: 'key', prefix: 'pub' });
  });

  it('a value after a key, skipping comments and blank lines', () => {
    const text = ['# my rules', 'rules:', '', '  - id: a', '    mode: re'].join('\n');
    expect(yamlSpot(text)).toEqual({ path: ['rules', '[]'], kind: 'value', key: 'mode', prefix: 're' });
  });

  it('back out to a shallower level', () => {
    const text = ['rules:', '  - id: a', '    when:', '      mqtt: x', '    i'].join('\n');
    expect(yamlSpot(text)).toEqual({ path: ['rules', '[]'], kind: 'key', prefix: 'i' });
  });

  it('nothing to offer inside a quoted value', () => {
    expect(yamlSpot('rules:\n  - id: "a b')).toBeNull();
  });
});
