import type { SensorKind } from './definition.js';

/**
 * The units each sensor kind may report, as Home Assistant's sensor device classes accept them
 * (a sensor whose unit its device class does not list is dropped whole by Home Assistant), with the
 * spellings people and firmware write that mean one of them.
 *
 * `generic` takes any unit; `motion` and `door` report on/off and take none.
 */
const UNITS: Record<SensorKind, readonly string[] | 'any' | 'none'> = {
  temperature: ['°C', '°F', 'K'],
  humidity: ['%'],
  illuminance: ['lx'],
  pressure: ['Pa', 'hPa', 'kPa', 'bar', 'cbar', 'mbar', 'mmHg', 'inHg', 'psi'],
  power: ['mW', 'W', 'kW', 'MW', 'GW', 'TW', 'BTU/h'],
  energy: ['J', 'kJ', 'MJ', 'GJ', 'mWh', 'Wh', 'kWh', 'MWh', 'GWh', 'TWh', 'cal', 'kcal', 'Mcal', 'Gcal'],
  voltage: ['µV', 'mV', 'V', 'kV', 'MV'],
  current: ['mA', 'A'],
  battery: ['%'],
  motion: 'none',
  door: 'none',
  generic: 'any',
};

/** Other spellings of a unit, by kind. Keys are lower case. */
const ALIASES: Partial<Record<SensorKind, Record<string, string>>> = {
  temperature: {
    c: '°C',
    degc: '°C',
    '℃': '°C',
    celsius: '°C',
    f: '°F',
    degf: '°F',
    '℉': '°F',
    fahrenheit: '°F',
    kelvin: 'K',
  },
  illuminance: { lux: 'lx' },
  humidity: { '%rh': '%', rh: '%' },
  voltage: { uv: 'µV', μv: 'µV', volt: 'V', volts: 'V' },
};

/** A unit of a sensor kind in Home Assistant's spelling, or why the kind cannot take it. */
export type UnitCheck = { unit: string | undefined } | { problem: string };

/**
 * Reads a sensor's declared unit for its kind: the canonical spelling when it is one of the kind's
 * units or another spelling of one (`lux` → `lx`, `C` → `°C`, `kwh` → `kWh`), else a problem naming
 * the units the kind takes.
 */
export function checkUnit(kind: SensorKind, unit: string | undefined): UnitCheck {
  const allowed = UNITS[kind];
  if (unit === undefined || allowed === 'any') return { unit };
  if (allowed === 'none')
    return { problem: `a ${kind} sensor reports on/off and takes no unit; remove "unit: ${unit}"` };
  const written = unit.trim();
  if (allowed.includes(written)) return { unit: written };
  const lower = written.toLowerCase();
  const alias = ALIASES[kind]?.[lower];
  if (alias !== undefined) return { unit: alias };
  // Case alone decides between mW and MW, so a spelling matching two units is not guessed.
  const byCase = allowed.filter((u) => u.toLowerCase() === lower);
  if (byCase.length === 1 && byCase[0] !== undefined) return { unit: byCase[0] };
  return {
    problem: `"${unit}" is not a unit of ${kind} sensors; use one of ${allowed.join(', ')}`,
  };
}

/**
 * Home Assistant's state class for a kind: `total_increasing` for energy meters (what the Energy
 * dashboard offers), `measurement` for the other numeric kinds, none for on/off kinds, and for
 * `generic` sensors only when they declare a unit (a unit says the value is a number).
 */
export function stateClassOf(kind: SensorKind, unit: string | undefined): string | undefined {
  switch (kind) {
    case 'energy':
      return 'total_increasing';
    case 'motion':
    case 'door':
      return undefined;
    case 'generic':
      return unit === undefined ? undefined : 'measurement';
    case 'temperature':
    case 'humidity':
    case 'illuminance':
    case 'pressure':
    case 'power':
    case 'voltage':
    case 'current':
    case 'battery':
      return 'measurement';
  }
}
