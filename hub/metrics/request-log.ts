import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import type { Logger } from '../../kernel/index.js';
import { routeLabel } from './route-label.js';

/**
 * One log line per request: method, route pattern, status and milliseconds. Nothing else from the
 * request is read: not the raw path (its query may carry a token), not the headers (Authorization,
 * Cookie), not the body. 5xx at warn, everything else at info; `hub.log_components: { http: warn }`
 * keeps only the failures (fewer writes to an SD card).
 */
export function requestLog(logger: Logger): MiddlewareHandler {
  return async (c, next) => {
    const own = routePath(c);
    const start = process.hrtime.bigint();
    try {
      await next();
    } finally {
      const ms = Math.round(Number(process.hrtime.bigint() - start) / 1e4) / 100;
      const status = c.res.status;
      const fields = { method: c.req.method, route: routeLabel(c, own), status, ms };
      if (status >= 500) logger.warn('request failed', fields);
      else logger.info('request', fields);
    }
  };
}
