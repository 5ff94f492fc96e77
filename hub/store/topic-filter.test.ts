import { describe, expect, it } from 'vitest';
import { EdgehubError } from '../../kernel/index.js';
import { assertTopicFilter, topicMatches } from './topic-filter.js';

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
  ])('%s against %s is %s', (filter, topic, expected) => {
    expect(topicMatches(filter, topic)).toBe(expected);
  });

  it.each(['', 'a/#/b', 'a/b#', 'a/+b', 'a+/b'])('rejects the invalid filter %j', (filter) => {
    expect(() => assertTopicFilter(filter)).toThrow(EdgehubError);
  });
});
