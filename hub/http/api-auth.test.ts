import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryLogger, VirtualClock } from '../../kernel/index.js';
import { hashPassword } from '../security/index.js';
import { createApiApp } from './api-app.js';
import { HttpAuth } from './auth/http-auth.js';
import { TokenFile } from './auth/token-file.js';
import type { HttpApiPorts } from './ports.js';

const T0 = Date.UTC(2026, 2, 1, 12);
const MIN = 60_000;
/** Cheap scrypt for tests; the format is what `edgehub passwd` writes. */
const FAST = { N: 1024, r: 8, p: 1 };

let dir: string;
let clock: VirtualClock;
let tokens: TokenFile;
let commands: [string, unknown][];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'edgehub-http-auth-'));
  clock = new VirtualClock(T0);
  const lines = await Promise.all(
    ['ada', 'otto', 'vera'].map(async (u) => `${u}:${await hashPassword(`${u}-secret`, FAST)}`),
  );
  writeFileSync(join(dir, 'passwd'), lines.join('\n') + '\n');
  tokens = new TokenFile(join(dir, 'tokens.json'));
  commands = [];
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

function ports(): HttpApiPorts {
  return {
    rules: () => [],
    rulesStatus: () => undefined,
    traces: undefined,
    devices: {
      get: (id) =>
        id === 'gh-1' ? { id, status: 'online', lastSeen: T0, state: {}, updatedAt: {} } : undefined,
      list: () => [{ id: 'gh-1', status: 'online', lastSeen: T0, state: {}, updatedAt: {} }],
    },
    command: (id, set) => {
      commands.push([id, set]);
      return Promise.resolve({ accepted: true });
    },
    postEvent: () => undefined,
    health: () => ({}),
    now: () => clock.now(),
  };
}

async function app(secure = false) {
  const auth = new HttpAuth({
    options: {
      passwordFile: join(dir, 'passwd'),
      roles: { ada: 'admin', otto: 'operator' },
      tokensFile: tokens.file,
      sessions: { idleMs: 30 * MIN, absoluteMs: 120 * MIN },
      throttle: { baseDelayMs: 1000, maxDelayMs: 30_000 },
    },
    clock,
    logger: new MemoryLogger(),
  });
  await auth.load();
  return createApiApp({ ports: ports(), logger: new MemoryLogger(), auth, maxBodyBytes: 1024, secure });
}

type App = Awaited<ReturnType<typeof app>>;
const ORIGIN = 'http://hub.local:8080';
const HOST = 'hub.local:8080';

async function login(a: App, user: string, password = `${user}-secret`) {
  const res = await a.request('/api/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: ORIGIN, host: HOST },
    body: JSON.stringify({ user, password }),
  });
  const cookie = res.headers.get('set-cookie') ?? '';
  return { res, cookie, session: cookie.split(';')[0] ?? '' };
}

function send(
  a: App,
  path: string,
  init: { method?: string; cookie?: string; body?: unknown; headers?: Record<string, string> } = {},
) {
  return a.request(path, {
    method: init.method ?? 'GET',
    headers: {
      host: HOST,
      ...(init.cookie !== undefined && { cookie: init.cookie }),
      ...(init.body !== undefined && { 'content-type': 'application/json', origin: ORIGIN }),
      ...init.headers,
    },
    ...(init.body !== undefined && { body: JSON.stringify(init.body) }),
  });
}

const code = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;

