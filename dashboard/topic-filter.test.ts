import { describe, expect, it } from 'vitest';
import { topicMatches } from './topic-filter.js';

describe('topicMatches', () => {
  it.each([
    ['sensors/+/temperature', 'sensors/gh-1/temperature', true],
    ['sensors/+/temperature', 'sensors/gh-1/humidity', false],
    ['sensors/#', 'sensors/gh-1/temperature', true],
    ['sensors/#', 'sensors', true],
    ['sensors/gh-1', 'sensors/gh-1/temperature', false],
    ['#', '$SYS/broker', false],
    ['+/x', '$SYS/x', false],
    ['', 'anything/at/all', true],
  ])('%s against %s: %s', (filter, topic, expected) => {
    expect(topicMatches(filter, topic)).toBe(expected);
  });
});
