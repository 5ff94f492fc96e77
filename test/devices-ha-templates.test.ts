import { describe, expect, it } from 'vitest';
import { deviceListSchema, HaDiscovery } from '../devices/index.js';
import { decodeMessage, MemoryLogger, readingValue, switchWord, type MqttMessage } from '../kernel/index.js';
import { renderTemplates, type Rendered } from './support/jinja.js';

/** Every convention and every kind of template: edgehub's own, a Tasmota plug and light, a zigbee2mqtt lamp. */
const devices = deviceListSchema.parse([
  {
    id: 'gh-1',
    sensors: [
      { metric: 'temperature', unit: '°C', kind: 'temperature' },
      { metric: 'door', kind: 'door' },
    ],
    actuators: [
      { name: 'fan', kind: 'switch' },
      { name: 'lamp', kind: 'dimmer' },
    ],
  },
  {
    id: 'plug-1',
    convention: 'tasmota',
    sensors: [{ metric: 'power', unit: 'W', kind: 'power', key: 'ENERGY.Power' }],
    actuators: [{ name: 'relay', kind: 'relay' }],
  },
  { id: 'bulb', convention: 'tasmota', actuators: [{ name: 'light', kind: 'light' }] },
  {
    id: 'lamp',
    convention: 'zigbee2mqtt',
    sensors: [{ metric: 'occupancy', kind: 'motion' }],
    actuators: [{ name: 'light', kind: 'light' }],
  },
]);

const discovery = new HaDiscovery({
  logger: new MemoryLogger(),
  publisher: { publish: () => Promise.resolve() },
  source: { onMessage: () => undefined, offOwner: () => undefined },
  devices,
  hubName: 'edgehub',
});
const configs = new Map(discovery.configs().map((c) => [c.topic, c.config]));

function template(entity: string, key: string): string {
  const config = configs.get(`homeassistant/${entity}/config`);
  const value = config?.[key];
  if (typeof value !== 'string') throw new Error(`${entity} has no ${key}`);
  return value;
}

/** Renders one template against each payload with Jinja2, as Home Assistant would. */
function render(entity: string, key: string, payloads: readonly string[]): Rendered[] {
  const text = template(entity, key);
  return renderTemplates(payloads.map((p) => [text, p] as const));
}

const ok = (...values: string[]) => values.map((v) => ({ ok: v }));

function message(payload: string): MqttMessage {
  return { topic: 't', payload: Buffer.from(payload), qos: 0, retain: false, clientId: null, receivedAt: 0 };
}

describe('Home Assistant templates, rendered by Jinja2 against real messages', () => {
  it('read a sensor of edgehub exactly as the hub reads it, and render empty when there is no reading', () => {
    const payloads = [
      '{"value":21.5,"seq":3,"unit":"C"}',
      '22',
      '"23.5"',
      '{"on":true}',
      '{"seq":4}',
      'warm',
    ];
    const rendered = render('sensor/gh-1/temperature', 'value_template', payloads);
    // What edgehub's registry takes from the same messages, in Python's spelling.
    const hub = payloads.map((p) => readingValue(decodeMessage(message(p)).value));
    expect(hub).toEqual([21.5, 22, '23.5', true, undefined, 'warm']);
    expect(rendered).toEqual(ok('21.5', '22', '23.5', 'True', '', 'warm'));
  });

  it('turn what edgehub reads as on or off into ON and OFF, and anything else into no state at all', () => {
    const on = ['open', 'ON', 'on', 'true', '{"on":true}', '{"value":true}', '1', '{"value":"open"}'];
    const off = ['closed', 'OFF', 'false', '{"on":false,"seq":2}', '{"value":0}', '0'];
    const neither = ['{"seq":2}', 'ajar', '{"value":null}', '[1]', '2'];
    expect(render('binary_sensor/gh-1/door', 'value_template', [...on, ...off, ...neither])).toEqual(
      ok(...on.map(() => 'ON'), ...off.map(() => 'OFF'), ...neither.map(() => '')),
    );
    // The words both agree on are edgehub's own switch words.
    for (const word of ['ON', 'on', 'true', 'OFF', 'false'])
      expect(switchWord(word)).toBe(on.includes(word) ? true : false);
  });

  it("follow an edgehub actuator's reported state and brightness, ignoring messages without them", () => {
    expect(render('switch/gh-1/fan', 'value_template', ['{"on":true}', '{"on":false}', '{}'])).toEqual(
      ok('ON', 'OFF', ''),
    );
    expect(
      render('light/gh-1/lamp', 'brightness_value_template', ['{"on":true,"brightness":40}', '{"on":true}']),
    ).toEqual(ok('40', ''));
  });

  it("read Tasmota's nested SENSOR keys, bare POWER words, and RESULT messages that carry no POWER", () => {
    expect(
      render('sensor/plug-1/power', 'value_template', [
        '{"Time":"2026-12-05T10:00:00","ENERGY":{"Power":12,"Voltage":230}}',
        '{"Time":"2026-12-05T10:00:00","AM2301":{"Temperature":21.3}}',
        '{"ENERGY":5}',
      ]),
    ).toEqual(ok('12', '', ''));
    expect(render('switch/plug-1/relay', 'value_template', ['ON', 'OFF'])).toEqual(ok('ON', 'OFF'));
    // A fade sends `{"Dimmer": 40}` alone: the light stays on in Home Assistant, its brightness follows.
    const result = ['{"POWER":"ON","Dimmer":50}', '{"Dimmer":40}', '{"POWER":"OFF"}'];
    expect(render('light/bulb/light', 'state_value_template', result)).toEqual(ok('ON', '', 'OFF'));
    expect(render('light/bulb/light', 'brightness_value_template', result)).toEqual(ok('50', '40', ''));
  });

  it("read zigbee2mqtt's state, brightness on its 0-254 scale and both forms of its availability", () => {
    const states = [
      '{"state":"ON","brightness":254}',
      '{"state":"OFF","brightness":127}',
      '{"linkquality":80}',
    ];
    expect(render('light/lamp/light', 'state_value_template', states)).toEqual(ok('ON', 'OFF', ''));
    expect(render('light/lamp/light', 'brightness_value_template', states)).toEqual(ok('100', '50', ''));
    expect(
      render('binary_sensor/lamp/occupancy', 'value_template', ['{"occupancy":true}', '{"battery":90}']),
    ).toEqual(ok('ON', ''));
    expect(
      render('light/lamp/light', 'availability_template', [
        '{"state":"online"}',
        'offline',
        '{"linkquality":1}',
      ]),
    ).toEqual(ok('online', 'offline', ''));
  });

  it("show an edgehub device available only while the hub says online, and read the hub's figures", () => {
    expect(
      render('switch/gh-1/fan', 'availability_template', ['online', 'offline', 'stale', 'unknown']),
    ).toEqual(ok('online', 'offline', 'offline', 'offline'));
    const stats = '{"uptime_s":120,"devices_online":2,"clients":3}';
    expect(render('sensor/edgehub_hub_edgehub/uptime_s', 'value_template', [stats])).toEqual(ok('120'));
    expect(render('sensor/edgehub_hub_edgehub/events_stored', 'value_template', [stats])).toEqual(ok(''));
  });
});
