import type { Clock, Logger } from '../../../kernel/index.js';
import { AuthThrottle, readPasswordFile, verifyPassword, type PasswordTable } from '../../security/index.js';
import type { Principal, Role } from '../api-env.js';
import { SessionStore, type Session, type SessionLimits } from './session-store.js';
import { TokenFile } from './token-file.js';

export interface HttpAuthOptions {
  /** `user:hash` lines (edgehub passwd, Mosquitto's formats). */
  passwordFile: string;
  /** Role by user; viewer for a user not named. */
  roles: Readonly<Record<string, Role>>;
  /** Where `edgehub token` keeps the API tokens. */
  tokensFile: string;
  sessions: Omit<SessionLimits, 'maxSessions'> & { maxSessions?: number };
  /** Failed logins from one address: wait this long after the first, doubling (ms), up to the max. */
  throttle: { baseDelayMs: number; maxDelayMs: number };
}

export interface HttpAuthDeps {
  options: HttpAuthOptions;
  clock: Clock;
  logger: Logger;
}

export type LoginResult =
  | { ok: true; session: Session }
  | { ok: false; reason: 'throttled'; retryAfterMs: number }
  | { ok: false; reason: 'failed' };

const FORGET_FAILURES_AFTER_MS = 15 * 60_000;
const MAX_THROTTLED_SOURCES = 10_000;
const MAX_SESSIONS = 1_000;

/**
 * Logins to the HTTP API: users from a password file, roles from the config, server-side
 * sessions, API tokens, and the same slowdown of password guessing as the broker's.
 */
export class HttpAuth {
  private passwords: PasswordTable = new Map();
  private readonly sessions: SessionStore;
  private readonly tokens: TokenFile;
  private readonly throttle: AuthThrottle;
  /** When a source may try again, epoch ms; only sources with a failure are here. */
  private readonly retryAt = new Map<string, number>();

  constructor(private readonly deps: HttpAuthDeps) {
    const { options, clock } = deps;
    this.sessions = new SessionStore(clock, { maxSessions: MAX_SESSIONS, ...options.sessions });
    this.tokens = new TokenFile(options.tokensFile);
    this.throttle = new AuthThrottle(clock, {
      ...options.throttle,
      forgetAfterMs: FORGET_FAILURES_AFTER_MS,
      maxSources: MAX_THROTTLED_SOURCES,
    });
  }

  /** Reads the password file; `PASSWORD_FILE_INVALID` with its location when it cannot be used. */
  async load(): Promise<void> {
    this.passwords = await readPasswordFile(this.deps.options.passwordFile);
    // A user removed from the file, or given another role, logs in again.
    this.sessions.retain((user, role) => this.passwords.has(user) && this.roleOf(user) === role);
    this.deps.logger.info('HTTP logins loaded', {
      passwordFile: this.deps.options.passwordFile,
      users: this.passwords.size,
    });
  }

  roleOf(user: string): Role {
    return this.deps.options.roles[user] ?? 'viewer';
  }

  /**
   * Checks a password. A source that failed must wait (1 s doubling per failure, as MQTT logins):
   * a try before then is answered `throttled` without checking anything.
   */
  async login(user: string, password: string, source: string): Promise<LoginResult> {
    const now = this.deps.clock.now();
    const due = this.retryAt.get(source);
    if (due !== undefined && this.throttle.failures(source) > 0 && now < due)
      return { ok: false, reason: 'throttled', retryAfterMs: due - now };
    const stored = this.passwords.get(user);
    // An unknown user costs a hash check too, so timing does not tell which users exist.
    const matches = await verifyPassword(password, stored ?? UNUSABLE_HASH);
    if (stored === undefined || !matches) {
      this.throttle.recordFailure(source);
      const delayMs = this.throttle.delayMs(source);
      this.retryAt.set(source, this.deps.clock.now() + delayMs);
      if (this.retryAt.size > MAX_THROTTLED_SOURCES) {
        const oldest = this.retryAt.keys().next();
        if (oldest.done !== true) this.retryAt.delete(oldest.value);
      }
      this.deps.logger.warn('failed HTTP login', {
        user,
        from: source,
        why: stored === undefined ? 'unknown user' : 'wrong password',
        failures: this.throttle.failures(source),
        delayMs,
      });
      return { ok: false, reason: 'failed' };
    }
    this.throttle.recordSuccess(source);
    this.retryAt.delete(source);
    return { ok: true, session: this.sessions.create(user, this.roleOf(user)) };
  }

  logout(sessionId: string): void {
    this.sessions.end(sessionId);
  }

  /** Who a session cookie or bearer token belongs to; undefined when neither is valid. */
  identify(sessionId: string | undefined, bearer: string | undefined): Principal | undefined {
    if (bearer !== undefined) {
      const token = this.tokens.find(bearer);
      return token ? { user: token.name, role: token.role, auth: 'token' } : undefined;
    }
    if (sessionId === undefined) return undefined;
    const session = this.sessions.use(sessionId);
    return session
      ? { user: session.user, role: session.role, auth: 'session', sessionId: session.id }
      : undefined;
  }
}

/**
 * A well-formed scrypt line no password matches (an all-zero key), checked for unknown users so
 * they cost as much as known ones; `N=16384` as `edgehub passwd` writes.
 */
const UNUSABLE_HASH = `$scrypt$N=16384,r=8,p=1$${Buffer.alloc(16).toString('base64')}$${Buffer.alloc(32).toString('base64')}`;
