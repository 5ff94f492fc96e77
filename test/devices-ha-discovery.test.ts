import type { MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import type { Hub } from '../hub/index.js';
import { VirtualClock } from '../kernel/index.js';
import { hubMessage, startDeviceHub } from './support/device-hub.js';
import { ClientPool } from './support/mqtt-client.js';
import { TempDirs } from './support/temp.js';

const DEVICES = `devices:
  - id: gh-1
    name: Greenhouse 1
    stale_after: 1m
    sensors:
      - { metric: temperature, unit: C, kind: temperature }
      - { metric: light, unit: lux, kind: illuminance }
      - { metric: door, kind: door }
    actuators:
      - { name: fan, kind: switch }
      - { name: lamp, kind: dimmer }
  - id: plug-1
    convention: tasmota
    topic: tasmota_ABC123
    sensors:
      - { metric: power, unit: W, kind: power, key: ENERGY.Power }
      - { metric: energy, unit: kWh, kind: energy, key: ENERGY.Total }
    actuators: [{ name: relay, kind: relay }]
  - id: hall.sensor
    convention: zigbee2mqtt
    sensors: [{ metric: occupancy, kind: motion }]
`;

/** The configs DEVICES gives: nine entities of the devices and five of the hub itself. */
const DEVICE_TOPICS = [
  'homeassistant/binary_sensor/gh-1/door/config',
  'homeassistant/binary_sensor/hall_sensor/occupancy/config',
  'homeassistant/light/gh-1/lamp/config',
  'homeassistant/sensor/gh-1/light/config',
  'homeassistant/sensor/gh-1/temperature/config',
  'homeassistant/sensor/plug-1/energy/config',
  'homeassistant/sensor/plug-1/power/config',
  'homeassistant/switch/gh-1/fan/config',
  'homeassistant/switch/plug-1/relay/config',
];
const HUB_TOPICS = [
  'homeassistant/binary_sensor/edgehub_hub_edgehub/running/config',
  'homeassistant/sensor/edgehub_hub_edgehub/clients/config',
  'homeassistant/sensor/edgehub_hub_edgehub/devices_online/config',
  'homeassistant/sensor/edgehub_hub_edgehub/events_stored/config',
  'homeassistant/sensor/edgehub_hub_edgehub/uptime_s/config',
];
const ALL = DEVICE_TOPICS.length + HUB_TOPICS.length;

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
  device: { identifiers: string[]; name: string; manufacturer: string; via_device?: string };
  origin: { name: string; sw_version?: string; support_url?: string };
};

