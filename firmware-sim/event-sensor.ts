import { TOPICS } from '../kernel/index.js';
import type { TimerHandle } from '../kernel/index.js';
import { activityRate } from './ambient-signals.js';
import type { SimDevicePort, SimPart } from './sim-device.js';

const HOUR_MS = 3_600_000;

export interface EventSensorOptions {
  /** `motion` (true while someone moves) or `door` (true while open). */
  metric: string;
  /** Events per hour at the busiest time of day. */
  peakPerHour?: number;
  /** How long one event keeps the sensor active, ms: a motion sensor's hold time, a door left open. */
  activeMs?: { min: number; max: number };
  /** A motion sensor re-triggers (extends the hold); a door does not open twice. */
  retrigger?: boolean;
  /** The current state is also published this often, ms, so silence means a dead sensor. */
  heartbeatMs?: number;
}

/**
 * A binary sensor: events arrive as a Poisson process whose rate follows the time of day (busy mornings
 * and evenings), each keeps the sensor active for a random time. Every change, and a heartbeat, is
 * published as `{"value": true|false, "seq": S}` on `sensors/<device>/<metric>`.
 */
export class EventSensor implements SimPart {
  readonly name: string;
  private port: SimDevicePort | undefined;
  private active = false;
  private seq = 0;
  private readonly timers: {
    next: TimerHandle | undefined;
    release: TimerHandle | undefined;
    heartbeat: TimerHandle | undefined;
  } = { next: undefined, release: undefined, heartbeat: undefined };

  constructor(private readonly options: EventSensorOptions) {
    this.name = options.metric;
  }

  get isActive(): boolean {
    return this.active;
  }

  attach(port: SimDevicePort): void {
    this.port = port;
    this.scheduleNext();
    this.heartbeat();
  }

  detach(): void {
    const clock = this.port?.clock;
    for (const t of Object.values(this.timers)) clock?.clearTimer(t);
    this.timers.next = this.timers.release = this.timers.heartbeat = undefined;
    this.port = undefined;
  }

  subscriptions(): readonly string[] {
    return [];
  }

  onOnline(): void {
    this.report();
  }

  /** Starts an event now (tests, demos). */
  trigger(): void {
    const port = this.port;
    if (!port) return;
    if (this.active && !this.options.retrigger) return;
    const { min, max } = this.options.activeMs ?? { min: 30_000, max: 90_000 };
    port.clock.clearTimer(this.timers.release);
    this.timers.release = port.clock.setTimer(
      `sim:${port.deviceId}:${this.name}:release`,
      min + port.random() * (max - min),
      () => {
        this.timers.release = undefined;
        this.set(false);
      },
    );
    this.set(true);
  }

  /**
   * Thinning: candidates come at the peak rate, each kept with probability rate(t)/peak, which gives
   * a Poisson process with the time-varying rate.
   */
  private scheduleNext(): void {
    const port = this.port;
    if (!port) return;
    const peak = this.options.peakPerHour ?? 6;
    const gapMs = (-Math.log(1 - port.random()) / peak) * HOUR_MS;
    this.timers.next = port.clock.setTimer(`sim:${port.deviceId}:${this.name}:event`, gapMs, () => {
      this.timers.next = undefined;
      const now = port.clock.now();
      if (port.random() < activityRate(now, peak) / peak) this.trigger();
      this.scheduleNext();
    });
  }

  private heartbeat(): void {
    const port = this.port;
    if (!port) return;
    this.timers.heartbeat = port.clock.setTimer(
      `sim:${port.deviceId}:${this.name}:heartbeat`,
      this.options.heartbeatMs ?? 60_000,
      () => {
        this.report();
        this.heartbeat();
      },
    );
  }

  private set(active: boolean): void {
    if (this.active === active) return;
    this.active = active;
    this.report();
  }

  private report(): void {
    const port = this.port;
    if (!port) return;
    this.seq += 1;
    port.publish(
      TOPICS.reading(port.deviceId, this.name),
      JSON.stringify({ value: this.active, seq: this.seq }),
    );
  }
}