describe('logins', () => {
  it('answers 401 AUTH_REQUIRED without a session or token, on every API route', async () => {
    const a = await app();
    for (const path of ['/api/devices', '/api/me', '/api/openapi.json', '/api/nothing', '/api/stream']) {
      const res = await send(a, path);
      expect([path, res.status, await code(res)]).toEqual([path, 401, 'AUTH_REQUIRED']);
    }
    expect((await send(a, '/')).status).toBe(200);
  });

  it('logs in with an HttpOnly, SameSite=Strict session cookie, Secure only under TLS', async () => {
    const a = await app();
    const { res, cookie, session } = await login(a, 'otto');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ user: 'otto', role: 'operator' });
    expect(cookie).toMatch(/^edgehub_session=[\w-]{43}; Path=\/; HttpOnly; SameSite=Strict$/);
    expect(await (await send(a, '/api/me', { cookie: session })).json()).toEqual({
      user: 'otto',
      role: 'operator',
      auth: 'session',
    });
    const secure = await login(await app(true), 'otto');
    expect(secure.cookie).toMatch(/; Secure/);
  });

  it('refuses a wrong password or unknown user with 401 AUTH_FAILED', async () => {
    const a = await app();
    expect(await code((await login(a, 'otto', 'nope')).res)).toBe('AUTH_FAILED');
    clock.advance(60_000);
    expect(await code((await login(a, 'nobody', 'x')).res)).toBe('AUTH_FAILED');
  });

  it('throttles failed logins per address: 429 AUTH_THROTTLED until the delay passed, doubling', async () => {
    const a = await app();
    expect((await login(a, 'otto', 'wrong')).res.status).toBe(401);
    const throttled = (await login(a, 'otto')).res;
    expect(throttled.status).toBe(429);
    expect(await code(throttled)).toBe('AUTH_THROTTLED');
    expect(throttled.headers.get('retry-after')).toBe('1');
    clock.advance(1000);
    expect((await login(a, 'otto', 'wrong again')).res.status).toBe(401);
    clock.advance(1000);
    expect((await login(a, 'otto')).res.status).toBe(429);
    clock.advance(1000);
    expect((await login(a, 'otto')).res.status).toBe(200);
  });

  it('ends a session after the idle time, and after the absolute time however busy', async () => {
    const a = await app();
    const { session } = await login(a, 'vera');
    clock.advance(29 * MIN);
    expect((await send(a, '/api/devices', { cookie: session })).status).toBe(200);
    clock.advance(30 * MIN);
    expect(await code(await send(a, '/api/devices', { cookie: session }))).toBe('AUTH_REQUIRED');

    const busy = (await login(a, 'vera')).session;
    for (let t = 0; t < 100; t += 20) {
      clock.advance(20 * MIN);
      expect((await send(a, '/api/devices', { cookie: busy })).status).toBe(200);
    }
    clock.advance(20 * MIN);
    expect((await send(a, '/api/devices', { cookie: busy })).status).toBe(401);
  });

  it('logs out: the cookie no longer works', async () => {
    const a = await app();
    const { session } = await login(a, 'vera');
    const out = await send(a, '/api/logout', {
      method: 'POST',
      cookie: session,
      headers: { origin: ORIGIN },
    });
    expect(out.status).toBe(204);
    expect((await send(a, '/api/me', { cookie: session })).status).toBe(401);
  });
});

describe('roles and CSRF', () => {
  it('answers 403 AUTH_FORBIDDEN for a role too low, and lets the operator command', async () => {
    const a = await app();
    const viewer = (await login(a, 'vera')).session;
    const operator = (await login(a, 'otto')).session;
    const body = { set: { fan: true } };
    const refused = await send(a, '/api/devices/gh-1/commands', { method: 'POST', cookie: viewer, body });
    expect([refused.status, await code(refused)]).toEqual([403, 'AUTH_FORBIDDEN']);
    const alert = await send(a, '/api/alerts/x/acknowledge', { method: 'POST', cookie: viewer, body: {} });
    expect(alert.status).toBe(403);
    const sent = await send(a, '/api/devices/gh-1/commands', { method: 'POST', cookie: operator, body });
    expect([sent.status, await sent.json()]).toEqual([200, { accepted: true }]);
    expect(commands).toEqual([['gh-1', { fan: true }]]);
  });

  it('refuses a change with a session cookie and a missing or foreign Origin: 403 CSRF_ORIGIN', async () => {
    const a = await app();
    const operator = (await login(a, 'otto')).session;
    const body = JSON.stringify({ set: { fan: true } });
    for (const origin of [undefined, 'http://evil.example', 'null']) {
      const res = await a.request('/api/devices/gh-1/commands', {
        method: 'POST',
        headers: {
          host: HOST,
          cookie: operator,
          'content-type': 'application/json',
          ...(origin !== undefined && { origin }),
        },
        body,
      });
      expect([origin, res.status, await code(res)]).toEqual([origin, 403, 'CSRF_ORIGIN']);
    }
    expect(commands).toEqual([]);
  });

  it('refuses a body that is not application/json: 415 HTTP_CONTENT_TYPE', async () => {
    const a = await app();
    const operator = (await login(a, 'otto')).session;
    const res = await a.request('/api/devices/gh-1/commands', {
      method: 'POST',
      headers: { host: HOST, cookie: operator, origin: ORIGIN, 'content-type': 'text/plain' },
      body: '{"set":{"fan":true}}',
    });
    expect([res.status, await code(res)]).toEqual([415, 'HTTP_CONTENT_TYPE']);
  });
});

describe('API tokens', () => {
  it('authenticate with Authorization: Bearer, stored hashed, and stop working once revoked', async () => {
    const a = await app();
    const token = tokens.create('prometheus', 'viewer', T0);
    expect(JSON.stringify(tokens.list())).not.toContain(token);
    const bearer = { authorization: `Bearer ${token}` };
    expect(await (await send(a, '/api/me', { headers: bearer })).json()).toEqual({
      user: 'prometheus',
      role: 'viewer',
      auth: 'token',
    });
    // A token is no cookie: no Origin needed, but its role still counts.
    const post = await a.request('/api/devices/gh-1/commands', {
      method: 'POST',
      headers: { ...bearer, 'content-type': 'application/json' },
      body: '{"set":{"fan":true}}',
    });
    expect(await code(post)).toBe('AUTH_FORBIDDEN');
    expect(tokens.revoke('prometheus')).toBe(true);
    expect((await send(a, '/api/me', { headers: bearer })).status).toBe(401);
    expect((await send(a, '/api/me', { headers: { authorization: 'Bearer edgehub_guess' } })).status).toBe(
      401,
    );
  });
});
