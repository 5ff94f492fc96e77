import { OpenAPIHono } from '@hono/zod-openapi';
import type { Env, Hono, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { getCookie } from 'hono/cookie';
import { HTTPException } from 'hono/http-exception';
import { errorMessage, type Logger } from '../../kernel/index.js';
import { EDGEHUB_VERSION } from '../version.js';
import { roleCovers, type ApiEnv, type Principal } from './api-env.js';
import type { HttpAuth } from './auth/http-auth.js';
import type { HttpApiPorts } from './ports.js';
import { badRequest, HttpProblem } from './problem.js';
import { alertsRoutes } from './routes/alerts.js';
import { authRoutes, SESSION_COOKIE } from './routes/auth.js';
import { connectorsRoutes } from './routes/connectors.js';
import { devicesRoutes } from './routes/devices.js';
import { eventsRoutes } from './routes/events.js';
import { hubInfoRoutes } from './routes/hub-info.js';
import { rulesRoutes } from './routes/rules.js';
import { streamRoutes, type LiveStreamSource } from './routes/stream.js';
import { dashboardRoutes } from './dashboard.js';

/** What other parts of the hub add to the API: `/metrics`, `/api/rule-files`, request counting. */
export interface ApiExtensions {
  /** Run before everything else on every request (request metrics, logs). */
  middleware?: readonly MiddlewareHandler[];
  /** Sub-apps mounted at `path` (behind the same logins, roles and checks as the API's own routes). */
  routes?: readonly {
    path: string;
    app: Hono<ApiEnv> | OpenAPIHono<ApiEnv> | Hono<Env> | OpenAPIHono<Env>;
  }[];
}

export interface ApiAppDeps {
  ports: HttpApiPorts;
  logger: Logger;
  /** Undefined when the hub has no password file: everyone (on loopback) is admin. */
  auth?: HttpAuth;
  /** Bodies larger than this are refused with 413, bytes. */
  maxBodyBytes: number;
  /** Served under TLS: the session cookie is `Secure`. */
  secure: boolean;
  /** The built dashboard (`dist/dashboard`); `/` says how to build it when it is missing. */
  dashboardDir?: string;
  /** Feeds `/api/stream`; without it the stream sends only `hello` and keep-alives. */
  stream?: LiveStreamSource;
  extensions?: ApiExtensions;
}

const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
};

/** Paths behind the logins: the API and the metrics; the dashboard's files and the login are not. */
const PUBLIC_API = new Set(['/api/login']);
/** Changes anyone logged in may make, whatever their role. */
const ANY_ROLE = new Set(['/api/logout']);
const isGuarded = (path: string): boolean =>
  path.startsWith('/api/') || path === '/api' || path === '/metrics';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

const NO_AUTH: Principal = { user: null, role: 'admin', auth: 'none' };

/**
 * The hub's HTTP API as a hono app: every route declared with its zod schemas (so
 * `/api/openapi.json` documents them), logins and roles, CSRF and content-type checks, body limits,
 * security headers on every answer, and `{ error: { code, message } }` for every failure.
 */
export function createApiApp(deps: ApiAppDeps): OpenAPIHono<ApiEnv> {
  const { logger } = deps;
  const app = new OpenAPIHono<ApiEnv>({
    defaultHook: (result) => {
      if (!result.success) throw badRequest(describeIssues(result.error.issues));
    },
  });

  app.use('*', async (c, next) => {
    await next();
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) c.res.headers.set(name, value);
    if (isGuarded(c.req.path) && !c.res.headers.has('cache-control'))
      c.res.headers.set('cache-control', 'no-store');
  });
  for (const m of deps.extensions?.middleware ?? []) app.use('*', m);

  app.onError((err, c) => {
    if (err instanceof HttpProblem) {
      for (const [name, value] of Object.entries(err.headers)) c.header(name, value);
      return c.json({ error: { code: err.code, message: err.message, ...err.extra } }, err.status);
    }
    if (err instanceof HTTPException && err.status < 500)
      return c.json({ error: { code: 'HTTP_BAD_REQUEST', message: err.message } }, err.status);
    logger.error('HTTP request failed', { path: c.req.path, error: errorMessage(err) });
    return c.json({ error: { code: 'INTERNAL', message: 'the request failed; see the hub log' } }, 500);
  });

  app.notFound((c) => {
    const path = c.req.path;
    if (!isGuarded(path))
      return c.json(
        { error: { code: 'HTTP_NOT_FOUND', message: `no such page: ${path}; the API lives under /api/` } },
        404,
      );
    const allowed = allowedMethods(app, path);
    if (allowed.length > 0) {
      c.header('allow', allowed.join(', '));
      return c.json(
        {
          error: {
            code: 'HTTP_METHOD_NOT_ALLOWED',
            message: `${c.req.method} is not allowed here; use ${allowed.join(' or ')}`,
          },
        },
        405,
      );
    }
    return c.json({ error: { code: 'HTTP_NOT_FOUND', message: `no such endpoint: ${path}` } }, 404);
  });

  // A path that is not valid percent-encoding names nothing; say so rather than "not found".
  app.use('*', async (c, next) => {
    const raw = new URL(c.req.url).pathname;
    try {
      decodeURIComponent(raw);
    } catch {
      throw badRequest(`the path ${raw} is not valid percent-encoding`);
    }
    await next();
  });

  app.use('/api/*', identify(deps));
  app.use('/metrics', identify(deps));

  app.use(
    '/api/*',
    bodyLimit({
      maxSize: deps.maxBodyBytes,
      onError: () => {
        throw new HttpProblem(413, 'PAYLOAD_TOO_LARGE', `the body is over ${deps.maxBodyBytes} bytes`);
      },
    }),
  );
  app.use('/api/*', readJsonBody);

  authRoutes(app, { auth: deps.auth, secure: deps.secure });
  rulesRoutes(app, deps.ports);
  eventsRoutes(app, deps.ports);
  devicesRoutes(app, deps.ports);
  alertsRoutes(app, deps.ports);
  connectorsRoutes(app, deps.ports);
  hubInfoRoutes(app, deps.ports);
  streamRoutes(app, deps.stream);
  for (const r of deps.extensions?.routes ?? []) app.route(r.path, r.app as Hono<ApiEnv>);
  app.doc31('/api/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'edgehub',
      version: EDGEHUB_VERSION,
      description:
        'The HTTP API of an edgehub hub. Log in with POST /api/login (a session cookie) or send `Authorization: Bearer <token>` (edgehub token create).',
    },
  });
  dashboardRoutes(app, deps.dashboardDir);
  return app;
}

