import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { parsePrometheusText, sampleValue } from '../../test/support/prometheus-text.js';
import { HubMetrics, type MetricsSources } from './hub-metrics.js';
import { httpMetrics } from './http-metrics.js';
import { metricsRoutes } from './metrics-routes.js';
import { UNMATCHED_ROUTE } from './route-label.js';

const idle: MetricsSources = {
  broker: () => ({ published: 0, clients: 0, connections: 0 }),
  subscriptions: () => 0,
  rules: () => [],
  actuators: () => undefined,
  devices: () => [],
};

function appWith(metrics: HubMetrics): Hono {
  const app = new Hono();
  app.use('*', httpMetrics(metrics));
  app.get('/api/devices/:id', (c) =>
    c.req.param('id') === 'gone' ? c.json({ error: { code: 'DEVICE_UNKNOWN' } }, 404) : c.json({}),
  );
  app.get('/api/boom', () => {
    throw new Error('boom');
  });
  app.route('/', metricsRoutes(metrics));
  // As the API answers an unexpected error (hono's default also prints it to stderr).
  app.onError((_err, c) => c.json({ error: { code: 'INTERNAL', message: 'internal error' } }, 500));
  return app;
}

async function scrape(app: Hono): Promise<ReturnType<typeof parsePrometheusText>> {
  const res = await app.request('/metrics');
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parsePrometheusText(await res.text());
}

const COUNT = 'edgehub_http_request_duration_seconds_count';

describe('HTTP metrics', () => {
  it('counts requests by route pattern and status, one series for every id', async () => {
    const metrics = new HubMetrics({ sources: idle, processMetrics: false });
    const app = appWith(metrics);
    expect((await app.request('/api/devices/gh-1')).status).toBe(200);
    expect((await app.request('/api/devices/gh-2')).status).toBe(200);
    expect((await app.request('/api/devices/gone')).status).toBe(404);

    const { samples, types } = await scrape(app);
    expect(types.get('edgehub_http_request_duration_seconds')).toBe('histogram');
    const route = '/api/devices/:id';
    expect(sampleValue(samples, COUNT, { method: 'GET', route, status: '200' })).toBe(2);
    expect(sampleValue(samples, COUNT, { method: 'GET', route, status: '404' })).toBe(1);
    // No raw path (no device id) becomes a label value.
    const routes = new Set(samples.filter((s) => s.name === COUNT).map((s) => s.labels['route']));
    expect([...routes].some((r) => r?.includes('gh-'))).toBe(false);
  });

  it('puts every path no route answers under one label, and a thrown error under 500', async () => {
    const metrics = new HubMetrics({ sources: idle, processMetrics: false });
    const app = appWith(metrics);
    for (const path of ['/nope', '/api/x/1', '/api/x/2?token=secret']) {
      expect((await app.request(path)).status).toBe(404);
    }
    expect((await app.request('/api/boom')).status).toBe(500);

    const { samples } = await scrape(app);
    expect(sampleValue(samples, COUNT, { route: UNMATCHED_ROUTE, status: '404' })).toBe(3);
    expect(sampleValue(samples, COUNT, { route: '/api/boom', status: '500' })).toBe(1);
    expect(samples.filter((s) => s.name === COUNT).length).toBe(2);
  });

  it('records the duration in seconds', async () => {
    const metrics = new HubMetrics({ sources: idle, processMetrics: false });
    // A fake monotonic clock that the handler moves on by 20 ms, as a slow handler takes.
    let nowMs = 1000;
    const app = new Hono();
    app.use(
      '*',
      httpMetrics(metrics, () => nowMs),
    );
    app.get('/slow', (c) => {
      nowMs += 20;
      return c.text('ok');
    });
    await app.request('/slow');
    const { samples } = parsePrometheusText(await metrics.text());
    const seconds = sampleValue(samples, 'edgehub_http_request_duration_seconds_sum', { route: '/slow' });
    expect(seconds).toBeCloseTo(0.02, 9);
  });
});
