import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../hub/index.js';
import { loadDeviceDefinitions } from '../hub/registry/device-files.js';
import { EdgehubError, EdgehubErrors } from '../kernel/index.js';
import { TempDirs, writeFiles } from './support/temp.js';

const temp = new TempDirs();
afterEach(() => temp.cleanup());

/** The errors a call throws, as `code file:line:col (path): message` lines. */
function errorsOf(fn: () => unknown): { code: string; where: string; message: string }[] {
  try {
    fn();
  } catch (err) {
    const list = err instanceof EdgehubErrors ? err.errors : err instanceof EdgehubError ? [err] : [];
    if (list.length === 0) throw err;
    return list.map((e) => ({
      code: e.code,
      where: e.location
        ? `${e.location.file.split('/').pop()}:${e.location.line}:${e.location.col} ${e.location.path}`
        : '',
      message: e.message,
    }));
  }
  throw new Error('expected an error');
}

const GOOD = `devices:
  - id: gh-1
    name: Greenhouse 1
    stale_after: 5m
    sensors:
      - { metric: temperature, unit: C, kind: temperature }
    actuators:
      - name: heater
        kind: relay
        safety: { min_on: 30s, min_off: 1m, max_rate: 6/1h, depends_on: [temperature], interlock: [fan] }
      - { name: fan, kind: switch }
  - id: plug-1
    convention: tasmota
    topic: tasmota_ABC123
    sensors:
      - { metric: power, unit: W, kind: power, key: ENERGY.Power }
    actuators:
      - { name: relay, kind: relay }
`;

describe('device definitions', () => {
  it('loads definitions from the config and from every yaml file of the devices directory', () => {
    const dir = temp.make();
    writeFiles(dir, {
      'greenhouse.yaml': GOOD,
      'lamp.yml':
        'devices:\n  - id: lamp\n    convention: zigbee2mqtt\n    actuators: [{ name: light, kind: dimmer }]\n',
      '_draft.yaml': 'not: [valid',
      'empty.yaml': '# nothing yet\n',
    });
    const config = loadConfig(undefined);
    const defs = loadDeviceDefinitions([...config.devices], dir);
    expect(defs.map((d) => d.id)).toEqual(['gh-1', 'plug-1', 'lamp']);
    const heater = defs[0]?.actuators[0];
    expect(heater?.safety).toMatchObject({
      fail_safe: 'off',
      depends_on: ['temperature'],
      interlock: ['fan'],
    });
    expect(defs[1]).toMatchObject({ adapter: 'mqtt', convention: 'tasmota', topic: 'tasmota_ABC123' });
    expect(defs[2]).toMatchObject({ base: 'zigbee2mqtt', actuators: [{ kind: 'dimmer' }] });
  });

  it('names file, line, column and key path of every schema error in a devices file', () => {
    const dir = temp.make();
    writeFiles(dir, {
      'bad.yaml': `devices:
  - id: gh 1
    sensors:
      - metric: temperature
        kind: thermometer
    actuators:
      - name: fan
        kind: switch
        safety:
          min_on: soon
  - id: ok
    colour: red
`,
    });
    const errors = errorsOf(() => loadDeviceDefinitions([], dir));
    expect(errors.every((e) => e.code === 'DEVICE_INVALID')).toBe(true);
    expect(errors.map((e) => e.where)).toEqual([
      'bad.yaml:2:9 devices[0].id',
      'bad.yaml:5:15 devices[0].sensors[0].kind',
      'bad.yaml:10:19 devices[0].actuators[0].safety.min_on',
      'bad.yaml:12:13 devices[1].colour',
    ]);
  });

  it('reports YAML syntax errors with their position', () => {
    const dir = temp.make();
    writeFiles(dir, { 'broken.yaml': 'devices:\n  - id: x\n   name: [unclosed\n' });
    const [error] = errorsOf(() => loadDeviceDefinitions([], dir));
    expect(error?.code).toBe('DEVICE_INVALID');
    expect(error?.where).toMatch(/^broken\.yaml:\d+:\d+/);
  });

  it('checks references across files: interlocks, inputs that can go stale, unique ids', () => {
    const dir = temp.make();
    writeFiles(dir, {
      'a.yaml': GOOD,
      'b.yaml': `devices:
  - id: gh-2
    sensors: [{ metric: humidity }]
    actuators:
      - name: mister
        safety:
          depends_on: [humidity, gh-1/temperature]
          interlock: [gh-1/heater, gh-9/pump, mister]
  - id: gh-1
`,
    });
    const errors = errorsOf(() => loadDeviceDefinitions([], dir));
    expect(errors.map((e) => `${e.where} ${e.message.split(': ').pop() ?? ''}`)).toEqual([
      'b.yaml:9:9 devices[1].id duplicate device id',
      'b.yaml:7:24 devices[0].actuators[0].safety.depends_on[0] gh-2/humidity has no stale_after (on the sensor or its device), so it can never go stale',
      'b.yaml:8:36 devices[0].actuators[0].safety.interlock[1] no actuator gh-9/pump is defined',
      'b.yaml:8:47 devices[0].actuators[0].safety.interlock[2] an actuator cannot interlock with itself',
    ]);
  });

  it('refuses at load the units and ids Home Assistant would drop or confuse, and keeps its spelling of the rest', () => {
    const dir = temp.make();
    writeFiles(dir, {
      'units.yaml': `devices:
  - id: hall.sensor
    sensors:
      - { metric: light, unit: lux, kind: illuminance }
      - { metric: temperature, unit: C, kind: temperature }
      - { metric: energy, unit: kwh, kind: energy }
      - { metric: door, unit: '%', kind: door }
      - { metric: power, unit: PS, kind: power }
  - id: hall_sensor
    sensors: [{ metric: fan }, { metric: speed.max }]
    actuators: [{ name: fan }, { name: speed_max }]
`,
    });
    const errors = errorsOf(() => loadDeviceDefinitions([], dir));
    expect(errors.every((e) => e.code === 'DEVICE_INVALID')).toBe(true);
    expect(errors.map((e) => e.where)).toEqual([
      'units.yaml:7:31 devices[0].sensors[3].unit',
      'units.yaml:8:32 devices[0].sensors[4].unit',
      'units.yaml:11:25 devices[1].actuators[0].name',
      'units.yaml:11:40 devices[1].actuators[1].name',
    ]);

    writeFiles(dir, {
      'units.yaml': `devices:
  - id: hall.sensor
    sensors:
      - { metric: light, unit: lux, kind: illuminance }
      - { metric: temperature, unit: C, kind: temperature }
      - { metric: energy, unit: kwh, kind: energy }
      - { metric: power, unit: mW, kind: power }
      - { metric: level, unit: furlongs }
  - id: hall_sensor
`,
    });
    // Every unit above is one Home Assistant takes; only the look-alike id is refused.
    expect(errorsOf(() => loadDeviceDefinitions([], dir)).map((e) => e.where)).toEqual([
      'units.yaml:9:9 devices[1].id',
    ]);
  });

  it('validates the config file devices list by the same schema, with locations', () => {
    const dir = temp.make();
    writeFiles(dir, {
      'edgehub.yaml': `hub:
  devices_dir: ./devices
homeassistant:
  prefix: ha
devices:
  - id: gh-1
    adapter: serial
    convention: tasmota
`,
    });
    const errors = errorsOf(() => loadConfig(`${dir}/edgehub.yaml`));
    expect(errors).toEqual([
      expect.objectContaining({ code: 'CONFIG_INVALID', where: 'edgehub.yaml:8:17 devices[0].convention' }),
    ]);
  });
});
