import { beforeEach, describe, expect, it } from 'vitest';
import type { MqttMessage } from '../messages.js';
import { DeviceBook, deviceEntry, type DeviceEntry } from './device-book.js';
import type { DeviceReading, DeviceStatusChange } from './readings.js';

const T0 = 1_700_000_000_000;

function message(topic: string, payload: string, receivedAt = T0): MqttMessage {
  return { topic, payload: Buffer.from(payload), qos: 0, retain: false, clientId: 'c', receivedAt };
}

let book: DeviceBook;
let readings: DeviceReading[];
let changes: DeviceStatusChange[];
let heard: string[];
let seen: string[];
let invalid: string[];

beforeEach(() => {
  readings = [];
  changes = [];
  heard = [];
  seen = [];
  invalid = [];
  book = new DeviceBook({
    newEntry: deviceEntry,
    onNew: (d) => heard.push(d.id),
    onSeen: (d) => seen.push(d.id),
    onReading: (r) => readings.push(r),
    onStatus: (c) => changes.push(c),
    onInvalidAvailability: (topic) => invalid.push(topic),
  });
});

describe('DeviceBook', () => {
  it('keeps the latest value of each metric, reporting it with the one before', () => {
    expect(book.observe(message('sensors/gh-1/temperature', '{"value": 21.5, "seq": 1}'))).toBe(true);
    book.observe(message('sensors/gh-1/temperature', '22', T0 + 1000));
    expect(book.get('gh-1')).toEqual({
      id: 'gh-1',
      status: 'online',
      lastSeen: T0 + 1000,
      state: { temperature: 22 },
      updatedAt: { temperature: T0 + 1000 },
    });
    expect(readings).toEqual([
      { deviceId: 'gh-1', metric: 'temperature', value: 21.5, previous: undefined, at: T0 },
      { deviceId: 'gh-1', metric: 'temperature', value: 22, previous: 21.5, at: T0 + 1000 },
    ]);
  });

  it('takes an actuator state as its on/off, and a device that speaks as online', () => {
    book.observe(message('actuators/gh-1/fan/state', '{"on": true}'));
    expect(book.get('gh-1')?.state).toEqual({ fan: true });
    expect(changes).toEqual([{ deviceId: 'gh-1', status: 'online', previous: 'unknown', at: T0 }]);
    expect(heard).toEqual(['gh-1']);
    expect(seen).toEqual(['gh-1']);
  });

  it('follows availability messages and reports each change once', () => {
    book.observe(message('devices/gh-1/availability', 'online'));
    book.observe(message('devices/gh-1/availability', ' ONLINE\n'));
    book.observe(message('devices/gh-1/availability', 'offline'));
    book.observe(message('devices/gh-1/availability', 'gone'));
    expect(changes.map((c) => [c.previous, c.status])).toEqual([
      ['unknown', 'online'],
      ['online', 'offline'],
    ]);
    expect(invalid).toEqual(['devices/gh-1/availability']);
    expect(book.get('gh-1')?.lastSeen).toBeNull();
    expect(seen).toEqual([]);
  });

  it('learns nothing from commands, and leaves topics of other conventions to its owner', () => {
    expect(book.observe(message('actuators/gh-1/fan', '{"on": true}'))).toBe(true);
    expect(book.observe(message('tele/plug-1/SENSOR', '{"ENERGY": {}}'))).toBe(false);
    expect(book.list()).toEqual([]);
  });

  it('counts a reading without a value as a sign of life only', () => {
    book.observe(message('sensors/gh-1/temperature', '{"unit": "C"}'));
    expect(book.get('gh-1')).toMatchObject({ status: 'online', lastSeen: T0, state: {} });
    expect(readings).toEqual([]);
  });

  it('declares a device afresh with its initial state, reporting nothing', () => {
    book.observe(message('sensors/gh-1/humidity', '60'));
    const declared = book.declare('gh-1', { status: 'offline', state: { fan: false } }, T0 + 5);
    expect(declared).toBe(book.get('gh-1'));
    expect(declared).toEqual({
      id: 'gh-1',
      status: 'offline',
      lastSeen: null,
      state: { fan: false },
      updatedAt: { fan: T0 + 5 },
    });
    book.declare('shed');
    expect(book.get('shed')?.status).toBe('unknown');
    expect(heard).toEqual(['gh-1']);
    expect(readings).toHaveLength(1);
    expect(changes).toHaveLength(1);
  });

  it('is driven directly by an owner reading other conventions', () => {
    book.seen('plug-1', T0);
    expect(book.record('plug-1', 'power', 40, T0)).toBeUndefined();
    expect(book.record('plug-1', 'power', 42, T0 + 1)).toBe(40);
    expect(book.setStatus('plug-1', 'offline', T0 + 2)).toBe('online');
    expect(book.setStatus('plug-1', 'offline', T0 + 3)).toBe('offline');
    expect(changes.map((c) => c.status)).toEqual(['online', 'offline']);
    expect(book.get('plug-1')).toMatchObject({ lastSeen: T0, state: { power: 42 } });
  });

  it('keeps the entries its owner makes, with their own fields', () => {
    interface Named extends DeviceEntry {
      name: string;
    }
    const named = new DeviceBook<Named>({
      newEntry: (id) => ({ ...deviceEntry(id), name: id.toUpperCase() }),
    });
    named.observe(message('sensors/gh-1/temperature', '20'));
    expect(named.get('gh-1')).toMatchObject({ name: 'GH-1', state: { temperature: 20 } });
  });
});
