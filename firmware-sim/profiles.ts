import { humiditySignal, lightLevelSignal } from './ambient-signals.js';
import { EventSensor } from './event-sensor.js';
import { Fan } from './fan.js';
import { PeriodicSensor } from './periodic-sensor.js';
import type { SimPart } from './sim-device.js';
import { SwitchedLoad } from './switched-load.js';
import { TemperatureSensor } from './temperature-sensor.js';

/** The kinds of simulated device a fleet file can ask for. */
export const SIM_PROFILES = [
  'temperature-humidity',
  'motion',
  'door',
  'light-level',
  'smart-plug',
  'dimmable-light',
  'greenhouse',
] as const;
export type SimProfile = (typeof SIM_PROFILES)[number];

export interface ProfileOptions {
  /** Time between periodic readings (and heartbeats of binary sensors), ms of clock time. */
  intervalMs: number;
  /** 0–1, picks per-device constants (a plug's load) so devices of one profile differ. */
  variant: number;
  /** Shift of periodic signals, ms. */
  phaseMs?: number;
}

/**
 * The parts of one device of a profile:
 *
 * | profile | topics |
 * |---|---|
 * | temperature-humidity | `sensors/<id>/temperature` °C, `sensors/<id>/humidity` % |
 * | motion | `sensors/<id>/motion` true/false, on change and as heartbeat |
 * | door | `sensors/<id>/door` true = open |
 * | light-level | `sensors/<id>/illuminance` lx |
 * | smart-plug | `actuators/<id>/relay` (+ `/state`), `sensors/<id>/power` W while on |
 * | dimmable-light | `actuators/<id>/light` `{on, brightness %}` (+ `/state`) |
 * | greenhouse | `sensors/<id>/temperature` °C, `actuators/<id>/fan` |
 */
export function profileParts(profile: SimProfile, options: ProfileOptions): SimPart[] {
  const { intervalMs, variant } = options;
  switch (profile) {
    case 'temperature-humidity':
      return [
        new TemperatureSensor({ intervalMs, profile: 'greenhouse' }),
        new PeriodicSensor({ metric: 'humidity', unit: '%', intervalMs, signal: (r) => humiditySignal(r) }),
      ];
    case 'motion':
      return [
        new EventSensor({
          metric: 'motion',
          peakPerHour: 12,
          activeMs: { min: 30_000, max: 90_000 },
          retrigger: true,
          heartbeatMs: intervalMs,
        }),
      ];
    case 'door':
      return [
        new EventSensor({
          metric: 'door',
          peakPerHour: 4,
          activeMs: { min: 5_000, max: 60_000 },
          heartbeatMs: intervalMs,
        }),
      ];
    case 'light-level':
      return [
        new PeriodicSensor({
          metric: 'illuminance',
          unit: 'lx',
          intervalMs,
          resolution: 1,
          signal: (r) => lightLevelSignal(r, { noonLux: 10_000 + 20_000 * variant }),
        }),
      ];
    case 'smart-plug': {
      const relay = new SwitchedLoad({ name: 'relay' });
      // A load between 40 W (a lamp) and 1.5 kW (a heater), drawing a little standby power when off.
      const loadW = 40 + 1460 * variant;
      return [
        relay,
        new PeriodicSensor({
          metric: 'power',
          unit: 'W',
          intervalMs,
          signal: (r) => () => (relay.current.on ? loadW * (1 + (2 * r() - 1) * 0.03) : 0.4 + r() * 0.1),
        }),
      ];
    }
    case 'dimmable-light':
      return [new SwitchedLoad({ name: 'light', dimmable: true })];
    case 'greenhouse':
      return [new TemperatureSensor({ intervalMs, profile: 'greenhouse' }), new Fan()];
  }
}
