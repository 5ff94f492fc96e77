import { PeriodicSensor, type PeriodicReading } from './periodic-sensor.js';
import type { RandomSource } from './random.js';
import { profileSignal, type Signal, type TemperatureProfile } from './signals.js';

export interface TemperatureSensorOptions {
  /** Time between samples, ms. Default 5000. */
  intervalMs?: number;
  /** Named signal shape; default `greenhouse`. Ignored when `signal` is given. */
  profile?: TemperatureProfile;
  /** Shift of a periodic profile, ms (devices of a demo fleet swing out of step). */
  phaseMs?: number;
  /** A custom signal (°C at a clock time) instead of a profile. */
  signal?: Signal;
  /** Reporting resolution, °C. Default 0.1, like common greenhouse sensors. */
  resolutionC?: number;
  /** Randomness of the profile; default the device's. */
  random?: RandomSource;
}

/** One reading as published on `sensors/<device>/temperature`; `value` in °C. */
export type TemperatureReading = PeriodicReading<'C'>;

/**
 * A temperature sensor: the periodic sensor of metric `temperature` in °C, sampling a named profile
 * (or a custom signal) every `intervalMs` of clock time.
 */
export class TemperatureSensor extends PeriodicSensor<'C'> {
  constructor(options: TemperatureSensorOptions = {}) {
    super({
      metric: 'temperature',
      unit: 'C',
      signal: (deviceRandom) =>
        options.signal ??
        profileSignal(options.profile ?? 'greenhouse', options.random ?? deviceRandom, options.phaseMs),
      ...(options.intervalMs !== undefined && { intervalMs: options.intervalMs }),
      ...(options.resolutionC !== undefined && { resolution: options.resolutionC }),
    });
  }
}
