import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import type { HubMetrics } from './hub-metrics.js';
import { routeLabel } from './route-label.js';

/**
 * Records each request in `edgehub_http_request_duration_seconds` by method, route pattern and
 * status. Mount it first (`app.use('*', httpMetrics(metrics))`) so the time covers auth too.
 */
export function httpMetrics(metrics: HubMetrics): MiddlewareHandler {
  return async (c, next) => {
    const own = routePath(c);
    const start = process.hrtime.bigint();
    try {
      await next();
    } finally {
      // hono turns a thrown error into a response (c.res) before this runs, 500 unless handled.
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      metrics.observeHttp(c.req.method, routeLabel(c, own), c.res.status, seconds);
    }
  };
}
