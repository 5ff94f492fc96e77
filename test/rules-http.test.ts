import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { configSchema, Hub } from '../hub/index.js';
import { HttpApi, type HttpApiPorts } from '../hub/http/index.js';
import { MemoryLogger, type DeviceView } from '../kernel/index.js';
import type { RuleStats, RulesStatus } from '../rules/index.js';
import { ClientPool, nextMessage } from './support/mqtt-client.js';
import { TempDirs, writeFiles } from './support/temp.js';

const temp = new TempDirs();
const pool = new ClientPool();
const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  await pool.closeAll();
  for (const stop of stops.splice(0).reverse()) await stop();
  temp.cleanup();
});

const STATUS: RulesStatus = {
  ok: false,
  rules: 1,
  errors: [
    {
      code: 'RULE_INVALID',
      file: 'r.yaml',
      line: 3,
      col: 5,
      path: 'rules[0].then',
      message: 'missing required key "then"',
    },
  ],
  warnings: [],
  at: 1000,
};

function fakePorts(overrides: Partial<HttpApiPorts> = {}) {
  const posted: [string, unknown][] = [];
  const stats: RuleStats[] = [
    {
      id: 'fan',
      enabled: true,
      triggered: 3,
      fired: 2,
      blocked: 1,
      errors: 0,
      lastRunAt: 5,
    } as unknown as RuleStats,
  ];
  const devices: DeviceView[] = [
    { id: 'gh-1', status: 'online', lastSeen: 1, state: { temperature: 21 }, updatedAt: {} },
  ];
  const ports: HttpApiPorts = {
    rules: () => stats,
    rulesStatus: () => STATUS,
    traces: undefined,
    memoryTrace: (id) =>
      id === 'fan'
        ? { fired: [{ ruleId: 'fan', startedAt: 2 }], blocked: [{ ruleId: 'fan', startedAt: 3 }], errors: [] }
        : undefined,
    devices: { get: (id) => devices.find((d) => d.id === id), list: () => devices },
    postEvent: (name, data) => posted.push([name, data]),
    health: () => ({ uptimeMs: 7 }),
    ...overrides,
  };
  return { ports, posted };
}

