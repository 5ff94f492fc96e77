import { describe, expect, it } from 'vitest';
import { ago, compactJson, dateTime, isOn, levelOf, reading } from './format.js';

describe('format', () => {
  const now = 1_000_000_000_000;

  it('says how long ago, in the largest whole unit', () => {
    expect(ago(null, now)).toBe('never');
    expect(ago(now - 2000, now)).toBe('just now');
    expect(ago(now - 42_000, now)).toBe('42 s ago');
    expect(ago(now - 5 * 60_000, now)).toBe('5 min ago');
    expect(ago(now - 3 * 3_600_000, now)).toBe('3 h ago');
    expect(ago(now - 2 * 86_400_000, now)).toBe('2 d ago');
  });

  it('shows readings with their unit, at most two decimals, booleans as on/off', () => {
    expect(reading({ value: 21.456, unit: '°C' }, '°C')).toBe('21.46 °C');
    expect(reading(20, '°C')).toBe('20 °C');
    expect(reading(20.1)).toBe('20.1');
    expect(reading(1234.56)).toBe('1234.6');
    expect(reading(true)).toBe('on');
    expect(reading(undefined)).toBe('—');
    expect(reading({ a: 1 })).toBe('{"a":1}');
  });

  it('reads switch and dimmer states in the shapes devices report them', () => {
    expect(isOn(true)).toBe(true);
    expect(isOn({ on: true })).toBe(true);
    expect(isOn('ON')).toBe(true);
    expect(isOn({ on: false })).toBe(false);
    expect(isOn(undefined)).toBe(false);
    expect(levelOf(42)).toBe(42);
    expect(levelOf({ level: 130 })).toBe(100);
    expect(levelOf({ brightness: 7 })).toBe(7);
    expect(levelOf('x')).toBe(0);
  });

  it('cuts long payloads and writes local times to the second', () => {
    expect(compactJson('x'.repeat(200), 10)).toBe(`${'x'.repeat(9)}…`);
    expect(dateTime(null)).toBe('—');
    expect(dateTime(new Date(2026, 0, 2, 3, 4, 5).getTime())).toBe('2026-01-02 03:04:05');
  });
});
