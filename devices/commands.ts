import { switchWord } from '../kernel/index.js';
import type { ActuatorCommand } from './adapter.js';
import type { ActuatorDefinition } from './definition.js';

/**
 * Reads what a rule (or Home Assistant, or the CLI) wrote for one actuator in `set:`:
 *
 * - `true` / `false`, `"on"` / `"off"` (any case), `1` / `0` for a switch;
 * - a number for a dimmer or light: % brightness, 0 switching it off;
 * - an object `{on: …, brightness: %}` or zigbee2mqtt's `{state: "ON", brightness: …}` (there
 *   `brightness` is still %, edgehub's unit; the adapter converts to the device's scale).
 *
 * Returns a reason string instead when the value means nothing for this actuator.
 */
export function parseActuatorValue(actuator: ActuatorDefinition, value: unknown): ActuatorCommand | string {
  const dimmable = actuator.kind === 'dimmer' || actuator.kind === 'light';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return `${actuator.name}: not a number`;
    if (!dimmable) {
      if (value === 0 || value === 1) return { on: value === 1 };
      return `${actuator.name}: a ${actuator.kind} takes on/off, not ${value}`;
    }
    const brightness = clampPercent(value);
    return brightness === 0 ? { on: false } : { on: true, brightness };
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const record = value as Record<string, unknown>;
    const on = switchWord(record.on ?? record.state);
    const raw = record.brightness;
    if (raw !== undefined) {
      if (!dimmable) return `${actuator.name}: a ${actuator.kind} has no brightness`;
      if (typeof raw !== 'number' || !Number.isFinite(raw))
        return `${actuator.name}: brightness is not a number`;
      const brightness = clampPercent(raw);
      return { on: on ?? brightness > 0, brightness };
    }
    return on === null ? `${actuator.name}: expected {on: true|false}` : { on };
  }
  const on = switchWord(value);
  return on === null ? `${actuator.name}: expected on or off, got ${JSON.stringify(value)}` : { on };
}

/** % brightness, rounded to whole percent and held to 0–100. */
function clampPercent(value: number): number {
  return Math.max(0, Math.min(100, Math.round(value)));
}
