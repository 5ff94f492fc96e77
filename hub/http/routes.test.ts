import { describe, expect, it } from 'vitest';
import { EdgehubError } from '../../kernel/index.js';
import type { ConnectorStatus } from '../connectors/index.js';
import type { DeadLetter } from '../store/index.js';
import { MemoryLogger } from '../../kernel/index.js';
import { createApiApp } from './api-app.js';
import type { ConnectorControl, HttpApiPorts } from './ports.js';

const NOW = Date.parse('2026-03-01T12:00:00Z');

const STATUS: ConnectorStatus = {
  id: 'up',
  type: 'mqtt',
  state: 'connected',
  since: new Date(NOW).toISOString(),
  lastError: null,
  nextAttemptAt: null,
  backlog: 0,
  backlogAgeMs: null,
  inFlight: 0,
  matched: 3,
  delivered: 3,
  deliveredPerSec: 0,
  dropped: 0,
  dead: 1,
  deadLettered: 1,
  resent: 0,
  received: 0,
  refused: 0,
};

const DEAD: DeadLetter = {
  id: 7,
  route: 0,
  key: 't1',
  eventId: 42,
  recordedAt: NOW - 5000,
  reason: 'too large',
  failedAt: NOW - 4000,
};

/** Ports with one connector `up`; records what replay and revive were asked. */
function connectorPorts(running = true) {
  const calls: unknown[][] = [];
  const control: ConnectorControl = {
    list: () => [STATUS],
    status: (id) => (id === 'up' ? STATUS : undefined),
    replay: (id, sinceMs) => {
      calls.push(['replay', id, sinceMs]);
      return Promise.resolve(5);
    },
    revive: (id, ids) => {
      calls.push(['revive', id, ids]);
      return Promise.resolve(ids.length === 0 ? 1 : ids.length);
    },
  };
  const limits: number[] = [];
  const ports: HttpApiPorts = {
    rules: () => [],
    rulesStatus: () => undefined,
    traces: undefined,
    devices: { get: () => undefined, list: () => [] },
    postEvent: () => undefined,
    health: () => ({}),
    connectors: {
      running: () => (running ? control : undefined),
      dead: (_id, limit) => {
        limits.push(limit);
        return [DEAD];
      },
      now: () => NOW,
    },
  };
  return { ports, calls, limits, control };
}

/** A request through the hono app, without a socket: status and JSON body. */
async function call(
  ports: HttpApiPorts,
  method: string,
  path: string,
  body?: unknown,
  query = '',
  logger = new MemoryLogger(),
) {
  const app = createApiApp({ ports, logger, maxBodyBytes: 64 * 1024, secure: false });
  const res = await app.request(`/api/${path}${query === '' ? '' : `?${query}`}`, {
    method,
    ...(body !== undefined && {
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
    }),
  });
  const reply = { status: res.status, body: await res.json() };
  const allow = res.headers.get('allow');
  return { ...reply, ...(allow !== null && { headers: { allow } }) };
}

