import { TOPICS } from '../kernel/index.js';
import type { TimerHandle } from '../kernel/index.js';
import type { RandomSource } from './random.js';
import { profileSignal, type Signal, type TemperatureProfile } from './signals.js';
import type { SimDevicePort, SimPart } from './sim-device.js';

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

/** One reading as published on `sensors/<device>/temperature`. */
export interface TemperatureReading {
  /** °C, rounded to the sensor's resolution. */
  value: number;
  /** Counts samples from 1; a gap means samples taken while offline were dropped. */
  seq: number;
  unit: 'C';
}

/**
 * A temperature sensor: every `intervalMs` of clock time it samples its signal and publishes
 * `{"value": V, "seq": S, "unit": "C"}` on `sensors/<device>/temperature` (QoS 0, not retained: a
 * stale reading should not look current to a late subscriber).
 */
export class TemperatureSensor implements SimPart {
  readonly name = 'temperature';
  private port: SimDevicePort | undefined;
  private signal: Signal | undefined;
  private timer: TimerHandle | undefined;
  private seq = 0;
  private forcedC: number | undefined;
  private last: TemperatureReading | undefined;

  constructor(private readonly options: TemperatureSensorOptions = {}) {}

  /** The last reading sampled (published or dropped while offline). */
  get lastReading(): TemperatureReading | undefined {
    return this.last;
  }

  /**
   * Forces the value, °C, of every following sample until called with `undefined` — for demos and
   * tests that need a reading on a given side of a threshold.
   */
  setValue(valueC: number | undefined): void {
    this.forcedC = valueC;
  }

  attach(port: SimDevicePort): void {
    this.port = port;
    this.signal =
      this.options.signal ??
      profileSignal(
        this.options.profile ?? 'greenhouse',
        this.options.random ?? port.random,
        this.options.phaseMs,
      );
    this.arm();
  }

  detach(): void {
    this.port?.clock.clearTimer(this.timer);
    this.timer = undefined;
    this.port = undefined;
  }

  subscriptions(): readonly string[] {
    return [];
  }

  private arm(): void {
    const port = this.port;
    if (!port) return;
    this.timer = port.clock.setTimer(
      `sim:${port.deviceId}:temperature`,
      this.options.intervalMs ?? 5000,
      () => this.sample(),
    );
  }

  private sample(): void {
    const port = this.port;
    if (!port || !this.signal) return;
    const resolutionC = this.options.resolutionC ?? 0.1;
    const rawC = this.forcedC ?? this.signal(port.clock.now());
    // Round through the resolution's decimal places too, so 0.1 steps print as 21.3, not 21.300000000000001.
    const decimals = Math.max(0, Math.ceil(-Math.log10(resolutionC)));
    const value = Number((Math.round(rawC / resolutionC) * resolutionC).toFixed(decimals));
    this.seq += 1;
    this.last = { value, seq: this.seq, unit: 'C' };
    port.publish(TOPICS.reading(port.deviceId, this.name), JSON.stringify(this.last));
    this.arm();
  }
}
