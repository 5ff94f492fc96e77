import { describe, expect, it } from 'vitest';
import { OutboundAliases } from './topic-aliases.js';

describe('OutboundAliases', () => {
  it('gives a topic an alias the second time it is sent, then uses it', () => {
    const aliases = new OutboundAliases(10);
    expect(aliases.use('sensors/gh-1/temperature')).toBeUndefined();
    expect(aliases.use('sensors/gh-1/temperature')).toEqual({ alias: 1, known: false });
    expect(aliases.use('sensors/gh-1/temperature')).toEqual({ alias: 1, known: true });
    aliases.use('sensors/gh-2/temperature');
    expect(aliases.use('sensors/gh-2/temperature')).toEqual({ alias: 2, known: false });
  });

  it('reassigns the least recently used alias once the client’s maximum is reached', () => {
    const aliases = new OutboundAliases(2);
    for (const t of ['a', 'a', 'b', 'b']) aliases.use(t);
    aliases.use('a'); // b is now the least recently used
    aliases.use('c');
    expect(aliases.use('c')).toEqual({ alias: 2, known: false });
    expect(aliases.use('a')).toEqual({ alias: 1, known: true });
    // b lost its alias: it starts over.
    expect(aliases.use('b')).toBeUndefined();
  });

  it('holds no more than 100 aliases even when the client allows 65,535', () => {
    const aliases = new OutboundAliases(65_535);
    const used = new Set<number>();
    for (let i = 0; i < 300; i++) {
      aliases.use(`t/${i}`);
      const use = aliases.use(`t/${i}`);
      if (use) used.add(use.alias);
    }
    expect(Math.max(...used)).toBe(100);
  });

  it('gives a taken-back alias to the next topic, never one already in use', () => {
    const aliases = new OutboundAliases(3);
    for (const t of ['a', 'a', 'b', 'b', 'c', 'c']) aliases.use(t);
    aliases.forget('b');
    aliases.use('d');
    expect(aliases.use('d')).toEqual({ alias: 2, known: false });
    expect([aliases.use('a'), aliases.use('c')]).toEqual([
      { alias: 1, known: true },
      { alias: 3, known: true },
    ]);
  });
});