describe('connector routes', () => {
  it('lists the connectors, one of them, and its dead letters', async () => {
    const { ports, limits } = connectorPorts();
    expect(await call(ports, 'GET', 'connectors')).toEqual({ status: 200, body: { connectors: [STATUS] } });
    expect(await call(ports, 'GET', 'connectors/up')).toEqual({ status: 200, body: STATUS });
    expect(await call(ports, 'GET', 'connectors/up/dead')).toEqual({ status: 200, body: { dead: [DEAD] } });
    await call(ports, 'GET', 'connectors/up/dead', undefined, 'limit=5');
    expect(limits).toEqual([100, 5]);
    expect((await call(ports, 'GET', 'connectors/up/dead', undefined, 'limit=0')).status).toBe(400);
  });

  it('answers an empty list without connectors, and 404 CONNECTOR_UNKNOWN for any id', async () => {
    const { ports } = connectorPorts(false);
    expect(await call(ports, 'GET', 'connectors')).toEqual({ status: 200, body: { connectors: [] } });
    const { connectors: _none, ...withoutPorts } = ports;
    expect(await call(withoutPorts, 'GET', 'connectors')).toEqual({ status: 200, body: { connectors: [] } });
    for (const [method, path] of [
      ['GET', 'connectors/up'],
      ['GET', 'connectors/up/dead'],
      ['POST', 'connectors/up/replay'],
      ['POST', 'connectors/up/dead/retry'],
    ] as const) {
      expect(await call(ports, method, path, method === 'GET' ? undefined : { since: '1h' })).toMatchObject({
        status: 404,
        body: { error: { code: 'CONNECTOR_UNKNOWN' } },
      });
    }
    const known = connectorPorts();
    expect(await call(known.ports, 'GET', 'connectors/nope')).toEqual({
      status: 404,
      body: { error: { code: 'CONNECTOR_UNKNOWN', message: 'no connector "nope" is configured' } },
    });
  });

  it('replays since a duration on the hub clock or since epoch ms', async () => {
    const { ports, calls } = connectorPorts();
    expect(await call(ports, 'POST', 'connectors/up/replay', { since: '1h' })).toEqual({
      status: 200,
      body: { replayed: 5 },
    });
    await call(ports, 'POST', 'connectors/up/replay', { since_ms: 1000 });
    expect(calls).toEqual([
      ['replay', 'up', NOW - 3_600_000],
      ['replay', 'up', 1000],
    ]);
  });

  it('refuses a replay without exactly one valid since', async () => {
    const { ports, calls } = connectorPorts();
    for (const body of [
      undefined,
      [],
      'since',
      {},
      { since: '1h', since_ms: 5 },
      { since: 'yesterday' },
      { since: 60 },
      { since_ms: -1 },
      { since_ms: '1000' },
    ]) {
      const reply = await call(ports, 'POST', 'connectors/up/replay', body);
      expect(reply, JSON.stringify(body)).toMatchObject({
        status: 400,
        body: { error: { code: 'HTTP_BAD_REQUEST' } },
      });
    }
    expect(calls).toEqual([]);
  });

  it('revives all dead letters without a body, or the ids given', async () => {
    const { ports, calls } = connectorPorts();
    expect(await call(ports, 'POST', 'connectors/up/dead/retry')).toEqual({
      status: 200,
      body: { revived: 1 },
    });
    expect(await call(ports, 'POST', 'connectors/up/dead/retry', { ids: [7, 9] })).toEqual({
      status: 200,
      body: { revived: 2 },
    });
    for (const body of [{ ids: [0] }, { ids: 'all' }, { ids: [1.5] }, [7]]) {
      expect((await call(ports, 'POST', 'connectors/up/dead/retry', body)).status).toBe(400);
    }
    expect(calls).toEqual([
      ['revive', 'up', []],
      ['revive', 'up', [7, 9]],
    ]);
  });

  it('answers 405 with Allow for the wrong method', async () => {
    const { ports } = connectorPorts();
    expect(await call(ports, 'GET', 'connectors/up/replay')).toMatchObject({
      status: 405,
      headers: { allow: 'POST' },
    });
    expect((await call(ports, 'POST', 'connectors')).status).toBe(405);
  });

  it('turns a connector that went away mid-request into a 404, and other failures into a logged 500', async () => {
    const { ports, control } = connectorPorts();
    control.replay = () => Promise.reject(new EdgehubError('CONNECTOR_UNKNOWN', 'gone'));
    expect((await call(ports, 'POST', 'connectors/up/replay', { since: '1h' })).status).toBe(404);
    control.replay = () => Promise.reject(new EdgehubError('STORE_WRITE_FAILED', 'disk full'));
    const logger = new MemoryLogger();
    const failed = await call(ports, 'POST', 'connectors/up/replay', { since: '1h' }, '', logger);
    expect(failed).toMatchObject({ status: 500, body: { error: { code: 'INTERNAL' } } });
    expect(JSON.stringify(logger.entries.filter((e) => e.level === 'error'))).toContain('disk full');
  });
});