/** Collects retained messages under `filter` (non-empty ones, by topic) until `count` arrived. */
async function retainedUnder(
  client: MqttClient,
  filter: string,
  count: number,
): Promise<Map<string, string>> {
  const seen = new Map<string, string>();
  const prefix = filter.replace(/\/?#$/, '');
  const done = new Promise<Map<string, string>>((resolve) => {
    const onMessage = (topic: string, payload: Buffer): void => {
      if (!topic.startsWith(prefix) || payload.length === 0) return;
      seen.set(topic, payload.toString());
      if (seen.size === count) {
        client.off('message', onMessage);
        resolve(seen);
      }
    };
    client.on('message', onMessage);
  });
  await client.subscribeAsync(filter, { qos: 1 });
  return done;
}

async function configsOf(
  client: MqttClient,
  count: number,
  prefix = 'homeassistant',
): Promise<Map<string, Config>> {
  const raw = await retainedUnder(client, `${prefix}/#`, count);
  const configs = new Map<string, Config>();
  for (const [topic, text] of raw)
    if (topic.endsWith('/config')) configs.set(topic, JSON.parse(text) as Config);
  return configs;
}

/** What Home Assistant's MQTT integration requires of each component's config. */
const REQUIRED: Record<string, string[]> = {
  sensor: ['state_topic', 'unique_id', 'device'],
  binary_sensor: ['state_topic', 'unique_id', 'device', 'payload_on', 'payload_off'],
  switch: ['state_topic', 'command_topic', 'unique_id', 'availability_topic', 'device'],
  light: ['state_topic', 'command_topic', 'unique_id', 'availability_topic', 'device'],
};

describe('Home Assistant discovery', () => {
  it('publishes a retained config per entity with what Home Assistant requires, and none it would refuse', async () => {
    const started = await startDeviceHub(temp, DEVICES);
    hub = started.hub;
    const ha = await pool.connect(started.url, { clientId: 'home-assistant' });
    const got = await configsOf(ha, ALL);
    expect([...got.keys()].sort()).toEqual([...DEVICE_TOPICS, ...HUB_TOPICS].sort());

    const uniqueIds = new Set<unknown>();
    for (const [topic, config] of got) {
      const component = topic.split('/')[1] ?? '';
      for (const key of REQUIRED[component] ?? ['missing component'])
        expect(config, `${topic} ${key}`).toHaveProperty(key);
      // object_id is gone from current Home Assistant; default_entity_id names the entity instead.
      expect(config).not.toHaveProperty('object_id');
      expect(config.default_entity_id).toMatch(new RegExp(`^${component}\\.[a-z0-9_]+$`));
      expect(config.origin).toMatchObject({ name: 'edgehub', support_url: expect.any(String) as unknown });
      expect(config.origin.sw_version).toMatch(/^\d+\.\d+\.\d+/);
      uniqueIds.add(config.unique_id);
    }
    expect(uniqueIds.size).toBe(ALL);

    const temperature = got.get('homeassistant/sensor/gh-1/temperature/config');
    expect(temperature).toMatchObject({
      state_topic: 'sensors/gh-1/temperature',
      // The hub's view of the device: a plain MQTT device need not publish availability itself.
      availability_topic: 'edgehub/devices/gh-1/availability',
      device_class: 'temperature',
      unit_of_measurement: '°C',
      state_class: 'measurement',
      default_entity_id: 'sensor.gh_1_temperature',
      device: { identifiers: ['edgehub_gh-1'], name: 'Greenhouse 1', manufacturer: 'edgehub' },
    });
    // Home Assistant knows illuminance only in lx, and energy meters as total_increasing.
    expect(got.get('homeassistant/sensor/gh-1/light/config')).toMatchObject({ unit_of_measurement: 'lx' });
    expect(got.get('homeassistant/sensor/plug-1/energy/config')).toMatchObject({
      device_class: 'energy',
      state_class: 'total_increasing',
      unit_of_measurement: 'kWh',
    });
    expect(got.get('homeassistant/binary_sensor/gh-1/door/config')).not.toHaveProperty('state_class');
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
      device: { manufacturer: 'Tasmota' },
    });
    expect(got.get('homeassistant/binary_sensor/hall_sensor/occupancy/config')).toMatchObject({
      state_topic: 'zigbee2mqtt/hall.sensor',
      availability_topic: 'zigbee2mqtt/hall.sensor/availability',
      device_class: 'motion',
      device: { manufacturer: 'Zigbee2MQTT' },
    });

    // Every device is announced via the hub, and the hub is announced as a device of its own.
    const hubIds = got.get(HUB_TOPICS[0] ?? '')?.device.identifiers;
    expect(hubIds).toEqual(['edgehub_hub_edgehub']);
    for (const topic of DEVICE_TOPICS) expect(got.get(topic)?.device.via_device).toBe('edgehub_hub_edgehub');
    expect(got.get(HUB_TOPICS[0] ?? '')).toMatchObject({
      state_topic: 'edgehub/status',
      device_class: 'connectivity',
      payload_on: 'online',
    });
  });

  it('publishes the hub status, its figures and each defined device availability, retained', async () => {
    const clock = new VirtualClock(Date.now());
    const started = await startDeviceHub(temp, DEVICES, { clock });
    hub = started.hub;
    const watcher = await pool.connect(started.url);
    const status = await retainedUnder(watcher, 'edgehub/#', 5);
    expect(status.get('edgehub/status')).toBe('online');
    expect(JSON.parse(status.get('edgehub/stats') ?? '{}')).toMatchObject({
      uptime_s: 0,
      devices_online: 0,
      clients: expect.any(Number) as unknown,
    });
    // Nothing heard from any device yet.
    for (const id of ['gh-1', 'plug-1', 'hall.sensor'])
      expect(status.get(`edgehub/devices/${id}/availability`)).toBe('unknown');

    const online = hubMessage(hub, (m) => m.topic === 'edgehub/devices/gh-1/availability');
    const sensor = await pool.connect(started.url);
    await sensor.publishAsync('sensors/gh-1/temperature', '{"value":21.5}', { qos: 1 });
    expect((await online).payload.toString()).toBe('online');

    // No reading for stale_after (1m): the hub says stale, which Home Assistant shows as unavailable.
    const stale = hubMessage(hub, (m) => m.topic === 'edgehub/devices/gh-1/availability');
    const stats = hubMessage(hub, (m) => m.topic === 'edgehub/stats');
    clock.advance(61_000);
    expect((await stale).payload.toString()).toBe('stale');
    expect(JSON.parse((await stats).payload.toString())).toMatchObject({ uptime_s: 60 });

    const offline = hubMessage(hub, (m) => m.topic === 'edgehub/status');
    await hub.stop();
    expect((await offline).payload.toString()).toBe('offline');
  });

  it('clears the configs of removed devices on restart, and leaves other publishers configs alone', async () => {
    const first = await startDeviceHub(temp, DEVICES);
    hub = first.hub;
    const other = await pool.connect(first.url);
    const foreign = JSON.stringify({
      name: 'x',
      state_topic: 'x',
      unique_id: 'x',
      origin: { name: 'zigbee2mqtt' },
    });
    await other.publishAsync('homeassistant/sensor/zigbee/x/config', foreign, { qos: 1, retain: true });
    await pool.closeAll();
    await hub.stop();

    const second = await startDeviceHub(temp, `${DEVICES.split('  - id: plug-1')[0] ?? ''}`, {
      dir: first.dir,
    });
    hub = second.hub;
    expect(hub.devices.homeAssistant?.cleared).toBe(4);
    const ha = await pool.connect(second.url);
    const left = await configsOf(ha, 5 + HUB_TOPICS.length + 1);
    expect([...left.keys()].sort()).toEqual(
      [
        ...DEVICE_TOPICS.filter((t) => t.includes('/gh-1/')),
        ...HUB_TOPICS,
        'homeassistant/sensor/zigbee/x/config',
      ].sort(),
    );
    expect(second.logger.entries.some((e) => e.fields?.configs === 4 && Array.isArray(e.fields.topics))).toBe(
      true,
    );
  });

  it('offers one config per device with its entities under cmps, and clears the per-entity ones', async () => {
    const first = await startDeviceHub(temp, DEVICES);
    await first.hub.stop();
    const started = await startDeviceHub(temp, `homeassistant: { mode: device }\n${DEVICES}`, {
      dir: first.dir,
    });
    hub = started.hub;
    expect(hub.devices.homeAssistant?.cleared).toBe(ALL);
    const ha = await pool.connect(started.url);
    const got = await configsOf(ha, 4);
    expect([...got.keys()].sort()).toEqual([
      'homeassistant/device/edgehub_hub_edgehub/config',
      'homeassistant/device/gh-1/config',
      'homeassistant/device/hall_sensor/config',
      'homeassistant/device/plug-1/config',
    ]);
    const gh1 = got.get('homeassistant/device/gh-1/config') as Config & {
      cmps: Record<string, Record<string, unknown>>;
    };
    expect(gh1.device.identifiers).toEqual(['edgehub_gh-1']);
    expect(gh1.origin.name).toBe('edgehub');
    expect(Object.keys(gh1.cmps).sort()).toEqual(['door', 'fan', 'lamp', 'light', 'temperature']);
    expect(gh1.cmps.fan).toMatchObject({
      platform: 'switch',
      unique_id: 'edgehub_gh-1_fan',
      command_topic: 'edgehub/set/gh-1/fan',
    });
    expect(gh1.cmps.temperature).not.toHaveProperty('device');
  });

  it('publishes every config again when Home Assistant announces itself, on its prefix or homeassistant/status', async () => {
    const started = await startDeviceHub(temp, `homeassistant: { prefix: ha-test }\n${DEVICES}`);
    hub = started.hub;
    const ha = await pool.connect(started.url, { clientId: 'home-assistant' });
    expect((await configsOf(ha, ALL, 'ha-test')).size).toBe(ALL);
    for (const birth of ['ha-test/status', 'homeassistant/status']) {
      const before = hub.devices.homeAssistant?.published ?? 0;
      await ha.publishAsync(birth, 'online', { qos: 1 });
      await expect.poll(() => hub?.devices.homeAssistant?.published).toBe(before + ALL);
    }
  });

  it('is off with homeassistant.discovery false', async () => {
    const started = await startDeviceHub(temp, `homeassistant: { discovery: false }\n${DEVICES}`);
    hub = started.hub;
    expect(hub.devices.homeAssistant).toBeUndefined();
  });
});
