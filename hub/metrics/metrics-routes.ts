import { Hono } from 'hono';
import type { HubMetrics } from './hub-metrics.js';

/**
 * `GET /metrics` in Prometheus text format, as a sub-app to mount behind the HTTP API's auth
 * (`app.route('/', metricsRoutes(metrics))`); Prometheus authenticates with an API token.
 */
export function metricsRoutes(metrics: HubMetrics): Hono {
  const app = new Hono();
  app.get('/metrics', async (c) => {
    const text = await metrics.text();
    return c.body(text, 200, { 'content-type': metrics.contentType, 'cache-control': 'no-store' });
  });
  return app;
}
