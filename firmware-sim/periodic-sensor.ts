import { TOPICS } from '../kernel/index.js';
import type { TimerHandle } from '../kernel/index.js';
import type { RandomSource } from './random.js';
import type { Signal } from './signals.js';
import type { SimDevicePort, SimPart } from './sim-device.js';

export interface PeriodicSensorOptions<U extends string = string> {
  /** Metric name: the last topic level, e.g. `humidity`. */
  metric: string;
  /** Reported with every reading, e.g. `%`, `lx`, `W`. */
  unit: U;
  /** Builds the signal once the device's randomness is known. */
  signal: (random: RandomSource) => Signal;
  /** Time between samples, ms (clock time, so a sped-up clock samples faster in real time). Default 5000. */
  intervalMs?: number;
  /** Reporting resolution in the metric's unit. Default 0.1. */
  resolution?: number;
}

/** One reading as published on `sensors/<device>/<metric>`. */
export interface PeriodicReading<U extends string = string> {
  /** In the sensor's unit, rounded to its resolution. */
  value: number;
  /** Counts samples from 1; a gap means samples taken while offline were dropped. */
  seq: number;
  unit: U;
}

/**
 * A sensor that samples a signal every `intervalMs` and publishes `{"value": V, "seq": S, "unit": U}`
 * on `sensors/<device>/<metric>` (QoS 0, not retained: a stale reading should not look current to a
 * late subscriber). Temperature, humidity, light level and power meters are all this with a
 * different signal.
 */
export class PeriodicSensor<U extends string = string> implements SimPart {
  readonly name: string;
  private port: SimDevicePort | undefined;
  private signal: Signal | undefined;
  private timer: TimerHandle | undefined;
  private seq = 0;
  private forced: number | undefined;
  private last: PeriodicReading<U> | undefined;

  constructor(private readonly options: PeriodicSensorOptions<U>) {
    this.name = options.metric;
  }

  /** The last reading sampled (published or dropped while offline). */
  get lastReading(): PeriodicReading<U> | undefined {
    return this.last;
  }

  /**
   * Forces the value, in the sensor's unit, of every following sample until called with `undefined`
   * — for demos and tests that need a reading on a given side of a threshold.
   */
  setValue(value: number | undefined): void {
    this.forced = value;
  }

  attach(port: SimDevicePort): void {
    this.port = port;
    this.signal = this.options.signal(port.random);
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
      `sim:${port.deviceId}:${this.name}`,
      this.options.intervalMs ?? 5000,
      () => this.sample(),
    );
  }

  private sample(): void {
    const port = this.port;
    if (!port || !this.signal) return;
    const resolution = this.options.resolution ?? 0.1;
    const raw = this.forced ?? this.signal(port.clock.now());
    // Round through the resolution's decimal places too, so 0.1 steps print as 21.3, not 21.300000000000001.
    const decimals = Math.max(0, Math.ceil(-Math.log10(resolution)));
    const value = Number((Math.round(raw / resolution) * resolution).toFixed(decimals));
    this.seq += 1;
    this.last = { value, seq: this.seq, unit: this.options.unit };
    port.publish(TOPICS.reading(port.deviceId, this.name), JSON.stringify(this.last));
    this.arm();
  }
}
