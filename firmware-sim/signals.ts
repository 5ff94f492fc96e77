import type { RandomSource } from './random.js';

/** A temperature signal: °C at a clock time (epoch ms). May keep state (drift), so call it in time order. */
export type Signal = (nowMs: number) => number;

/** Named signal shapes a sensor can be given instead of a custom function. */
export type TemperatureProfile = 'greenhouse' | 'demo-swing';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

export interface GreenhouseSignalOptions {
  /** Daily mean, °C. */
  baseC?: number;
  /** Half the day/night swing, °C. */
  dayAmplitudeC?: number;
  /** Warmest hour of the day, UTC, 0–24. */
  peakHourUtc?: number;
  /** Random-walk drift, °C per √hour (so it does not depend on the sampling interval). */
  driftRateC?: number;
  /** Bound on the drift, °C either way. */
  driftMaxC?: number;
  /** Sensor noise, uniform ±°C per sample. */
  noiseC?: number;
}

/**
 * A greenhouse: a 24 h sinusoid over clock time, a slow bounded random-walk drift, and per-sample
 * noise. All randomness comes from `random`, so a seeded source gives a repeatable series.
 */
export function greenhouseSignal(random: RandomSource, options: GreenhouseSignalOptions = {}): Signal {
  const baseC = options.baseC ?? 22;
  const dayAmplitudeC = options.dayAmplitudeC ?? 5;
  const peakMs = (options.peakHourUtc ?? 14) * HOUR_MS;
  const driftRateC = options.driftRateC ?? 0.5;
  const driftMaxC = options.driftMaxC ?? 2;
  const noiseC = options.noiseC ?? 0.15;
  let driftC = 0;
  let lastMs: number | undefined;
  return (nowMs) => {
    const elapsedMs = lastMs === undefined ? 0 : Math.max(0, nowMs - lastMs);
    lastMs = nowMs;
    // Uniform on [-√3, √3] has unit variance, so the walk's spread grows as driftRateC·√hours.
    const step = (2 * random() - 1) * Math.sqrt(3) * driftRateC * Math.sqrt(elapsedMs / HOUR_MS);
    driftC = Math.max(-driftMaxC, Math.min(driftMaxC, driftC + step));
    const day = dayAmplitudeC * Math.cos((2 * Math.PI * (nowMs - peakMs)) / DAY_MS);
    const noise = (2 * random() - 1) * noiseC;
    return baseC + day + driftC + noise;
  };
}

export interface SwingSignalOptions {
  /** Middle of the swing, °C. */
  centerC?: number;
  /** Half the swing, °C. */
  amplitudeC?: number;
  /** One full cycle, ms. */
  periodMs?: number;
  /** Shift of the cycle, ms, so several devices do not swing in step. */
  phaseMs?: number;
  /** Sensor noise, uniform ±°C per sample. */
  noiseC?: number;
}

/**
 * A fast sinusoid for demos: by default 24–32 °C once a minute, so a `> 30 °C` rule fires and clears
 * about every minute (above 30 °C for a third of each cycle).
 */
export function swingSignal(random: RandomSource, options: SwingSignalOptions = {}): Signal {
  const centerC = options.centerC ?? 28;
  const amplitudeC = options.amplitudeC ?? 4;
  const periodMs = options.periodMs ?? 60_000;
  const phaseMs = options.phaseMs ?? 0;
  const noiseC = options.noiseC ?? 0.1;
  return (nowMs) =>
    centerC +
    amplitudeC * Math.sin((2 * Math.PI * (nowMs + phaseMs)) / periodMs) +
    (2 * random() - 1) * noiseC;
}

/** The signal of a named profile. */
export function profileSignal(profile: TemperatureProfile, random: RandomSource, phaseMs = 0): Signal {
  switch (profile) {
    case 'greenhouse':
      return greenhouseSignal(random);
    case 'demo-swing':
      return swingSignal(random, { phaseMs });
  }
}
