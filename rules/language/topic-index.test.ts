import { describe, expect, it } from 'vitest';
import { parseFilter, TopicIndex, type ParsedFilter } from './topic-index.js';

function filter(text: string): ParsedFilter {
  const parsed = parseFilter(text);
  if ('error' in parsed) throw new Error(parsed.error);
  return parsed;
}

function indexOf(...filters: string[]): TopicIndex<string> {
  const index = new TopicIndex<string>();
  for (const f of filters) index.add(filter(f), f);
  return index;
}

const matched = (index: TopicIndex<string>, topic: string) => index.match(topic).map((m) => m.value);

describe('parseFilter', () => {
  it('takes the capture names out of the filter', () => {
    expect(filter('sensors/+device/#rest')).toEqual({
      mqtt: 'sensors/+/#',
      levels: ['sensors', '+', '#'],
      captures: [
        { name: 'device', level: 1, rest: false },
        { name: 'rest', level: 2, rest: true },
      ],
    });
    expect(filter('a/+/#').captures).toEqual([]);
  });

  it.each([
    ['', 'empty'],
    ['a/#/b', 'last level'],
    ['a/b#', 'start a level'],
    ['a/x+y', 'start a level'],
    ['a/+1x', 'letters, digits'],
    ['a/+bad-name', 'letters, digits'],
    ['a/+payload', 'taken'],
    ['+d/+d', 'twice'],
  ])('rejects %j', (text, words) => {
    const parsed = parseFilter(text);
    expect('error' in parsed && parsed.error).toContain(words);
  });
});

describe('TopicIndex', () => {
  it('matches literal levels, + and # as MQTT does', () => {
    const index = indexOf('a/b', 'a/+', 'a/#', '#', '+/b', 'a/b/c', '+', 'a/+/c');
    expect(matched(index, 'a/b')).toEqual(['a/b', 'a/+', 'a/#', '#', '+/b']);
    expect(matched(index, 'a')).toEqual(['a/#', '#', '+']);
    expect(matched(index, 'a/b/c')).toEqual(['a/#', '#', 'a/b/c', 'a/+/c']);
    expect(matched(index, 'x/y')).toEqual(['#']);
    expect(matched(index, 'a//c')).toEqual(['a/#', '#', 'a/+/c']);
  });

  it('does not match $ topics with a leading wildcard', () => {
    const index = indexOf('#', '+/x', '$SYS/#', '$SYS/+');
    expect(matched(index, '$SYS/x')).toEqual(['$SYS/#', '$SYS/+']);
  });

  it('binds named captures per filter', () => {
    const index = indexOf(
      'sensors/+device/+metric',
      'sensors/+/temperature',
      'sensors/#rest',
      'sensors/+node/#tail',
    );
    const found = index.match('sensors/gh-1/temperature');
    expect(found.map((m) => ({ ...m.captures }))).toEqual([
      { device: 'gh-1', metric: 'temperature' },
      {},
      { rest: 'gh-1/temperature' },
      { node: 'gh-1', tail: 'temperature' },
    ]);
    expect(index.match('sensors/gh-1').map((m) => ({ ...m.captures }))).toEqual([
      { rest: 'gh-1' },
      { node: 'gh-1', tail: '' },
    ]);
  });

  it('keeps several values under the same filter', () => {
    const index = new TopicIndex<number>();
    index.add(filter('a/+x'), 1);
    index.add(filter('a/+y'), 2);
    expect(index.match('a/b').map((m) => [m.value, { ...m.captures }])).toEqual([
      [1, { x: 'b' }],
      [2, { y: 'b' }],
    ]);
    expect(index.size).toBe(2);
  });

  it('finds one filter among 10,000 without visiting the others', () => {
    const index = new TopicIndex<number>();
    for (let i = 0; i < 10_000; i++) index.add(filter(`sensors/dev-${i}/+metric`), i);
    expect(index.match('sensors/dev-7321/temperature').map((m) => m.value)).toEqual([7321]);
    expect(index.match('sensors/unknown/temperature')).toEqual([]);
  });
});
