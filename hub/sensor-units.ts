import type { DeviceDefinition } from '../devices/index.js';

/** Each sensor's unit by device and metric, made again only when the definitions change. */
export class SensorUnits {
  private made:
    | { definitions: readonly DeviceDefinition[]; units: ReadonlyMap<string, ReadonlyMap<string, string>> }
    | undefined;

  of(definitions: readonly DeviceDefinition[]): ReadonlyMap<string, ReadonlyMap<string, string>> {
    if (this.made?.definitions === definitions) return this.made.units;
    const units = new Map<string, Map<string, string>>();
    for (const d of definitions)
      for (const s of d.sensors)
        if (s.unit !== undefined)
          units.set(d.id, (units.get(d.id) ?? new Map<string, string>()).set(s.metric, s.unit));
    this.made = { definitions, units };
    return units;
  }
}
