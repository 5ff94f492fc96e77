import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { serveStatic } from '@hono/node-server/serve-static';
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { ApiEnv } from './api-env.js';

/** Hashed names never change content: a year, immutable. */
const IMMUTABLE = 'public, max-age=31536000, immutable';

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>edgehub</title></head>
<body><h1>edgehub</h1><p>The dashboard is not built. Run <code>npm run build</code> in the edgehub folder
and reload this page. The API answers under <a href="/api/openapi.json">/api/</a>.</p></body></html>
`;

const isApi = (path: string): boolean => path === '/api' || path.startsWith('/api/') || path === '/metrics';

/**
 * The dashboard's files from `dir` (`dist/dashboard`): `/assets/…` with their `.br`/`.gz` siblings
 * as the browser accepts, cached for a year; any other page a browser asks for gets `index.html`
 * (the app routes in the browser), never cached, so a new build is picked up on reload.
 */
export function dashboardRoutes(app: OpenAPIHono<ApiEnv>, dir: string | undefined): void {
  const index = dir === undefined ? undefined : join(dir, 'index.html');
  if (dir !== undefined)
    app.get(
      '/assets/*',
      serveStatic({
        root: dir,
        precompressed: true,
        onFound: (_path, c) => {
          c.header('cache-control', IMMUTABLE);
        },
      }),
    );
  app.get('*', async (c, next) => {
    const path = c.req.path;
    if (isApi(path) || path.startsWith('/assets/')) return next();
    const wantsPage = path === '/' || (c.req.header('accept') ?? '').includes('text/html');
    if (!wantsPage) return next();
    c.header('cache-control', 'no-cache');
    if (index === undefined || !existsSync(index)) return c.html(NOT_BUILT, 200);
    // Read on each request: small, and a rebuild needs no restart.
    return c.html(readFileSync(index, 'utf8'), 200);
  });
}
