import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { MemoryLogger } from '../../kernel/index.js';
import { requestLog } from './request-log.js';
import { UNMATCHED_ROUTE } from './route-label.js';

const SECRETS = ['cookie-value-5f3a', 'bearer-token-91cc', 'query-token-77de', 'body-password-0b1e'];

function appWith(logger: MemoryLogger): Hono {
  const app = new Hono();
  app.use('*', requestLog(logger.child('http')));
  app.post('/api/devices/:id/commands', async (c) => c.json(await c.req.json(), 200));
  app.get('/api/fail', () => {
    throw new Error('down');
  });
  // As the API answers an unexpected error (hono's default also prints it to stderr).
  app.onError((_err, c) => c.json({ error: { code: 'INTERNAL', message: 'internal error' } }, 500));
  return app;
}

describe('the request log', () => {
  it('gives method, route pattern, status and ms, and nothing of headers, query or body', async () => {
    const logger = new MemoryLogger();
    const app = appWith(logger);
    const res = await app.request(`/api/devices/gh-1/commands?token=${SECRETS[2]}`, {
      method: 'POST',
      headers: {
        cookie: `edgehub_session=${SECRETS[0]}`,
        authorization: `Bearer ${SECRETS[1]}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ password: SECRETS[3] }),
    });
    expect(res.status).toBe(200);

    expect(logger.entries).toHaveLength(1);
    const [entry] = logger.entries;
    expect(entry).toMatchObject({
      level: 'info',
      scope: 'http',
      fields: { method: 'POST', route: '/api/devices/:id/commands', status: 200 },
    });
    expect(typeof entry?.fields?.['ms']).toBe('number');
    const logged = JSON.stringify(logger.entries);
    for (const secret of SECRETS) expect(logged).not.toContain(secret);
    expect(logged).not.toContain('gh-1');
  });

  it('logs a failed request at warn and an unknown path as unmatched, without the path', async () => {
    const logger = new MemoryLogger();
    const app = appWith(logger);
    expect((await app.request('/api/fail')).status).toBe(500);
    expect((await app.request(`/reset?token=${SECRETS[2]}`)).status).toBe(404);
    expect(logger.entries.map((e) => [e.level, e.fields?.['route'], e.fields?.['status']])).toEqual([
      ['warn', '/api/fail', 500],
      ['info', UNMATCHED_ROUTE, 404],
    ]);
    expect(JSON.stringify(logger.entries)).not.toContain(SECRETS[2]);
  });
});
