import type { IncomingMessage } from 'node:http';
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { deleteCookie, setCookie } from 'hono/cookie';
import { ROLES, type ApiEnv } from '../api-env.js';
import type { HttpAuth } from '../auth/http-auth.js';
import { failures, HttpProblem, json } from '../problem.js';

/** The session cookie's name. */
export const SESSION_COOKIE = 'edgehub_session';

const role = z.enum(ROLES as ['viewer', 'operator', 'admin']);

const login = createRoute({
  method: 'post',
  path: '/api/login',
  tags: ['auth'],
  summary: 'Logs in with a user of the password file; sets the session cookie',
  request: {
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z.object({ user: z.string().min(1).max(256), password: z.string().max(1024) }).strict(),
        },
      },
    },
  },
  responses: {
    200: json(z.object({ user: z.string(), role }), 'logged in'),
    ...failures(400, 401, 403, 415, 429),
  },
});

const logout = createRoute({
  method: 'post',
  path: '/api/logout',
  tags: ['auth'],
  summary: 'Ends the session',
  responses: { 204: { description: 'logged out' } },
});

const me = createRoute({
  method: 'get',
  path: '/api/me',
  tags: ['auth'],
  summary: 'Who this request is: user, role and how it authenticated',
  responses: {
    200: json(
      z.object({ user: z.string().nullable(), role, auth: z.enum(['session', 'token', 'none']) }),
      'the caller',
    ),
  },
});

/** The client's address, for throttling; `unknown` when the request came without a socket (tests). */
export function remoteAddress(c: Context): string {
  const env = c.env as { incoming?: IncomingMessage } | undefined;
  return env?.incoming?.socket.remoteAddress ?? 'unknown';
}

/** `/api/login`, `/api/logout` and `/api/me`. */
export function authRoutes(
  app: OpenAPIHono<ApiEnv>,
  deps: { auth: HttpAuth | undefined; secure: boolean },
): void {
  const { auth, secure } = deps;

  app.openapi(login, async (c) => {
    const { user, password } = c.req.valid('json');
    if (!auth)
      throw new HttpProblem(
        409,
        'AUTH_DISABLED',
        'this hub has no password file, so there is nothing to log in to (set http.password_file or mqtt.security.password_file)',
      );
    const result = await auth.login(user, password, remoteAddress(c));
    if (!result.ok) {
      if (result.reason === 'throttled')
        throw new HttpProblem(
          429,
          'AUTH_THROTTLED',
          'too many failed logins from this address; wait and try again',
          {},
          { 'retry-after': String(Math.ceil(result.retryAfterMs / 1000)) },
        );
      throw new HttpProblem(401, 'AUTH_FAILED', 'wrong user or password');
    }
    setCookie(c, SESSION_COOKIE, result.session.id, {
      httpOnly: true,
      sameSite: 'Strict',
      path: '/',
      secure,
    });
    return c.json({ user: result.session.user, role: result.session.role }, 200);
  });

  app.openapi(logout, (c) => {
    const { sessionId } = c.get('principal');
    if (sessionId !== undefined) auth?.logout(sessionId);
    deleteCookie(c, SESSION_COOKIE, { path: '/', secure, httpOnly: true, sameSite: 'Strict' });
    return c.body(null, 204);
  });

  app.openapi(me, (c) => {
    const { user, role: r, auth: how } = c.get('principal');
    return c.json({ user, role: r, auth: how }, 200);
  });
}
