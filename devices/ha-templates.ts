/**
 * The Jinja templates of the discovery configs. Home Assistant renders them with `value` (the
 * payload text) and, when the payload parses as JSON, `value_json`; a template that reaches for an
 * undefined key raises, and one that renders empty is ignored. So each template guards every key it
 * reads and renders `''` when the message does not carry it: a Tasmota `RESULT` of a fade, a
 * zigbee2mqtt message without `brightness`, a `SENSOR` message of another sensor.
 *
 * A template is made of two parts: statements that set `v` to the value a message carries (or
 * leave it `none`), then an expression that renders `v` for its component.
 */

/** Where a state message carries its value. */
export type ValueSource =
  /** edgehub's convention, as `readingValue` reads it: `{"value": x}`, `{"on": b}`, else the payload itself. */
  | { kind: 'reading' }
  /** The payload text as is, e.g. Tasmota's `stat/<topic>/POWER` = `ON`. */
  | { kind: 'text' }
  /** A key path inside a JSON object, e.g. `ENERGY.Power` of Tasmota's `SENSOR`. */
  | { kind: 'path'; path: readonly string[] };

/** The path of a dotted key, `ENERGY.Power` → `['ENERGY', 'Power']`. */
export function keyPath(dotted: string): ValueSource {
  return { kind: 'path', path: dotted.split('.') };
}

/** The Jinja statements that set `v`. */
function extract(source: ValueSource): string {
  switch (source.kind) {
    case 'text':
      return '{%- set v = value -%}';
    case 'reading':
      // The same order as readingValue: a JSON object's `value`, then its `on`, else no reading;
      // any other JSON value as parsed; text that is not JSON as it came.
      return (
        '{%- set v = none -%}' +
        '{%- if value_json is not defined -%}{%- set v = value -%}' +
        '{%- elif value_json is mapping -%}' +
        "{%- if 'value' in value_json -%}{%- set v = value_json['value'] -%}" +
        "{%- elif 'on' in value_json -%}{%- set v = value_json['on'] -%}{%- endif -%}" +
        '{%- else -%}{%- set v = value_json -%}{%- endif -%}'
      );
    case 'path': {
      const guards = ['value_json is defined'];
      let at = 'value_json';
      for (const key of source.path) {
        const literal = JSON.stringify(key);
        guards.push(`${at} is mapping`, `${literal} in ${at}`);
        at = `${at}[${literal}]`;
      }
      return `{%- set v = none -%}{%- if ${guards.join(' and ')} -%}{%- set v = ${at} -%}{%- endif -%}`;
    }
  }
}

/** The value as it came, or `''` when the message does not carry it. */
export function valueTemplate(source: ValueSource): string {
  return `${extract(source)}{{ '' if v is none else v }}`;
}

/**
 * `ON` / `OFF` / `''`: booleans, 1 and 0, and the words edgehub's switch-word parser reads (ON, OFF,
 * TRUE, FALSE, any case) plus a door's OPEN / CLOSED; anything else renders empty, so a message
 * Home Assistant cannot read leaves the state as it was instead of turning it off.
 */
export function onOffTemplate(source: ValueSource): string {
  return (
    extract(source) +
    "{%- if v is boolean -%}{{ 'ON' if v else 'OFF' }}" +
    "{%- elif v is number -%}{{ 'ON' if v == 1 else ('OFF' if v == 0 else '') }}" +
    '{%- elif v is string -%}{%- set w = v | trim | upper -%}' +
    "{{ 'ON' if w in ['ON', 'TRUE', 'OPEN', '1'] else ('OFF' if w in ['OFF', 'FALSE', 'CLOSED', '0'] else '') }}" +
    '{%- endif -%}'
  );
}

/** A brightness on a 0–`scale` range as %, the scale Home Assistant is told (`brightness_scale: 100`). */
export function percentTemplate(source: ValueSource, scale: number): string {
  const number = 'v is number and v is not boolean';
  const percent = scale === 100 ? 'v | round(0) | int' : `(v * 100 / ${scale}) | round(0) | int`;
  return `${extract(source)}{{ (${percent}) if ${number} else '' }}`;
}

/** Maps the word on a hub availability topic to Home Assistant's two: only `online` is available. */
export const HUB_AVAILABILITY_TEMPLATE = "{{ 'online' if value | trim == 'online' else 'offline' }}";

/** zigbee2mqtt 2.x sends `{"state": "online"}`, 1.x the bare word. */
export const Z2M_AVAILABILITY_TEMPLATE =
  "{%- if value_json is defined and value_json is mapping -%}{{ value_json['state'] if 'state' in value_json else '' }}" +
  '{%- else -%}{{ value | trim }}{%- endif -%}';