async function serve(ports: HttpApiPorts, maxBodyBytes?: number) {
  const api = new HttpApi({
    host: '127.0.0.1',
    port: 0,
    logger: new MemoryLogger(),
    ports,
    ...(maxBodyBytes !== undefined && { maxBodyBytes }),
  });
  await api.start();
  stops.push(() => api.stop());
  const base = `http://127.0.0.1:${api.address?.port ?? 0}`;
  const call = async (method: string, path: string, body?: string) => {
    const res = await fetch(base + path, {
      method,
      ...(body !== undefined && { body, headers: { 'content-type': 'application/json' } }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
  };
  return { api, call };
}

describe('HTTP API', () => {
  it('posts events to the rules and answers rules, reload errors, traces, devices and health', async () => {
    const { ports, posted } = fakePorts();
    const { call } = await serve(ports);
    expect(await call('POST', '/api/events/door-open', '{"by":"button"}')).toMatchObject({
      status: 202,
      body: { accepted: true, event: 'door-open' },
    });
    expect((await call('POST', '/api/events/ping')).status).toBe(202);
    expect(posted).toEqual([
      ['door-open', { by: 'button' }],
      ['ping', null],
    ]);
    expect((await call('GET', '/api/rules')).body).toMatchObject({
      rules: [{ id: 'fan', fired: 2 }],
      status: { ok: false, errors: 1, warnings: 0 },
    });
    expect((await call('GET', '/api/rules/errors')).body).toEqual(STATUS);
    const trace = await call('GET', '/api/rules/fan/trace?outcome=blocked');
    expect(trace.body).toEqual({
      rule: 'fan',
      loaded: true,
      runs: [{ run: { ruleId: 'fan', startedAt: 3 } }],
    });
    expect((await call('GET', '/api/rules/fan/trace')).body.runs).toHaveLength(2);
    expect((await call('GET', '/api/devices')).body).toMatchObject({
      devices: [{ id: 'gh-1', status: 'online' }],
    });
    expect((await call('GET', '/api/health')).body).toEqual({ ok: true, uptimeMs: 7 });
  });

  it('answers bad input with 4xx and a JSON error naming what is wrong, and keeps serving', async () => {
    const { ports, posted } = fakePorts({
      devices: {
        get: () => undefined,
        list: () => {
          throw new Error('registry exploded');
        },
      },
    });
    const { call } = await serve(ports, 100);
    const cases: [string, string, string | undefined, number, RegExp][] = [
      ['POST', '/api/events/door-open', '{"by": ', 400, /^the body is not JSON/],
      ['POST', '/api/events/door%20open', '{}', 400, /^event name "door open" may use/],
      ['POST', '/api/events/alert.raised', '{}', 400, /raised by the hub itself/],
      ['POST', '/api/events/big', JSON.stringify({ x: 'y'.repeat(200) }), 413, /over 100 bytes/],
      ['POST', '/api/events/%E0%A4%A', undefined, 400, /percent-encoding/],
      [
        'GET',
        '/api/rules/fan/trace?outcome=maybe',
        undefined,
        400,
        /outcome must be one of fired, blocked, error; got "maybe"/,
      ],
      ['GET', '/api/rules/fan/trace?limit=0', undefined, 400, /limit must be a whole number from 1 to 500/],
      ['GET', '/api/rules/nope/trace', undefined, 404, /no rule "nope" is loaded/],
      ['GET', '/api/nothing', undefined, 404, /no such endpoint: \/api\/nothing/],
      ['GET', '/index.html', undefined, 404, /the API lives under \/api\//],
      ['GET', '/api/events/door-open', undefined, 405, /GET is not allowed here; use POST/],
      ['GET', '/api/devices', undefined, 500, /the request failed/],
    ];
    for (const [method, path, body, status, message] of cases) {
      const res = await call(method, path, body);
      expect([path, res.status]).toEqual([path, status]);
      expect((res.body.error as { message: string }).message).toMatch(message);
    }
    expect((await call('GET', '/api/events/x')).headers.get('allow')).toBe('POST');
    expect(posted).toEqual([]);
    expect((await call('GET', '/api/health')).status).toBe(200);
  });

  it('refuses to start on a taken port with LISTEN_FAILED', async () => {
    const { api } = await serve(fakePorts().ports);
    const second = new HttpApi({
      host: '127.0.0.1',
      port: api.address?.port ?? 0,
      logger: new MemoryLogger(),
      ports: fakePorts().ports,
    });
    await expect(second.start()).rejects.toMatchObject({ code: 'LISTEN_FAILED' });
  });
});

describe('the hub with the HTTP API and stored traces', () => {
  it('runs event rules posted over HTTP, stores their traces and publishes reload errors', async () => {
    const root = temp.make('edgehub-http-hub-');
    const rulesDir = join(root, 'rules');
    mkdirSync(rulesDir);
    writeFiles(rulesDir, {
      'door.yaml': [
        'rules:',
        '  - id: door',
        '    when: { event: door-open }',
        '    if: payload.by != "cat"',
        '    then: [{ publish: { topic: "alarm/door", payload: "{{ payload.by }}" } }]',
      ].join('\n'),
    });
    const config = configSchema.parse({
      hub: { data_dir: join(root, 'data'), rules_dir: rulesDir, log_level: 'error' },
      mqtt: { port: 0, ws_port: null },
      http: { port: 0 },
    });
    const hub = new Hub({ config, logger: new MemoryLogger() });
    await hub.start();
    stops.push(() => hub.stop());
    const base = `http://127.0.0.1:${hub.http?.address?.port ?? 0}`;
    const client = await pool.connect(`mqtt://127.0.0.1:${hub.broker.mqttAddress?.port ?? 0}`);
    const status = nextMessage(client, 'edgehub/rules/status');
    const alarm = nextMessage(client, 'alarm/door');
    await client.subscribeAsync(['edgehub/rules/status', 'alarm/door']);
    expect(JSON.parse((await status).payload.toString())).toMatchObject({ ok: true, rules: 1, errors: [] });

    for (const by of ['cat', 'postman']) {
      const res = await fetch(`${base}/api/events/door-open`, {
        method: 'POST',
        body: JSON.stringify({ by }),
        headers: { 'content-type': 'application/json' },
      });
      expect(res.status).toBe(202);
    }
    expect((await alarm).payload.toString()).toBe('postman');
    await hub.rules.whenIdle();
    const trace = (await (await fetch(`${base}/api/rules/door/trace`)).json()) as {
      runs: { outcome: string; run: { trigger: { kind: string } } }[];
    };
    expect(trace.runs.map((r) => [r.outcome, r.run.trigger.kind])).toEqual([
      ['fired', 'event'],
      ['blocked', 'event'],
    ]);

    const rejected = nextMessage(client, 'edgehub/rules/status', (p) => p.toString().includes('"ok":false'));
    writeFiles(rulesDir, { 'broken.yaml': 'rules:\n  - id: broken\n    when: { event: x }\n' });
    await hub.reloadRules();
    const published = JSON.parse((await rejected).payload.toString()) as RulesStatus;
    const errors = (await (await fetch(`${base}/api/rules/errors`)).json()) as RulesStatus;
    for (const s of [published, errors]) {
      expect(s).toMatchObject({ ok: false, rules: 1 });
      expect(s.errors[0]).toMatchObject({
        code: 'RULE_INVALID',
        file: join(rulesDir, 'broken.yaml'),
        line: 2,
        col: 5,
        path: 'rules[0].then',
      });
    }
  });
});