/**
 * Who is asking (session cookie or bearer token), 401 without either on a guarded path, the role a
 * method needs by default (GET viewer, others operator), and for state-changing requests an Origin
 * matching the host: always when one is sent, and required with a session cookie, since browsers
 * send it and scripts (tokens, loopback without users) do not.
 */
function identify(deps: ApiAppDeps): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const auth = deps.auth;
    const path = c.req.path;
    let principal: Principal | undefined = auth ? undefined : NO_AUTH;
    if (auth) {
      const header = c.req.header('authorization');
      const bearer = header?.match(/^Bearer\s+(\S+)$/i)?.[1];
      if (header !== undefined && bearer === undefined)
        throw new HttpProblem(401, 'AUTH_REQUIRED', 'the Authorization header must be "Bearer <token>"');
      principal = auth.identify(getCookie(c, SESSION_COOKIE), bearer);
    }
    const safe = SAFE_METHODS.has(c.req.method);
    if (!safe)
      checkOrigin(
        c.req.header('origin'),
        hostOf(c.req.header('host'), c.req.url),
        principal?.auth === 'session',
      );
    if (PUBLIC_API.has(path)) {
      c.set('principal', principal ?? { user: null, role: 'viewer', auth: 'none' });
      return next();
    }
    if (!principal)
      throw new HttpProblem(
        401,
        'AUTH_REQUIRED',
        'log in first (POST /api/login) or send Authorization: Bearer <token>',
      );
    const needed = safe || ANY_ROLE.has(path) ? 'viewer' : 'operator';
    if (!roleCovers(principal.role, needed))
      throw new HttpProblem(
        403,
        'AUTH_FORBIDDEN',
        `this needs the ${needed} role; ${principal.user ?? 'this token'} has ${principal.role}`,
      );
    c.set('principal', principal);
    return next();
  };
}

function hostOf(header: string | undefined, url: string): string {
  return (header ?? new URL(url).host).toLowerCase();
}

function checkOrigin(origin: string | undefined, host: string, required: boolean): void {
  if (origin === undefined) {
    if (required)
      throw new HttpProblem(
        403,
        'CSRF_ORIGIN',
        'a change sent with a session cookie must carry the Origin header of this hub',
      );
    return;
  }
  let originHost: string;
  try {
    originHost = new URL(origin).host.toLowerCase();
  } catch {
    originHost = '';
  }
  if (originHost !== host)
    throw new HttpProblem(
      403,
      'CSRF_ORIGIN',
      `the request comes from ${origin}, not from this hub (${host})`,
    );
}

/** A request with a body must send JSON; the parsed body is left on the context as `body`. */
const readJsonBody: MiddlewareHandler<ApiEnv> = async (c, next) => {
  if (SAFE_METHODS.has(c.req.method)) return next();
  const text = await c.req.text();
  if (text.length === 0) {
    c.set('body', undefined);
    return next();
  }
  const type = c.req.header('content-type') ?? '';
  if (!/^application\/([a-z.+-]*\+)?json\s*(;|$)/i.test(type))
    throw new HttpProblem(
      415,
      'HTTP_CONTENT_TYPE',
      `send the body as application/json; got "${type || 'no content type'}"`,
    );
  try {
    c.set('body', JSON.parse(text) as unknown);
  } catch (err) {
    throw badRequest(`the body is not JSON: ${errorMessage(err)}`);
  }
  return next();
};

function describeIssues(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string {
  return issues
    .map((i) => (i.path.length > 0 ? `${i.path.map(String).join('.')}: ${i.message}` : i.message))
    .join('; ');
}

/** Methods that have a route for `path`, for the 405's Allow header. */
function allowedMethods(app: OpenAPIHono<ApiEnv>, path: string): string[] {
  const methods = new Set<string>();
  for (const r of app.routes) {
    if (r.method === 'ALL' || r.path.includes('*')) continue;
    const pattern = new RegExp(
      `^${r.path.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/:[^/]+/g, '[^/]+')}/?$`,
    );
    if (pattern.test(path)) methods.add(r.method);
  }
  return [...methods];
}
