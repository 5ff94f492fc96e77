import type { MiddlewareHandler } from 'hono';
import { HttpProblem } from './problem.js';

/** viewer reads; operator also sends commands and handles alerts; admin also edits rule files. */
export type Role = 'viewer' | 'operator' | 'admin';

export const ROLES: readonly Role[] = ['viewer', 'operator', 'admin'];

/** Who is asking: a logged-in user, a token, or anyone on loopback when the hub has no users. */
export interface Principal {
  readonly user: string | null;
  readonly role: Role;
  readonly auth: 'session' | 'token' | 'none';
  /** The session's id when `auth` is `session`. */
  readonly sessionId?: string;
}

/** What the API's middleware leaves on the context for handlers. */
export interface ApiEnv {
  Variables: {
    principal: Principal;
    /** The parsed JSON body of a request with one; undefined without a body. */
    body: unknown;
  };
}

/** True when `role` may do what `needed` may. */
export function roleCovers(role: Role, needed: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(needed);
}

/**
 * Refuses with 403 `AUTH_FORBIDDEN` a principal below `needed`. Every GET needs viewer and every
 * other method operator already (the app checks that); a route asking more declares it with this.
 */
export function requireRole(needed: Role): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const principal = c.get('principal');
    if (!roleCovers(principal.role, needed))
      throw new HttpProblem(
        403,
        'AUTH_FORBIDDEN',
        `this needs the ${needed} role; ${principal.user ?? 'this token'} has ${principal.role}`,
      );
    await next();
  };
}
