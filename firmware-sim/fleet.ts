import { EdgehubError, errorMessage } from '../kernel/index.js';
import type { BackoffOptions } from '../kernel/index.js';
import { Fan } from './fan.js';
import { profileParts, type SimProfile } from './profiles.js';
import type { Signal, TemperatureProfile } from './signals.js';
import { SimDevice, type SimDeviceDeps, type SimPart } from './sim-device.js';
import { TemperatureSensor } from './temperature-sensor.js';

/** A temperature sensor on device `id`. */
export interface TemperatureSpec {
  kind: 'temperature';
  id: string;
  /** Time between samples, ms. */
  intervalMs?: number;
  profile?: TemperatureProfile;
  /** Shift of a periodic profile, ms. */
  phaseMs?: number;
  signal?: Signal;
}

/** A fan on device `id`, commanded on `actuators/<id>/<name>`. */
export interface FanSpec {
  kind: 'fan';
  id: string;
  /** Actuator name; default `fan`. */
  name?: string;
  initialOn?: boolean;
}

/** Every part of a device of a named profile (see `profiles.ts`). */
export interface ProfileSpec {
  kind: 'profile';
  id: string;
  profile: SimProfile;
  /** Time between readings, ms. */
  intervalMs: number;
  /** 0–1: per-device constants of the profile. */
  variant?: number;
}

/** One sensor or actuator; specs sharing an `id` are parts of one device (one MQTT client). */
export type SimSpec = TemperatureSpec | FanSpec | ProfileSpec;

export interface FleetOptions {
  url: string;
  specs: readonly SimSpec[];
  /** MQTT protocol level of every device: 4 = 3.1.1, 5 = MQTT 5. */
  protocolVersion?: 4 | 5;
  backoff?: Partial<BackoffOptions>;
}

/** Demo swing period, ms: the default `demo-swing` profile cycles once a minute. */
const DEMO_PERIOD_MS = 60_000;

/**
 * The demo fleet: greenhouse nodes `gh-1` … `gh-<devices>`, each a temperature sensor swinging across
 * 30 °C about once a minute (out of step with each other) and a fan on `actuators/gh-<n>/fan`.
 */
export function defaultDemoFleet(options: { devices?: number; intervalMs?: number } = {}): SimSpec[] {
  const devices = options.devices ?? 2;
  const intervalMs = options.intervalMs ?? 2000;
  const specs: SimSpec[] = [];
  for (let n = 1; n <= devices; n++) {
    const id = `gh-${n}`;
    const phaseMs = Math.round(((n - 1) * DEMO_PERIOD_MS) / devices);
    specs.push({ kind: 'temperature', id, intervalMs, profile: 'demo-swing', phaseMs });
    specs.push({ kind: 'fan', id });
  }
  return specs;
}

function partsOf(spec: SimSpec): SimPart[] {
  switch (spec.kind) {
    case 'temperature': {
      const { kind: _kind, id: _id, ...options } = spec;
      return [new TemperatureSensor(options)];
    }
    case 'fan': {
      const { kind: _kind, id: _id, ...options } = spec;
      return [new Fan(options)];
    }
    case 'profile':
      return profileParts(spec.profile, { intervalMs: spec.intervalMs, variant: spec.variant ?? 0.5 });
  }
}

/** Several simulated devices started and stopped together; specs are grouped into devices by id. */
export class Fleet {
  readonly devices: readonly SimDevice[];
  private stopped: Promise<void> | undefined;

  constructor(
    options: FleetOptions,
    private readonly deps: SimDeviceDeps,
  ) {
    const parts = new Map<string, SimPart[]>();
    for (const spec of options.specs) {
      if (!/^[A-Za-z0-9_-]+$/.test(spec.id)) {
        // The id is a topic level and a client id: MQTT wildcards or separators would break both.
        throw new EdgehubError(
          'CONFIG_INVALID',
          `simulated device id ${JSON.stringify(spec.id)} is not a plain name`,
        );
      }
      const list = parts.get(spec.id) ?? [];
      list.push(...partsOf(spec));
      parts.set(spec.id, list);
    }
    this.devices = [...parts].map(([id, list]) => {
      const deviceOptions = { id, url: options.url, parts: list };
      return new SimDevice(
        {
          ...deviceOptions,
          ...(options.protocolVersion !== undefined && { protocolVersion: options.protocolVersion }),
          ...(options.backoff !== undefined && { backoff: options.backoff }),
        },
        deps,
      );
    });
  }

  device(id: string): SimDevice | undefined {
    return this.devices.find((d) => d.id === id);
  }

  temperature(id: string): TemperatureSensor | undefined {
    const part = this.device(id)?.part('temperature');
    return part instanceof TemperatureSensor ? part : undefined;
  }

  fan(id: string, name = 'fan'): Fan | undefined {
    const part = this.device(id)?.part(name);
    return part instanceof Fan ? part : undefined;
  }

  /** Starts every device; none waits for the broker (see `SimDevice.start`). */
  async start(): Promise<void> {
    for (const device of this.devices) await device.start();
  }

  /** Stops every device at once (each publishes `offline`); never rejects. Idempotent. */
  stop(): Promise<void> {
    this.stopped ??= this.stopAll();
    return this.stopped;
  }

  private async stopAll(): Promise<void> {
    const results = await Promise.allSettled(this.devices.map((d) => d.stop()));
    results.forEach((result, i) => {
      if (result.status === 'rejected') {
        this.deps.logger.error('simulated device failed to stop', {
          device: this.devices[i]?.id,
          error: errorMessage(result.reason),
        });
      }
    });
  }
}
