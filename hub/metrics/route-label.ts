import type { Context } from 'hono';
import { routePath } from 'hono/route';

/** The label of a request no route answered (404s of random paths stay one series). */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * The route pattern that answered (`/api/devices/:id`), read after `next()`; `ownPath` is the
 * calling middleware's own pattern, read before it: still that pattern afterwards means no route
 * answered. The raw path is never used, so label values stay as few as the routes.
 */
export function routeLabel(c: Context, ownPath: string): string {
  const path = routePath(c);
  return path === ownPath ? UNMATCHED_ROUTE : path;
}
