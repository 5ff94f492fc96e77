import type { MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import type { Hub } from '../hub/index.js';
import { startDeviceHub } from './support/device-hub.js';
import { ClientPool } from './support/mqtt-client.js';
import { TempDirs } from './support/temp.js';

const DEVICES = `devices:
  - id: gh-1
    name: Greenhouse 1
    sensors:
      - { metric: temperature, unit: C, kind: temperature }
      - { metric: door, kind: door }
    actuators:
      - { name: fan, kind: switch }
      - { name: lamp, kind: dimmer }
  - id: plug-1
    convention: tasmota
    topic: tasmota_ABC123
    sensors: [{ metric: power, unit: W, kind: power, key: ENERGY.Power }]
    actuators: [{ name: relay, kind: relay }]
  - id: hall.sensor
    convention: zigbee2mqtt
    sensors: [{ metric: occupancy, kind: motion }]
`;

const temp = new TempDirs();
const pool = new ClientPool();
let hub: Hub | undefined;

afterEach(async () => {
  await pool.closeAll();
  await hub?.stop();
  hub = undefined;
  temp.cleanup();
});

type Config = Record<string, unknown> & {
  device: { identifiers: string[]; name: string; manufacturer: string };
};

/** Collects discovery configs under `prefix/#` until `count` arrived. */
function collect(client: MqttClient, prefix: string, count: number): Promise<Map<string, Config>> {
  const seen = new Map<string, Config>();
  return new Promise((resolve) => {
    const onMessage = (topic: string, payload: Buffer): void => {
      if (!topic.startsWith(`${prefix}/`) || !topic.endsWith('/config')) return;
      seen.set(topic, JSON.parse(payload.toString()) as Config);
      if (seen.size === count) {
        client.off('message', onMessage);
        resolve(seen);
      }
    };
    client.on('message', onMessage);
  });
}

/** What Home Assistant's MQTT integration requires of each component's config. */
const REQUIRED: Record<string, string[]> = {
  sensor: ['state_topic', 'unique_id', 'availability_topic', 'device'],
  binary_sensor: ['state_topic', 'unique_id', 'availability_topic', 'device', 'payload_on', 'payload_off'],
  switch: ['state_topic', 'command_topic', 'unique_id', 'availability_topic', 'device'],
  light: ['state_topic', 'command_topic', 'unique_id', 'availability_topic', 'device'],
};

describe('Home Assistant discovery', () => {
  it('publishes a retained config per sensor and actuator, with the fields Home Assistant requires', async () => {
    const started = await startDeviceHub(temp, DEVICES);
    hub = started.hub;
    const ha = await pool.connect(started.url, { clientId: 'home-assistant' });
    const configs = collect(ha, 'homeassistant', 7);
    await ha.subscribeAsync('homeassistant/#', { qos: 1 });
    const got = await configs;
    expect([...got.keys()].sort()).toEqual([
      'homeassistant/binary_sensor/gh-1/door/config',
      'homeassistant/binary_sensor/hall_sensor/occupancy/config',
      'homeassistant/light/gh-1/lamp/config',
      'homeassistant/sensor/gh-1/temperature/config',
      'homeassistant/sensor/plug-1/power/config',
      'homeassistant/switch/gh-1/fan/config',
      'homeassistant/switch/plug-1/relay/config',
    ]);
    const uniqueIds = new Set<unknown>();
    for (const [topic, config] of got) {
      const component = topic.split('/')[1] ?? '';
      for (const key of REQUIRED[component] ?? ['missing component'])
        expect(config, `${topic} ${key}`).toHaveProperty(key);
      expect(config.device.identifiers.length).toBeGreaterThan(0);
      expect(config.device.manufacturer).toBe('edgehub');
      uniqueIds.add(config.unique_id);
    }
    expect(uniqueIds.size).toBe(7);

    expect(got.get('homeassistant/sensor/gh-1/temperature/config')).toMatchObject({
      state_topic: 'sensors/gh-1/temperature',
      availability_topic: 'devices/gh-1/availability',
      device_class: 'temperature',
      unit_of_measurement: '°C',
      value_template: expect.any(String) as unknown,
      device: { identifiers: ['edgehub_gh-1'], name: 'Greenhouse 1' },
    });
    // Commands from Home Assistant go through the hub's guarded topics, never straight to the device.
    expect(got.get('homeassistant/switch/gh-1/fan/config')).toMatchObject({
      command_topic: 'edgehub/set/gh-1/fan',
      state_topic: 'actuators/gh-1/fan/state',
      payload_on: 'ON',
      payload_off: 'OFF',
    });
    expect(got.get('homeassistant/light/gh-1/lamp/config')).toMatchObject({
      brightness_command_topic: 'edgehub/set/gh-1/lamp/brightness',
      brightness_scale: 100,
    });
    expect(got.get('homeassistant/switch/plug-1/relay/config')).toMatchObject({
      state_topic: 'stat/tasmota_ABC123/POWER',
      availability_topic: 'tele/tasmota_ABC123/LWT',
      payload_available: 'Online',
      payload_not_available: 'Offline',
    });
    expect(got.get('homeassistant/binary_sensor/hall_sensor/occupancy/config')).toMatchObject({
      state_topic: 'zigbee2mqtt/hall.sensor',
      availability_topic: 'zigbee2mqtt/hall.sensor/availability',
      device_class: 'motion',
    });
  });

  it('publishes every config again when Home Assistant announces itself online', async () => {
    const started = await startDeviceHub(temp, DEVICES);
    hub = started.hub;
    const ha = await pool.connect(started.url, { clientId: 'home-assistant' });
    const retained = collect(ha, 'homeassistant', 7);
    await ha.subscribeAsync('homeassistant/+/+/+/config', { qos: 1 });
    await retained;
    const before = hub.devices.homeAssistant?.published;
    const again = collect(ha, 'homeassistant', 7);
    await ha.publishAsync('homeassistant/status', 'online', { qos: 1 });
    expect((await again).size).toBe(7);
    // Counted once the broker has stored all seven retained configs, which may be just after they arrive.
    await expect.poll(() => hub?.devices.homeAssistant?.published).toBe((before ?? 0) + 7);
  });

  it('is off with homeassistant.discovery false, and follows a custom prefix', async () => {
    const off = await startDeviceHub(temp, `homeassistant: { discovery: false }\n${DEVICES}`);
    expect(off.hub.devices.homeAssistant).toBeUndefined();
    await off.hub.stop();
    const custom = await startDeviceHub(temp, `homeassistant: { prefix: ha-test }\n${DEVICES}`);
    hub = custom.hub;
    const ha = await pool.connect(custom.url);
    const configs = collect(ha, 'ha-test', 7);
    await ha.subscribeAsync('ha-test/#', { qos: 1 });
    expect((await configs).size).toBe(7);
  });
});
