import { describe, expect, it } from 'vitest';
import { EdgehubError } from '../errors.js';
import { assertTopicFilter, filterCovers, filtersOverlap, topicMatches } from './topic-filter.js';

describe('topicMatches', () => {
  it.each([
    ['sensors/+/temperature', 'sensors/gh-1/temperature', true],
    ['sensors/+/temperature', 'sensors/gh-1/humidity', false],
    ['sensors/+/temperature', 'sensors/a/b/temperature', false],
    ['sensors/+', 'sensors/', true],
    ['sensors/#', 'sensors', true],
    ['sensors/#', 'sensors/a/b/c', true],
    ['sensors/#', 'sensorsX/a', false],
    ['#', 'anything/at/all', true],
    ['#', '$SYS/uptime', false],
    ['+/uptime', '$SYS/uptime', false],
    ['$SYS/#', '$SYS/uptime', true],
    ['a.b/(c)', 'a.b/(c)', true],
    ['a.b/(c)', 'aXb/(c)', false],
    ['a/+', 'a', false],
    ['a/+/c', 'a//c', true],
    ['+', '', true],
    ['a/b', 'a/bc', false],
    ['a/bc', 'a/b', false],
    ['a/b/#', 'a/b', true],
    ['a/b/#', 'a', false],
    ['+/+', 'a', false],
  ])('%s against %s is %s', (filter, topic, expected) => {
    expect(topicMatches(filter, topic)).toBe(expected);
  });

  it.each(['', 'a/#/b', 'a/b#', 'a/+b', 'a+/b'])('rejects the invalid filter %j', (filter) => {
    expect(() => assertTopicFilter(filter)).toThrow(EdgehubError);
  });
});

describe('filterCovers and filtersOverlap', () => {
  it('grants a subscription only inside the filter', () => {
    expect(filterCovers('sensors/#', 'sensors/+/temperature')).toBe(true);
    expect(filterCovers('sensors/+/temperature', 'sensors/#')).toBe(false);
    expect(filterCovers('a/+', 'a/b')).toBe(true);
    expect(filterCovers('a/b', 'a/+')).toBe(false);
  });

  it('spots filters some topic matches both of', () => {
    expect(filtersOverlap('sensors/+/temperature', '#')).toBe(true);
    expect(filtersOverlap('sensors/+/temperature', 'sensors/gh-1/humidity')).toBe(false);
    expect(filtersOverlap('#', '$SYS/x')).toBe(false);
  });
});
