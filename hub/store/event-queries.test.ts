import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MqttMessage } from '../../kernel/index.js';
import { EdgehubError, MemoryLogger, VirtualClock } from '../../kernel/index.js';
import type { EventHistory } from './event-queries.js';
import { openEventReader } from './event-reader.js';
import { EventStore } from './event-store.js';
import { eventsDbPath } from './schema.js';

const T0 = Date.UTC(2026, 0, 1, 12);
const MIN = 60_000;

let dir: string;
let clock: VirtualClock;
let store: EventStore;
let closeReader: (() => void) | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'edgehub-queries-'));
  clock = new VirtualClock(T0);
  store = new EventStore({
    file: eventsDbPath(dir),
    clock,
    logger: new MemoryLogger(),
    options: {
      flushIntervalMs: 100,
      batchSize: 500,
      retention: { maxAgeMs: 365 * 86_400_000, maxSizeBytes: 1e12, checkEveryMs: 3_600_000 },
    },
  });
  store.start();
});

afterEach(async () => {
  closeReader?.();
  closeReader = undefined;
  await store.stop();
  rmSync(dir, { recursive: true, force: true });
});

function publish(topic: string, payload: string | Buffer, atMs = T0, extra: Partial<MqttMessage> = {}): void {
  store.append({
    topic,
    payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
    qos: 0,
    retain: false,
    clientId: 'client-a',
    receivedAt: atMs,
    ...extra,
  });
}

/** The same queries answered by the writing store and by a read-only reader of its file. */
const implementations: [string, () => EventHistory][] = [
  ['EventStore', () => store],
  [
    'openEventReader',
    () => {
      store.flush();
      const reader = openEventReader(eventsDbPath(dir));
      closeReader = () => reader.close();
      return reader;
    },
  ],
];

