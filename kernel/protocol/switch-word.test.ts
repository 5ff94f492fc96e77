import { describe, expect, it } from 'vitest';
import { switchWord } from './switch-word.js';

describe('switchWord', () => {
  it.each([
    [true, true],
    [false, false],
    ['ON', true],
    [' on ', true],
    ['True', true],
    ['OFF', false],
    ['false', false],
  ])('reads %j as %j', (word, expected) => {
    expect(switchWord(word)).toBe(expected);
  });

  it.each([1, 0, 'open', '', null, undefined, { on: true }])('refuses %j', (word) => {
    expect(switchWord(word)).toBeNull();
  });
});
