import type { RandomSource } from './random.js';
import type { Signal } from './signals.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** Where in the day cycle a time falls: 1 at the warmest/brightest hour, -1 twelve hours away. */
function dayCycle(nowMs: number, peakHourUtc: number): number {
  return Math.cos((2 * Math.PI * (nowMs - peakHourUtc * HOUR_MS)) / DAY_MS);
}

/** A bounded random walk whose spread grows as `ratePerSqrtHour`·√hours, like the greenhouse drift. */
function drift(random: RandomSource, ratePerSqrtHour: number, max: number): (nowMs: number) => number {
  let value = 0;
  let lastMs: number | undefined;
  return (nowMs) => {
    const elapsedMs = lastMs === undefined ? 0 : Math.max(0, nowMs - lastMs);
    lastMs = nowMs;
    value += (2 * random() - 1) * Math.sqrt(3) * ratePerSqrtHour * Math.sqrt(elapsedMs / HOUR_MS);
    value = Math.max(-max, Math.min(max, value));
    return value;
  };
}

export interface HumiditySignalOptions {
  /** Daily mean, % relative humidity. */
  baseRh?: number;
  /** Half the day/night swing, %RH; humidity peaks when temperature is lowest. */
  dayAmplitudeRh?: number;
  /** Uniform noise per sample, ±%RH. */
  noiseRh?: number;
}

/** Relative humidity, %: highest before dawn, lowest mid-afternoon, with drift and noise, held to 0–100. */
export function humiditySignal(random: RandomSource, options: HumiditySignalOptions = {}): Signal {
  const base = options.baseRh ?? 60;
  const amplitude = options.dayAmplitudeRh ?? 12;
  const noise = options.noiseRh ?? 0.8;
  const walk = drift(random, 2, 8);
  return (nowMs) => {
    const value = base - amplitude * dayCycle(nowMs, 14) + walk(nowMs) + (2 * random() - 1) * noise;
    return Math.max(0, Math.min(100, value));
  };
}

export interface LightLevelSignalOptions {
  /** Illuminance at noon under a clear sky, lux. */
  noonLux?: number;
  /** Light left at night (street lamps, moon), lux. */
  nightLux?: number;
}

/**
 * Illuminance, lux: zero-ish at night, a half sine over the 06:00–18:00 UTC daylight window, dimmed by
 * slowly drifting cloud cover (a walk on 0–0.7 of the light), with 2 % noise.
 */
export function lightLevelSignal(random: RandomSource, options: LightLevelSignalOptions = {}): Signal {
  const noonLux = options.noonLux ?? 20_000;
  const nightLux = options.nightLux ?? 1;
  const clouds = drift(random, 0.3, 0.35);
  return (nowMs) => {
    const hour = (((nowMs % DAY_MS) + DAY_MS) % DAY_MS) / HOUR_MS;
    const sun = hour > 6 && hour < 18 ? Math.sin((Math.PI * (hour - 6)) / 12) : 0;
    const cover = 0.35 + clouds(nowMs);
    const lux = nightLux + noonLux * sun * (1 - cover) * (1 + (2 * random() - 1) * 0.02);
    return Math.max(0, lux);
  };
}

/**
 * How often a motion or door event starts, per hour, by time of day: busy in the morning and evening,
 * nearly nothing at night. `peakPerHour` is the busiest rate.
 */
export function activityRate(nowMs: number, peakPerHour: number): number {
  const hour = (((nowMs % DAY_MS) + DAY_MS) % DAY_MS) / HOUR_MS;
  const morning = Math.exp(-(((hour - 8) / 1.5) ** 2));
  const evening = Math.exp(-(((hour - 19) / 2.5) ** 2));
  return peakPerHour * Math.max(0.02, morning, evening);
}
