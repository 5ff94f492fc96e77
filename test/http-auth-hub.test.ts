import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { configSchema, Hub } from '../hub/index.js';
import { hashPassword } from '../hub/security/index.js';
import { MemoryLogger } from '../kernel/index.js';
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
  return { hub, logger };
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

  it('refuses a non-loopback http.host without a password file (HTTP_UNPROTECTED), and warns on loopback', async () => {
    const open = await hubWith({ host: '0.0.0.0' }, false);
    await expect(open.hub.start()).rejects.toMatchObject({ code: 'HTTP_UNPROTECTED' });
    const local = await hubWith({}, false);
    await local.hub.start();
    expect(local.logger.entries.some((e) => e.level === 'warn' && e.msg.includes('no logins'))).toBe(true);
    const me = await fetch(`http://127.0.0.1:${local.hub.http?.address?.port ?? 0}/api/me`);
    expect(await me.json()).toEqual({ user: null, role: 'admin', auth: 'none' });
  });
});
