import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import type { HubMetrics } from './hub-metrics.js';
import { routeLabel } from './route-label.js';

/**
 * Records each request in `edgehub_http_request_duration_seconds` by method, route pattern and
 * status. Mount it first (`app.use('*', httpMetrics(metrics))`) so the time covers auth too.
 */
export function httpMetrics(
  metrics: HubMetrics,
  /** Monotonic time in ms (a fake one in tests). */
  nowMs: () => number = () => performance.now(),
): MiddlewareHandler {
  return async (c, next) => {
    const own = routePath(c);
    const start = nowMs();
    try {
      await next();
    } finally {
      // hono turns a thrown error into a response (c.res) before this runs, 500 unless handled.
      const seconds = (nowMs() - start) / 1000;
      metrics.observeHttp(c.req.method, routeLabel(c, own), c.res.status, seconds);
    }
  };
}
