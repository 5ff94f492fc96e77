import { randomBytes } from 'node:crypto';
import type { Clock } from '../../../kernel/index.js';
import type { Role } from '../api-env.js';

export interface Session {
  readonly id: string;
  readonly user: string;
  readonly role: Role;
  /** Epoch ms on the hub clock. */
  readonly createdAt: number;
  lastUsedAt: number;
}

export interface SessionLimits {
  /** A session unused for this long ends, ms. */
  idleMs: number;
  /** A session ends this long after login however busy, ms. */
  absoluteMs: number;
  /** Sessions kept at once; the least recently used ends first. */
  maxSessions: number;
}

/**
 * Logins kept in memory (a restart logs everyone out): a random id per session, given to the
 * browser as its cookie; expiry is checked on the hub clock whenever a session is used.
 */
export class SessionStore {
  /** In least-recently-used order: a used session is moved to the end. */
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly clock: Clock,
    private readonly limits: SessionLimits,
  ) {}

  create(user: string, role: Role): Session {
    const now = this.clock.now();
    const session: Session = {
      id: randomBytes(32).toString('base64url'),
      user,
      role,
      createdAt: now,
      lastUsedAt: now,
    };
    this.sessions.set(session.id, session);
    while (this.sessions.size > this.limits.maxSessions) {
      const oldest = this.sessions.keys().next();
      if (oldest.done === true) break;
      this.sessions.delete(oldest.value);
    }
    return session;
  }

  /** The live session under `id`, now marked used; undefined (and forgotten) when it expired. */
  use(id: string): Session | undefined {
    const session = this.sessions.get(id);
    if (!session) return undefined;
    const now = this.clock.now();
    if (now - session.lastUsedAt >= this.limits.idleMs || now - session.createdAt >= this.limits.absoluteMs) {
      this.sessions.delete(id);
      return undefined;
    }
    session.lastUsedAt = now;
    this.sessions.delete(id);
    this.sessions.set(id, session);
    return session;
  }

  end(id: string): void {
    this.sessions.delete(id);
  }

  /** Ends every session of users no longer in `keep` (after the password file changed). */
  retain(keep: (user: string, role: Role) => boolean): void {
    for (const [id, s] of this.sessions) if (!keep(s.user, s.role)) this.sessions.delete(id);
  }

  size(): number {
    return this.sessions.size;
  }
}
