import type { FirmataSensorPin } from './firmata-settings.js';

/** °C from an analog reading of an LM35 or TMP36, given the ADC's reference voltage (V) and range. */
export function celsiusFromRaw(
  model: 'LM35' | 'TMP36',
  raw: number,
  arefVolts: number,
  adcMax = 1023,
): number {
  const millivolts = (raw / adcMax) * arefVolts * 1000;
  // Both give 10 mV/°C; the TMP36 is offset by 500 mV so it can read below 0 °C.
  return model === 'LM35' ? millivolts / 10 : millivolts / 10 - 50;
}

/** Maps a raw reading linearly from `raw` to `scale`. */
export function scaleRaw(
  value: number,
  raw: readonly [number, number],
  scale: readonly [number, number],
): number {
  return scale[0] + ((value - raw[0]) * (scale[1] - scale[0])) / (raw[1] - raw[0]);
}

export function roundTo(value: number, decimals: number): number {
  const f = 10 ** decimals;
  return Math.round(value * f) / f;
}

/** The value a sensor pin reports for a raw ADC reading (analog and thermometer pins). */
export function analogValue(
  pin: Extract<FirmataSensorPin, { type: 'analog' | 'thermometer' }>,
  raw: number,
): number {
  if (pin.type === 'thermometer') return roundTo(celsiusFromRaw(pin.model, raw, pin.aref), pin.decimals);
  return roundTo(pin.scale ? scaleRaw(raw, pin.raw, pin.scale) : raw, pin.decimals);
}

/**
 * Decides which samples become readings: the first, any that moved by at least `minChange` from the
 * last published one (any change when 0), and one every `reportEveryMs` even if unchanged, so a
 * steady sensor is not mistaken for a stale one.
 */
export class ReadingGate {
  private last: { value: number | boolean; at: number } | undefined;

  constructor(
    private readonly minChange: number,
    private readonly reportEveryMs: number,
  ) {}

  accept(value: number | boolean, nowMs: number): boolean {
    const last = this.last;
    const moved =
      last === undefined ||
      (typeof value === 'number' && typeof last.value === 'number'
        ? value !== last.value && Math.abs(value - last.value) >= this.minChange
        : value !== last.value);
    if (!moved && last !== undefined && nowMs - last.at < this.reportEveryMs) return false;
    this.last = { value, at: nowMs };
    return true;
  }

  /** Forgets the last reading: after a reconnect the first sample is published again. */
  reset(): void {
    this.last = undefined;
  }
}
