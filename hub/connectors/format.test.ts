import { describe, expect, it } from 'vitest';
import type { OutboxEvent, OutboxRow } from '../store/index.js';
import { connectorSchema, type OutRouteConfig } from './config-schema.js';
import { OutFormatter } from './format.js';
import { destinationOf } from './destinations.js';

const config = connectorSchema.parse({
  id: 'up',
  type: 'redis-stream',
  url: 'redis://127.0.0.1:6379',
  out: [{ stream: 'site.{device}' }, { stream: 'raw', format: 'raw' }],
});
const routes = config.out as OutRouteConfig[];
const formatter = new OutFormatter(
  {
    hub: 'green"house',
    unitOf: (device, metric) => (device === 'bed1' && metric === 'temperature' ? '°C' : null),
    destination: (route, fields) => destinationOf('redis-stream', route, fields),
  },
  routes,
);

function row(payload: string | Buffer, over: Partial<OutboxEvent> = {}, route = 0): OutboxRow {
  return {
    id: 7,
    route,
    key: 'bed1',
    recordedAt: 1_700_000_000_500,
    destination: null,
    message: null,
    event: {
      id: 41,
      time: Date.UTC(2026, 11, 7, 8, 30, 0, 250),
      topic: 'sensors/bed1/temperature',
      deviceId: 'bed1',
      metric: 'temperature',
      clientId: 'bed1',
      payload,
      qos: 1,
      retain: false,
      ...over,
    },
  };
}

function sent(r: OutboxRow): unknown {
  const message = formatter.message(r);
  if (!message) throw new Error('no message');
  return JSON.parse(message.payload.toString('utf8'));
}

describe('the event format', () => {
  it('carries the stored event: id, hub, sequence, topic, device, metric, value, unit, time, payload', () => {
    const message = formatter.message(row('{"value": 21.5, "seq": 3}'));
    expect(message).toMatchObject({
      rowId: 7,
      eventId: 'green"house:41',
      key: 'bed1',
      destination: 'site.bed1',
    });
    expect(JSON.parse(message?.payload.toString() ?? '')).toEqual({
      id: 'green"house:41',
      hub: 'green"house',
      seq: 41,
      topic: 'sensors/bed1/temperature',
      device: 'bed1',
      metric: 'temperature',
      value: 21.5,
      unit: '°C',
      time: '2026-12-07T08:30:00.250Z',
      payload: { value: 21.5, seq: 3 },
      qos: 1,
      retain: false,
    });
  });

  it('takes the value of an on/off payload, a bare number, and a payload with neither', () => {
    expect(sent(row('{"on":true}'))).toMatchObject({ value: true, payload: { on: true } });
    expect(sent(row('  17 '))).toMatchObject({ value: 17, payload: 17 });
    expect(sent(row('{"mode":"auto"}'))).toMatchObject({
      value: { mode: 'auto' },
      payload: { mode: 'auto' },
    });
    expect(sent(row('null'))).toMatchObject({ value: null, payload: null });
  });

  it('sends text that is not JSON as a string and bytes that are not text in base64', () => {
    expect(sent(row('open "door"\n', { deviceId: null, metric: null }))).toMatchObject({
      device: null,
      metric: null,
      unit: null,
      value: 'open "door"\n',
      payload: 'open "door"\n',
    });
    const bytes = Buffer.from([0xff, 0x00, 0x80]);
    const event = sent(row(bytes)) as Record<string, unknown>;
    expect(event.payload).toBeNull();
    expect(Buffer.from(event.payload_base64 as string, 'base64')).toEqual(bytes);
    expect(sent(row(Buffer.from('plain text')))).toMatchObject({ payload: 'plain text' });
  });

  it('escapes topics and devices that need it, and keeps the retain flag', () => {
    expect(sent(row('1', { topic: 'a/"b"\\c', deviceId: 'd\u2028', retain: true }))).toMatchObject({
      topic: 'a/"b"\\c',
      device: 'd\u2028',
      retain: true,
    });
  });

  it('sends the raw format as the stored bytes, and nothing for an event retention deleted', () => {
    expect(formatter.message(row('{"value":1}', {}, 1))?.payload.toString()).toBe('{"value":1}');
    expect(formatter.message({ ...row('1'), event: null })).toBeUndefined();
  });
});
