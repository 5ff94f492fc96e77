import { describe, expect, it } from 'vitest';
import { firmataPinSchema } from './firmata-settings.js';
import { analogValue, celsiusFromRaw, ReadingGate, scaleRaw } from './readings.js';

describe('analog conversions', () => {
  it('reads an LM35 (10 mV/°C) and a TMP36 (10 mV/°C, 500 mV at 0 °C) against the reference', () => {
    expect(celsiusFromRaw('LM35', 1023, 5)).toBe(500);
    expect(celsiusFromRaw('LM35', 1023 / 20, 5)).toBeCloseTo(25); // 250 mV
    expect(celsiusFromRaw('TMP36', 1023 / 10, 5)).toBeCloseTo(0); // 500 mV
    expect(celsiusFromRaw('TMP36', 1023 / 20, 5)).toBeCloseTo(-25); // 250 mV
    expect(celsiusFromRaw('LM35', 1023 / 3.3 / 4, 3.3)).toBeCloseTo(25); // 250 mV on a 3.3 V board
  });

  it('maps raw readings linearly, also inverted ranges (a sensor that reads lower when wetter)', () => {
    expect(scaleRaw(512, [0, 1023], [0, 100])).toBeCloseTo(50.05, 2);
    expect(scaleRaw(300, [300, 700], [100, 0])).toBe(100);
    expect(scaleRaw(700, [300, 700], [100, 0])).toBe(0);
  });

  it('rounds a pin value to its decimals', () => {
    const moisture = firmataPinSchema.parse({
      pin: 'A1',
      type: 'analog',
      metric: 'm',
      scale: [0, 100],
      decimals: 1,
    });
    const thermometer = firmataPinSchema.parse({
      pin: 'A0',
      type: 'thermometer',
      metric: 't',
      model: 'LM35',
    });
    if (moisture.type !== 'analog' || thermometer.type !== 'thermometer')
      throw new Error('parsed the wrong kind');
    expect(analogValue(moisture, 512)).toBe(50);
    expect(analogValue(thermometer, 51)).toBe(24.9);
  });
});

describe('ReadingGate', () => {
  it('passes the first value, moves of at least min_change, and a heartbeat every report_every ms', () => {
    const gate = new ReadingGate(0.5, 60_000);
    const passed = [
      [20, 0],
      [20.2, 1_000],
      [20.5, 2_000],
      [20.5, 30_000],
      [20.5, 62_000],
      [19.9, 63_000],
    ].filter(([v, t]) => gate.accept(v ?? 0, t ?? 0));
    expect(passed).toEqual([
      [20, 0],
      [20.5, 2_000],
      [20.5, 62_000],
      [19.9, 63_000],
    ]);
  });

  it('passes every change of a boolean, and the first value again after a reset', () => {
    const gate = new ReadingGate(0, 60_000);
    expect([true, true, false, false, true].map((v, i) => gate.accept(v, i))).toEqual([
      true,
      false,
      true,
      false,
      true,
    ]);
    gate.reset();
    expect(gate.accept(true, 10)).toBe(true);
  });
});
