import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Hub } from '../hub/index.js';
import { startDeviceHub, hubSaw } from './support/device-hub.js';
import { ClientPool, nextMessage } from './support/mqtt-client.js';
import { TempDirs } from './support/temp.js';

const CONFIG = `devices:
  - id: plug-1
    name: Workbench plug
    convention: tasmota
    topic: tasmota_ABC123
    sensors:
      - { metric: power, unit: W, kind: power, key: ENERGY.Power }
      - { metric: temperature, unit: C, kind: temperature, key: AM2301.Temperature }
    actuators:
      - { name: relay, kind: relay }
  - id: lamp
    convention: zigbee2mqtt
    topic: living_lamp
    sensors:
      - { metric: temperature, unit: C, kind: temperature, key: device_temperature }
    actuators:
      - { name: light, kind: dimmer }
  - id: gh-1
    actuators:
      - { name: fan, kind: switch }
`;

const temp = new TempDirs();
const pool = new ClientPool();
let hub: Hub;
let url: string;
let recorded: [string, string][];

beforeEach(async () => {
  ({ hub, url } = await startDeviceHub(temp, CONFIG));
  recorded = [];
  // The event store is one of the broker's consumers: what reaches them is what it records. The
  // hub's own status topics (edgehub/…) are left out: these tests look at what goes to devices.
  hub.broker.onMessage(recorded, (m) => {
    if (m.clientId === null && !m.topic.startsWith('edgehub/'))
      recorded.push([m.topic, m.payload.toString()]);
  });
});

afterEach(async () => {
  await pool.closeAll();
  await hub.stop();
  temp.cleanup();
});

describe('Tasmota mapping', () => {
  it('reads LWT, SENSOR and POWER into the registry and sends cmnd/<topic>/POWER', async () => {
    const online = hubSaw(hub, 'tele/tasmota_ABC123/LWT');
    const device = await pool.connect(url, {
      clientId: 'DVES_ABC123',
      will: { topic: 'tele/tasmota_ABC123/LWT', payload: Buffer.from('Offline'), qos: 1, retain: true },
    });
    await device.subscribeAsync('cmnd/tasmota_ABC123/#', { qos: 1 });
    await device.publishAsync('tele/tasmota_ABC123/LWT', 'Online', { qos: 1, retain: true });
    await online;
    expect(hub.registry.get('plug-1')?.status).toBe('online');

    const sensor = hubSaw(hub, 'tele/tasmota_ABC123/SENSOR');
    await device.publishAsync(
      'tele/tasmota_ABC123/SENSOR',
      JSON.stringify({
        Time: '2026-01-01T10:00:00',
        ENERGY: { Power: 42.5, Voltage: 231 },
        AM2301: { Temperature: 21.3 },
      }),
      { qos: 1 },
    );
    await sensor;
    expect(hub.registry.get('plug-1')?.state).toMatchObject({ power: 42.5, temperature: 21.3 });

    const command = nextMessage(device, 'cmnd/tasmota_ABC123/POWER');
    expect(await hub.devices.command('plug-1', { relay: true }, 'rule:plug-on')).toEqual({ accepted: true });
    expect((await command).payload.toString()).toBe('ON');

    const stat = hubSaw(hub, 'stat/tasmota_ABC123/POWER');
    await device.publishAsync('stat/tasmota_ABC123/POWER', 'ON', { qos: 1 });
    await stat;
    expect(hub.registry.get('plug-1')?.state.relay).toBe(true);

    const result = hubSaw(hub, 'stat/tasmota_ABC123/RESULT');
    await device.publishAsync('stat/tasmota_ABC123/RESULT', '{"POWER":"OFF"}', { qos: 1 });
    await result;
    expect(hub.registry.get('plug-1')?.state.relay).toBe(false);

    const offline = hubSaw(hub, 'tele/tasmota_ABC123/LWT');
    device.stream.destroy();
    await offline;
    expect(hub.registry.get('plug-1')?.status).toBe('offline');

    // The command went through the broker, so the store records it with the rest.
    expect(recorded).toEqual([['cmnd/tasmota_ABC123/POWER', 'ON']]);
  });
});

describe('zigbee2mqtt mapping', () => {
  it('reads availability and state JSON into the registry and sends <base>/<name>/set', async () => {
    const bridge = await pool.connect(url, { clientId: 'zigbee2mqtt-bridge' });
    await bridge.subscribeAsync('zigbee2mqtt/living_lamp/set', { qos: 1 });

    const available = hubSaw(hub, 'zigbee2mqtt/living_lamp/availability');
    await bridge.publishAsync('zigbee2mqtt/living_lamp/availability', '{"state":"online"}', {
      qos: 1,
      retain: true,
    });
    await available;
    expect(hub.registry.get('lamp')?.status).toBe('online');

    const state = hubSaw(hub, 'zigbee2mqtt/living_lamp');
    await bridge.publishAsync(
      'zigbee2mqtt/living_lamp',
      JSON.stringify({ state: 'ON', brightness: 127, device_temperature: 31, linkquality: 87 }),
      { qos: 1 },
    );
    await state;
    expect(hub.registry.get('lamp')?.state).toMatchObject({ light: true, temperature: 31 });

    const set = nextMessage(bridge, 'zigbee2mqtt/living_lamp/set');
    expect((await hub.devices.command('lamp', { light: 50 }, 'rule:dusk')).accepted).toBe(true);
    expect(JSON.parse((await set).payload.toString())).toEqual({ state: 'ON', brightness: 127 });

    const off = nextMessage(bridge, 'zigbee2mqtt/living_lamp/set');
    expect((await hub.devices.command('lamp', { light: { state: 'OFF' } }, 'rule:dawn')).accepted).toBe(true);
    expect(JSON.parse((await off).payload.toString())).toEqual({ state: 'OFF' });

    const gone = hubSaw(hub, 'zigbee2mqtt/living_lamp/availability');
    await bridge.publishAsync('zigbee2mqtt/living_lamp/availability', 'offline', { qos: 1, retain: true });
    await gone;
    expect(hub.registry.get('lamp')?.status).toBe('offline');
  });
});

describe('edgehub convention', () => {
  it('sends actuators/<device>/<actuator> with the origin, and reads the echoed state', async () => {
    const fan = await pool.connect(url, { clientId: 'gh-1' });
    await fan.subscribeAsync('actuators/gh-1/fan', { qos: 1 });
    const command = nextMessage(fan, 'actuators/gh-1/fan');
    expect((await hub.devices.command('gh-1', { fan: 'on' }, 'rule:fan-on')).accepted).toBe(true);
    expect(JSON.parse((await command).payload.toString())).toEqual({ on: true, origin: 'rule:fan-on' });
    const echoed = hubSaw(hub, 'actuators/gh-1/fan/state');
    await fan.publishAsync('actuators/gh-1/fan/state', '{"on":true}', { qos: 1, retain: true });
    await echoed;
    expect(hub.registry.get('gh-1')?.state.fan).toBe(true);
  });
});
