import { TOPICS } from '../kernel/index.js';
import type { TimerHandle } from '../kernel/index.js';
import type { RandomSource } from './random.js';
import type { Signal } from './signals.js';
import type { SimDevicePort, SimPart } from './sim-device.js';

export interface PeriodicSensorOptions {
  /** Metric name: the last topic level, e.g. `humidity`. */
  metric: string;
  /** Reported with every reading, e.g. `%`, `lx`, `W`. */
  unit: string;
  /** Builds the signal once the device's randomness is known. */
  signal: (random: RandomSource) => Signal;
  /** Time between samples, ms (clock time, so a sped-up clock samples faster in real time). */
  intervalMs?: number;
  /** Reporting resolution in the metric's unit. Default 0.1. */
  resolution?: number;
}

/**
 * A sensor that samples a signal every `intervalMs` and publishes `{"value": V, "seq": S, "unit": U}`
 * on `sensors/<device>/<metric>` (QoS 0, not retained). Humidity, light level and power meters are
 * all this with a different signal.
 */
export class PeriodicSensor implements SimPart {
  readonly name: string;
  private port: SimDevicePort | undefined;
  private signal: Signal | undefined;
  private timer: TimerHandle | undefined;
  private seq = 0;

  constructor(private readonly options: PeriodicSensorOptions) {
    this.name = options.metric;
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
    const decimals = Math.max(0, Math.ceil(-Math.log10(resolution)));
    const value = Number(
      (Math.round(this.signal(port.clock.now()) / resolution) * resolution).toFixed(decimals),
    );
    this.seq += 1;
    port.publish(
      TOPICS.reading(port.deviceId, this.name),
      JSON.stringify({ value, seq: this.seq, unit: this.options.unit }),
    );
    this.arm();
  }
}
