import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HubApi } from './hub-api.js';

let server: Server | undefined;

afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

/** A hub with logins as the CLI meets it: 401 without the bearer token `good`. */
async function hubWithLogins(): Promise<string> {
  server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.headers.authorization !== 'Bearer good') {
      res.statusCode = 401;
      res.end(JSON.stringify({ error: { code: 'AUTH_REQUIRED', message: 'log in or send a token' } }));
      return;
    }
    res.end(JSON.stringify({ connectors: [] }));
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('HubApi against a hub with logins', () => {
  it('sends its token as a bearer token', async () => {
    const api = new HubApi({ url: await hubWithLogins(), token: 'good' });
    expect(await api.get('/api/connectors')).toEqual({ ok: true, body: { connectors: [] } });
  });

  it('says to set EDGEHUB_TOKEN when the hub wants a login and none was given', async () => {
    const result = await new HubApi({ url: await hubWithLogins() }).get('/api/connectors');
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.message).toMatch(/^AUTH_REQUIRED: /);
      expect(result.message).toContain('EDGEHUB_TOKEN');
    }
  });

  it('does not repeat the hint when the token it sent was refused', async () => {
    const result = await new HubApi({ url: await hubWithLogins(), token: 'revoked' }).get('/api/connectors');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message).not.toContain('EDGEHUB_TOKEN');
  });
});
