import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { connect } from 'node:tls';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { configSchema, Hub } from '../hub/index.js';
import { hashPassword } from '../hub/security/index.js';
import { MemoryLogger } from '../kernel/index.js';
import { requireOpenssl, selfSignedCert } from './support/certs.js';
import { TempDirs } from './support/temp.js';

const temp = new TempDirs();
const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
  temp.cleanup();
});

async function hubWith(http: Record<string, unknown>, withUsers = true) {
  const root = temp.make('edgehub-http-auth-');
  const passwd = join(root, 'passwd');
  writeFileSync(passwd, `otto:${await hashPassword('s3cret', { N: 1024, r: 8, p: 1 })}\n`);
  const config = configSchema.parse({
    hub: { data_dir: join(root, 'data'), log_level: 'error' },
    mqtt: { port: 0, ws_port: null, ...(withUsers && { security: { password_file: passwd } }) },
    http: { port: 0, users: { otto: 'operator' }, ...http },
    devices: [{ id: 'gh-1', sensors: [{ metric: 'temperature', unit: '°C', kind: 'temperature' }] }],
  });
  const logger = new MemoryLogger();
  const hub = new Hub({ config, logger });
  stops.push(() => hub.stop());
  return { hub, logger, passwd };
}

/** Logs in over the socket; the session cookie, or the status when refused. */
async function logIn(
  base: string,
  user: string,
  password: string,
): Promise<{ status: number; cookie: string }> {
  const res = await fetch(`${base}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: base },
    body: JSON.stringify({ user, password }),
  });
  return { status: res.status, cookie: (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '' };
}

describe('the hub with logins', () => {
  it('logs in over a real socket with the MQTT password file and reads the devices', async () => {
    const { hub } = await hubWith({});
    await hub.start();
    const base = `http://127.0.0.1:${hub.http?.address?.port ?? 0}`;
    expect((await fetch(`${base}/api/devices`)).status).toBe(401);
    const login = await fetch(`${base}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: base },
      body: JSON.stringify({ user: 'otto', password: 's3cret' }),
    });
    expect(await login.json()).toEqual({ user: 'otto', role: 'operator' });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    const devices = (await (await fetch(`${base}/api/devices`, { headers: { cookie } })).json()) as {
      devices: { id: string; defined: boolean }[];
    };
    expect(devices.devices).toEqual([expect.objectContaining({ id: 'gh-1', defined: true })]);
  });

  it('takes users added to the password file at the next reload (SIGHUP), and ends the sessions of users removed', async () => {
    const { hub, logger, passwd } = await hubWith({});
    await hub.start();
    const base = `http://127.0.0.1:${hub.http?.address?.port ?? 0}`;
    const otto = await logIn(base, 'otto', 's3cret');
    expect(otto.status).toBe(200);

    // ada is added, otto removed, as `edgehub passwd` would; the hub is told to reload.
    writeFileSync(passwd, `ada:${await hashPassword('n3w-pass', { N: 1024, r: 8, p: 1 })}\n`);
    expect(await hub.reload()).toBe(true);
    const ada = await logIn(base, 'ada', 'n3w-pass');
    expect(ada.status).toBe(200);
    expect((await fetch(`${base}/api/me`, { headers: { cookie: ada.cookie } })).status).toBe(200);
    expect((await fetch(`${base}/api/me`, { headers: { cookie: otto.cookie } })).status).toBe(401);

    // A broken file is refused, and the logins in force stay.
    writeFileSync(passwd, 'not a password line\n');
    expect(await hub.reload()).toBe(false);
    expect(
      logger.entries.some((e) => e.msg === 'HTTP logins not reloaded; the running ones stay in force'),
    ).toBe(true);
    expect((await fetch(`${base}/api/me`, { headers: { cookie: ada.cookie } })).status).toBe(200);
  });

  it('refuses a non-loopback http.host without a password file (HTTP_UNPROTECTED), and warns on loopback', async () => {
    const open = await hubWith({ host: '0.0.0.0' }, false);
    await expect(open.hub.start()).rejects.toMatchObject({ code: 'HTTP_UNPROTECTED' });
    const local = await hubWith({}, false);
    await local.hub.start();
    expect(local.logger.entries.some((e) => e.level === 'warn' && e.msg.includes('no logins'))).toBe(true);
    const me = await fetch(`http://127.0.0.1:${local.hub.http?.address?.port ?? 0}/api/me`);
    expect(await me.json()).toEqual({ user: null, role: 'admin', auth: 'none' });
  });

  it('serves the API over TLS with the certificate settings MQTT takes, and its session cookie is Secure', async () => {
    requireOpenssl();
    const certDir = temp.make('edgehub-http-tls-');
    const certs = selfSignedCert(certDir, 'server');
    const { hub, logger } = await hubWith({ tls: { cert: certs.cert, key: certs.key } });
    await hub.start();
    const port = hub.http?.address?.port ?? 0;
    // Plain HTTP on the TLS port gets no answer from the API.
    await expect(fetch(`http://127.0.0.1:${port}/api/me`)).rejects.toThrow();
    const origin = `https://localhost:${port}`;
    const body = JSON.stringify({ user: 'otto', password: 's3cret' });
    const answer = await new Promise<{ status: number; cookie: string; text: string }>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path: '/api/login',
          method: 'POST',
          servername: 'localhost',
          ca: readFileSync(certs.cert),
          headers: { 'content-type': 'application/json', origin, host: `localhost:${port}` },
        },
        (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, cookie: String(res.headers['set-cookie'] ?? ''), text }),
          );
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toEqual({ user: 'otto', role: 'operator' });
    expect(answer.cookie).toMatch(/edgehub_session=[^;]+;.*Secure/i);
    expect(answer.cookie).toMatch(/HttpOnly/i);
    expect(answer.cookie).toMatch(/SameSite=Strict/i);

    // A renewed certificate in the same files is served after the next reload (SIGHUP).
    const served = () =>
      new Promise<string>((resolve, reject) => {
        const socket = connect(
          { host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false },
          () => {
            resolve(socket.getPeerCertificate().fingerprint256);
            socket.end();
          },
        );
        socket.on('error', reject);
      });
    const before = await served();
    selfSignedCert(certDir, 'server');
    expect(await hub.reload()).toBe(true);
    expect(logger.entries.some((e) => e.scope === 'http' && e.msg === 'TLS certificate reloaded')).toBe(true);
    expect(await served()).not.toBe(before);
  });
});