describe.each(implementations)('%s', (_name, open) => {
  it('returns JSON, text and binary payloads as they were published', () => {
    const binary = Buffer.from([0x00, 0xff, 0xfe, 0x80, 0x01]);
    publish('sensors/d1/temperature', '{"value": 21.5, "unit": "C"}', T0 + 1);
    publish('sensors/d1/humidity', '48', T0 + 2);
    publish('devices/d1/availability', 'online', T0 + 3, { retain: true, qos: 1 });
    publish('raw/d1', binary, T0 + 4, { clientId: null, qos: 2 });
    publish('raw/text', 'not json {', T0 + 5);
    publish('raw/quoted', '"a json string"', T0 + 6);
    publish('raw/empty', '', T0 + 7);

    const events = open().query({ order: 'asc' });
    expect(events.map((e) => e.payload)).toEqual([
      { value: 21.5, unit: 'C' },
      48,
      'online',
      binary,
      'not json {',
      'a json string',
      '',
    ]);
    expect(Buffer.isBuffer(events[3]?.payload)).toBe(true);
    expect(events[0]).toMatchObject({
      time: T0 + 1,
      clientId: 'client-a',
      topic: 'sensors/d1/temperature',
      deviceId: 'd1',
      metric: 'temperature',
      qos: 0,
      retain: false,
    });
    expect(events[2]).toMatchObject({ deviceId: 'd1', metric: null, qos: 1, retain: true });
    expect(events[3]).toMatchObject({ deviceId: null, metric: null, clientId: null, qos: 2 });
  });

  it('is newest first by default, honours limit, since and until (inclusive)', () => {
    for (let i = 0; i < 10; i++) publish('sensors/d1/temperature', String(i), T0 + i * MIN);
    const q = open();
    expect(q.query().map((e) => e.payload)).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
    expect(q.query({ limit: 3 }).map((e) => e.payload)).toEqual([9, 8, 7]);
    expect(q.query({ since: T0 + 2 * MIN, until: T0 + 4 * MIN }).map((e) => e.payload)).toEqual([4, 3, 2]);
    expect(q.query({ since: T0 + 7 * MIN, order: 'asc' }).map((e) => e.payload)).toEqual([7, 8, 9]);
  });

  it('filters by MQTT topic filter with + and #', () => {
    publish('sensors/d1/temperature', '1');
    publish('sensors/d2/temperature', '2');
    publish('sensors/d2/humidity', '3');
    publish('actuators/d2/fan', '{"on": true}');
    publish('$SYS/broker/uptime', '4');
    const topics = (topicFilter: string) =>
      open()
        .query({ topicFilter, order: 'asc' })
        .map((e) => e.topic);
    expect(topics('sensors/+/temperature')).toEqual(['sensors/d1/temperature', 'sensors/d2/temperature']);
    expect(topics('sensors/d2/#')).toEqual(['sensors/d2/temperature', 'sensors/d2/humidity']);
    expect(topics('+/d2/+')).toEqual(['sensors/d2/temperature', 'sensors/d2/humidity', 'actuators/d2/fan']);
    expect(topics('#')).not.toContain('$SYS/broker/uptime');
    expect(topics('$SYS/#')).toEqual(['$SYS/broker/uptime']);
    expect(topics('sensors/d1/temperature')).toEqual(['sensors/d1/temperature']);
    expect(() => open().query({ topicFilter: 'sensors/#/x' })).toThrow(EdgehubError);
  });

  it("gives a device's history in a window, oldest first, optionally for one metric", () => {
    for (let i = 0; i < 60; i++) {
      publish('sensors/d1/temperature', String(20 + i), T0 + i * MIN);
      publish('sensors/d1/humidity', String(40 + i), T0 + i * MIN);
      publish('sensors/d2/temperature', String(90 + i), T0 + i * MIN);
    }
    const q = open();
    const window = q.history('d1', 'temperature', T0 + 10 * MIN, T0 + 20 * MIN);
    expect(window.map((e) => e.payload)).toEqual(Array.from({ length: 11 }, (_, i) => 30 + i));
    const both = q.history('d1', T0 + 10 * MIN, T0 + 11 * MIN);
    expect(both.map((e) => [e.metric, e.payload])).toEqual([
      ['temperature', 30],
      ['humidity', 50],
      ['temperature', 31],
      ['humidity', 51],
    ]);
    expect(q.history('d3', 0, T0 * 2)).toEqual([]);
  });

  it('keeps the latest value per device and metric: readings and actuator states, not commands', () => {
    publish('sensors/d1/temperature', '{"value": 20}', T0);
    publish('sensors/d1/temperature', '{"value": 21}', T0 + 1);
    store.flush();
    publish('sensors/d1/temperature', '{"value": 22.5}', T0 + 2);
    publish('sensors/d1/label', 'kitchen', T0 + 3);
    publish('actuators/d1/fan/state', '{"on": true}', T0 + 4);
    publish('actuators/d1/fan', '{"on": false}', T0 + 5);
    publish('sensors/d2/temperature', '{"raw": 7}', T0 + 6);

    const q = open();
    expect(q.latest().map((l) => [l.deviceId, l.metric, l.value, l.time])).toEqual([
      ['d1', 'fan', true, T0 + 4],
      ['d1', 'label', 'kitchen', T0 + 3],
      ['d1', 'temperature', 22.5, T0 + 2],
      ['d2', 'temperature', { raw: 7 }, T0 + 6],
    ]);
    expect(q.latest('d2')).toHaveLength(1);
    const [temp] = q.latest('d1').filter((l) => l.metric === 'temperature');
    expect(q.query({ order: 'desc' }).find((e) => e.id === temp?.eventId)?.payload).toEqual({ value: 22.5 });
  });
});

it('stores JSON payloads as JSON text and everything else as the raw bytes', () => {
  publish('sensors/d1/temperature', '{"value":21.5}');
  publish('devices/d1/availability', 'online');
  publish('raw/bin', Buffer.from([0xff, 0x00]));
  store.flush();
  const db = new BetterSqlite(eventsDbPath(dir), { readonly: true });
  try {
    const rows = db.prepare('SELECT typeof(payload) AS kind, payload FROM events ORDER BY id').all();
    expect(rows).toEqual([
      { kind: 'text', payload: '{"value":21.5}' },
      { kind: 'blob', payload: Buffer.from('online') },
      { kind: 'blob', payload: Buffer.from([0xff, 0x00]) },
    ]);
    // The device/time index answers "events of device X between t1 and t2" without a sort.
    const plan = db
      .prepare(
        "EXPLAIN QUERY PLAN SELECT * FROM events WHERE device_id = 'd1' AND time >= 0 AND time <= 1 ORDER BY time, id",
      )
      .all() as { detail: string }[];
    expect(plan.map((p) => p.detail).join('\n')).toMatch(/USING INDEX events_device_time/);
    expect(plan.map((p) => p.detail).join('\n')).not.toMatch(/TEMP B-TREE/);
  } finally {
    db.close();
  }
});
