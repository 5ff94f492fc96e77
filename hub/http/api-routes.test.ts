import { describe, expect, it } from 'vitest';
import { MemoryLogger, type DeviceView } from '../../kernel/index.js';
import type { AlertRecord } from '../../rules/index.js';
import type { EventQuery, StoredEvent } from '../store/index.js';
import { createApiApp } from './api-app.js';
import type { HttpApiPorts } from './ports.js';

const T0 = Date.UTC(2026, 2, 1, 12);

function alert(key: string, active: boolean, raisedAt: number): AlertRecord {
  return {
    key,
    severity: 'major',
    message: key,
    active,
    count: 1,
    source: 'rule:x',
    raisedAt,
    lastRaisedAt: raisedAt,
    clearedAt: active ? null : raisedAt + 1,
    acknowledgedAt: null,
  };
}

function rig(overrides: Partial<HttpApiPorts> = {}, withStore = true) {
  const views: DeviceView[] = ['b', 'a', 'c', 'seen'].map((id) => ({
    id,
    status: id === 'c' ? 'offline' : 'online',
    lastSeen: T0,
    state: id === 'seen' ? { watts: 5 } : { temperature: 21 },
    updatedAt: { temperature: T0 - 10 * 60_000 },
  }));
  const events: StoredEvent[] = Array.from({ length: 5 }, (_, i) => ({
    id: i + 1,
    time: T0 + i * 1000,
    clientId: 'c',
    topic: `sensors/a/temperature`,
    deviceId: 'a',
    metric: 'temperature',
    payload: i === 4 ? Buffer.from([0xff]) : { value: 20 + i },
    qos: 0,
    retain: false,
  }));
  const queries: EventQuery[] = [];
  const alerts = [alert('old', false, T0 - 5000), alert('new', false, T0), alert('on/fire', true, T0 - 9000)];
  const ports: HttpApiPorts = {
    rules: () => [],
    rulesStatus: () => undefined,
    traces: undefined,
    devices: { get: (id) => views.find((v) => v.id === id), list: () => views },
    definitions: () => [
      {
        id: 'a',
        name: 'Greenhouse A',
        adapter: 'mqtt',
        convention: 'edgehub',
        base: 'zigbee2mqtt',
        stale_after: '5m',
        sensors: [{ metric: 'temperature', kind: 'temperature', unit: '°C' }],
        actuators: [{ name: 'fan', kind: 'switch' }],
      } as never,
    ],
    command: (_id, set) =>
      Promise.resolve(
        set.fan === true ? { accepted: false, reason: 'min_off: off for 10s of 5m' } : { accepted: true },
      ),
    events: {
      query: (q = {}) => {
        queries.push(q);
        const sorted = [...events].sort((x, y) => y.time - x.time);
        const after = q.before;
        const kept = after ? sorted.filter((e) => e.time < after.time) : sorted;
        return kept.slice(0, q.limit);
      },
      history: () => [],
      latest: () => [],
      downsample: (q) => [{ t: q.since, min: 1, max: 2, avg: 1.5, n: 2 }],
    },
    alerts: {
      list: () => alerts,
      acknowledge: (key) => Promise.resolve(alerts.find((a) => a.key === key) ?? null),
      clear: (key) => Promise.resolve(alerts.find((a) => a.key === key && a.active) ?? null),
    },
    postEvent: () => undefined,
    health: () => ({}),
    now: () => T0,
    ...overrides,
  };
  if (!withStore) delete ports.events;
  const app = createApiApp({ ports, logger: new MemoryLogger(), maxBodyBytes: 256, secure: false });
  const get = async (path: string) => {
    const res = await app.request(path);
    return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
  };
  const post = async (path: string, body: unknown) => {
    const res = await app.request(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  return { app, get, post, queries };
}

describe('devices', () => {
  it('lists devices by id in pages: exact page, cursor past the end, status filter', async () => {
    const { get } = rig();
    const first = await get('/api/devices?limit=2');
    expect((first.body.devices as { id: string }[]).map((d) => d.id)).toEqual(['a', 'b']);
    const second = await get(`/api/devices?limit=2&cursor=${String(first.body.next)}`);
    expect((second.body.devices as { id: string }[]).map((d) => d.id)).toEqual(['c', 'seen']);
    expect(second.body.next).toBeNull();
    const exact = await get('/api/devices?limit=4');
    expect([(exact.body.devices as unknown[]).length, exact.body.next]).toEqual([4, null]);
    expect(await get('/api/devices?status=offline')).toMatchObject({
      body: { devices: [{ id: 'c' }], next: null },
    });
    expect(await get('/api/devices?status=stale')).toMatchObject({ body: { devices: [], next: null } });
  });

  it('shows the definition beside the live view; a device only seen has no actuators', async () => {
    const { get } = rig();
    expect((await get('/api/devices/a')).body).toEqual({
      id: 'a',
      name: 'Greenhouse A',
      status: 'online',
      lastSeen: T0,
      state: { temperature: 21 },
      updatedAt: { temperature: T0 - 600_000 },
      sensors: [{ metric: 'temperature', kind: 'temperature', unit: '°C', stale: true }],
      actuators: [{ name: 'fan', kind: 'switch' }],
      defined: true,
    });
    expect((await get('/api/devices/seen')).body).toMatchObject({
      defined: false,
      sensors: [{ metric: 'watts', kind: 'generic', unit: null, stale: false }],
      actuators: [],
    });
    expect(await get('/api/devices/nope')).toMatchObject({
      status: 404,
      body: { error: { code: 'DEVICE_UNKNOWN' } },
    });
  });

  it("sends commands and returns the safety envelope's refusal as 409 COMMAND_REFUSED", async () => {
    const { post } = rig();
    expect(await post('/api/devices/a/commands', { set: { fan: false } })).toEqual({
      status: 200,
      body: { accepted: true },
    });
    expect(await post('/api/devices/a/commands', { set: { fan: true } })).toEqual({
      status: 409,
      body: { error: { code: 'COMMAND_REFUSED', message: 'min_off: off for 10s of 5m' } },
    });
    expect(await post('/api/devices/nope/commands', { set: { fan: true } })).toMatchObject({ status: 404 });
    for (const bad of [{}, { set: {} }, { set: { fan: true }, extra: 1 }, []]) {
      expect(await post('/api/devices/a/commands', bad)).toMatchObject({
        status: 400,
        body: { error: { code: 'HTTP_BAD_REQUEST' } },
      });
    }
  });
});

describe('events and history', () => {
  it('pages events newest first by cursor, shows non-UTF-8 payloads as base64, and filters', async () => {
    const { get, queries } = rig();
    const first = await get('/api/events?limit=2&device=a&since=1h');
    const events = first.body.events as { id: number; payload: unknown }[];
    expect(events.map((e) => e.id)).toEqual([5, 4]);
    expect(events[0]?.payload).toEqual({ base64: '/w==' });
    expect(queries[0]).toMatchObject({ device: 'a', since: T0 - 3_600_000, limit: 3 });
    const rest = await get(`/api/events?limit=3&cursor=${String(first.body.next)}`);
    expect([(rest.body.events as { id: number }[]).map((e) => e.id), rest.body.next]).toEqual([
      [3, 2, 1],
      null,
    ]);
    const end = Buffer.from(JSON.stringify([T0, 1])).toString('base64url');
    expect((await get(`/api/events?cursor=${end}`)).body).toEqual({ events: [], next: null });
    expect((await get('/api/events?cursor=garbage')).status).toBe(400);
    expect((await get('/api/events?topic=a/%23/b')).status).toBe(400);
    expect((await get('/api/events?since=yesterday')).status).toBe(400);
  });

  it('answers an empty page, and 503 STORE_DISABLED without a store', async () => {
    const { get } = rig({
      events: { query: () => [], history: () => [], latest: () => [], downsample: () => [] },
    });
    expect((await get('/api/events')).body).toEqual({ events: [], next: null });
    const none = rig({}, false);
    expect(await none.get('/api/events')).toMatchObject({
      status: 503,
      body: { error: { code: 'STORE_DISABLED' } },
    });
  });

  it('downsamples a range into buckets sized by points', async () => {
    const { get } = rig();
    const res = await get(
      `/api/history?device=a&metric=temperature&since=${T0 - 1000}&until=${T0 - 1}&points=10`,
    );
    expect(res.body).toEqual({
      device: 'a',
      metric: 'temperature',
      since: T0 - 1000,
      until: T0 - 1,
      bucketMs: 100,
      points: [{ t: T0 - 1000, min: 1, max: 2, avg: 1.5, n: 2 }],
    });
    expect((await get('/api/history?device=a&metric=t')).body).toMatchObject({
      since: T0 - 86_400_000,
      until: T0,
    });
    for (const q of ['metric=t', 'device=a&metric=t&points=9', 'device=a&metric=t&since=2h&until=3h'])
      expect((await get(`/api/history?${q}`)).status, q).toBe(400);
  });
});

describe('alerts', () => {
  it('lists active first, then newest, in pages; acknowledges and clears by encoded key', async () => {
    const { get, post } = rig();
    const page = await get('/api/alerts?limit=2');
    expect((page.body.alerts as { key: string }[]).map((a) => a.key)).toEqual(['on/fire', 'new']);
    const rest = await get(`/api/alerts?limit=2&cursor=${String(page.body.next)}`);
    expect([(rest.body.alerts as { key: string }[]).map((a) => a.key), rest.body.next]).toEqual([
      ['old'],
      null,
    ]);
    expect((await get('/api/alerts?active=true')).body.alerts).toHaveLength(1);
    const key = encodeURIComponent('on/fire');
    expect(await post(`/api/alerts/${key}/acknowledge`, {})).toMatchObject({
      status: 200,
      body: { alert: { key: 'on/fire' } },
    });
    expect(await post(`/api/alerts/${key}/clear`, {})).toMatchObject({
      status: 200,
      body: { alert: { key: 'on/fire' } },
    });
    expect(await post('/api/alerts/old/clear', {})).toMatchObject({
      status: 404,
      body: { error: { code: 'ALERT_UNKNOWN' } },
    });
  });
});

describe('every answer', () => {
  it('carries the security headers, and failures are { error: { code, message } }', async () => {
    const { app, get, post } = rig();
    const res = await app.request('/api/nothing');
    expect(res.headers.get('content-security-policy')).toMatch(
      /^default-src 'self'; script-src 'self';.*frame-ancestors 'none'$/,
    );
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('cross-origin-opener-policy')).toBe('same-origin');
    expect(await res.json()).toEqual({
      error: { code: 'HTTP_NOT_FOUND', message: 'no such endpoint: /api/nothing' },
    });
    const wrong = await app.request('/api/devices', { method: 'DELETE' });
    expect([wrong.status, wrong.headers.get('allow')]).toEqual([405, 'GET']);
    expect(await post('/api/events/x', 'x'.repeat(300))).toMatchObject({
      status: 413,
      body: { error: { code: 'PAYLOAD_TOO_LARGE' } },
    });
    expect(await get('/api/devices?limit=501')).toMatchObject({
      status: 400,
      body: { error: { code: 'HTTP_BAD_REQUEST' } },
    });
    expect(await get('/api/me')).toMatchObject({ body: { user: null, role: 'admin', auth: 'none' } });
  });

  it('serves the OpenAPI 3.1 document naming every route', async () => {
    const { get } = rig();
    const doc = (await get('/api/openapi.json')).body as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/api/devices',
        '/api/devices/{id}/commands',
        '/api/events',
        '/api/history',
        '/api/stream',
        '/api/login',
      ]),
    );
  });

  it('says the dashboard is not built when its index.html is missing', async () => {
    const { app } = rig();
    const res = await app.request('/', { headers: { accept: 'text/html' } });
    expect([res.status, res.headers.get('cache-control')]).toEqual([200, 'no-cache']);
    expect(await res.text()).toContain('npm run build');
  });
});
