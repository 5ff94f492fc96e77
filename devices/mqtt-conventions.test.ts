import { describe, expect, it } from 'vitest';
import { deviceListSchema } from './definition.js';
import { ConventionMapper, encodeCommand } from './mqtt-conventions.js';

const [plug, dimmer, z2m, own] = deviceListSchema.parse([
  {
    id: 'plug-1',
    convention: 'tasmota',
    topic: 'sonoff',
    sensors: [{ metric: 'power', key: 'ENERGY.Power' }],
    actuators: [
      { name: 'relay', kind: 'relay' },
      { name: 'pump', kind: 'relay', key: 'POWER2' },
    ],
  },
  { id: 'dim-1', convention: 'tasmota', actuators: [{ name: 'light', kind: 'dimmer' }] },
  {
    id: 'double',
    convention: 'zigbee2mqtt',
    base: 'z2m',
    topic: 'wall switch',
    sensors: [{ metric: 'temperature', key: 'device_temperature' }],
    actuators: [
      { name: 'left', kind: 'light', key: 'state_l1' },
      { name: 'right', kind: 'switch', key: 'state_l2' },
    ],
  },
  { id: 'gh-1', actuators: [{ name: 'fan' }] },
]);
if (!plug || !dimmer || !z2m || !own) throw new Error('fixture');
const mapper = new ConventionMapper([plug, dimmer, z2m, own]);

describe('ConventionMapper', () => {
  it('maps Tasmota telemetry, results and per-relay POWER topics', () => {
    expect(mapper.map('tele/sonoff/SENSOR', { ENERGY: { Power: 12 }, Other: 1 })).toEqual([
      { kind: 'reading', deviceId: 'plug-1', name: 'power', value: 12 },
    ]);
    expect(mapper.map('tele/sonoff/STATE', { POWER1: 'ON', POWER: 'ON', POWER2: 'OFF' })).toEqual([
      { kind: 'state', deviceId: 'plug-1', name: 'relay', state: { on: true } },
      { kind: 'state', deviceId: 'plug-1', name: 'pump', state: { on: false } },
    ]);
    expect(mapper.map('stat/sonoff/POWER2', 'ON')).toEqual([
      { kind: 'state', deviceId: 'plug-1', name: 'pump', state: { on: true } },
    ]);
    expect(mapper.map('stat/dim-1/RESULT', { POWER: 'ON', Dimmer: 40 })).toEqual([
      { kind: 'state', deviceId: 'dim-1', name: 'light', state: { on: true, brightness: 40 } },
    ]);
    expect(mapper.map('tele/sonoff/LWT', 'Offline')).toEqual([
      { kind: 'availability', deviceId: 'plug-1', status: 'offline' },
    ]);
    expect(mapper.map('tele/sonoff/LWT', 'rebooting')).toEqual([]);
    expect(mapper.map('tele/unknown/SENSOR', {})).toBeNull();
  });

  it('maps zigbee2mqtt state JSON with multi-endpoint keys and both availability forms', () => {
    expect(
      mapper.map('z2m/wall switch', {
        state_l1: 'ON',
        brightness_l1: 254,
        state_l2: 'OFF',
        device_temperature: 30,
      }),
    ).toEqual([
      { kind: 'reading', deviceId: 'double', name: 'temperature', value: 30 },
      { kind: 'state', deviceId: 'double', name: 'left', state: { on: true, brightness: 100 } },
      { kind: 'state', deviceId: 'double', name: 'right', state: { on: false } },
    ]);
    expect(mapper.map('z2m/wall switch/availability', { state: 'online' })).toEqual([
      { kind: 'availability', deviceId: 'double', status: 'online' },
    ]);
    expect(mapper.map('z2m/wall switch/availability', 'offline')).toEqual([
      { kind: 'availability', deviceId: 'double', status: 'offline' },
    ]);
  });

  it('leaves edgehub-convention devices to parseDeviceTopic', () => {
    expect(mapper.topics().some((t) => t.includes('gh-1'))).toBe(false);
  });
});

describe('encodeCommand', () => {
  it('writes Tasmota commands per relay, and Dimmer for a brightness', () => {
    expect(encodeCommand(plug, { relay: { on: true }, pump: { on: false } }, 'r')).toEqual([
      { topic: 'cmnd/sonoff/POWER', payload: 'ON', qos: 1 },
      { topic: 'cmnd/sonoff/POWER2', payload: 'OFF', qos: 1 },
    ]);
    expect(encodeCommand(dimmer, { light: { on: true, brightness: 30 } }, 'r')).toEqual([
      { topic: 'cmnd/dim-1/Dimmer', payload: '30', qos: 1 },
    ]);
    expect(encodeCommand(dimmer, { light: { on: false, brightness: 30 } }, 'r')).toEqual([
      { topic: 'cmnd/dim-1/POWER', payload: 'OFF', qos: 1 },
    ]);
  });

  it('writes one zigbee2mqtt set message for the whole device, brightness on 0–254', () => {
    expect(encodeCommand(z2m, { left: { on: true, brightness: 50 }, right: { on: true } }, 'r')).toEqual([
      {
        topic: 'z2m/wall switch/set',
        payload: '{"state_l1":"ON","brightness_l1":127,"state_l2":"ON"}',
        qos: 1,
      },
    ]);
  });

  it('writes edgehub commands with their origin', () => {
    expect(encodeCommand(own, { fan: { on: false } }, 'rule:x')).toEqual([
      { topic: 'actuators/gh-1/fan', payload: '{"on":false,"origin":"rule:x"}', qos: 1 },
    ]);
  });
});
