import { errorMessage, type Clock, type Logger } from '../../kernel/index.js';
import {
  isLoopback,
  type AuthRequest,
  type AuthResult,
  type AuthSubject,
  type BrokerAuth,
} from '../broker/index.js';
import { readAclFile, SubjectAcl, type AclTable } from './acl.js';
import { AuthThrottle } from './auth-throttle.js';
import { readPasswordFile, type PasswordTable } from './password-file.js';
import { dummyHash, verifyPassword } from './password-hash.js';

/**
 * Who may connect anonymously (without a username): `loopback` only from this machine (the default,
 * as Mosquitto 2 does when no listener is configured), `true` from anywhere, `false` never.
 */
export type AnonymousPolicy = boolean | 'loopback';

export interface SecurityOptions {
  /** Users and their hashed passwords; without it usernames are not checked (anonymous rules apply). */
  passwordFile: string | undefined;
  /** Topic rules in Mosquitto's format; without it every client may use every topic. */
  aclFile: string | undefined;
  allowAnonymous: AnonymousPolicy;
  /** Refuse a client whose client id differs from its username (one credential per device). */
  clientIdMustMatchUsername: boolean;
  /** First delay after a failed login from an address, ms; doubles with each further failure. */
  authDelayMs: number;
  /** Ceiling of that delay, ms. */
  authDelayMaxMs: number;
}

export interface SecurityDeps {
  options: SecurityOptions;
  clock: Clock;
  logger: Logger;
}

export interface SecurityStats {
  authSucceeded: number;
  authFailed: number;
  anonymousRefused: number;
  /** Addresses currently being slowed down after failed logins. */
  throttledSources: number;
  reloads: number;
  reloadFailures: number;
}

/** How long an address stays slowed down after its last failed login, ms. */
const FORGET_FAILURES_AFTER_MS = 15 * 60_000;
/** Addresses remembered at once (each a few dozen bytes). */
const MAX_THROTTLED_SOURCES = 10_000;

/**
 * The broker's security policy from a password file and an ACL file: authenticates CONNECTs (slow
 * hashes off the event loop, slowing down guessing per source address), and answers publish,
 * subscribe and read checks. {@link reload} re-reads both files; a bad file keeps the running one.
 */
export class Security implements BrokerAuth {
  private passwords: PasswordTable | undefined;
  private acl: AclTable | undefined;
  /** Bumped on every reload, so each subject's compiled rules are rebuilt on next use. */
  private generation = 0;
  private readonly compiled = new WeakMap<AuthSubject, { generation: number; acl: SubjectAcl }>();
  private readonly throttle: AuthThrottle;
  private decoy: Promise<string> | undefined;
  private readonly counters = {
    authSucceeded: 0,
    authFailed: 0,
    anonymousRefused: 0,
    reloads: 0,
    reloadFailures: 0,
  };

  constructor(private readonly deps: SecurityDeps) {
    this.throttle = new AuthThrottle(deps.clock, {
      baseDelayMs: deps.options.authDelayMs,
      maxDelayMs: deps.options.authDelayMaxMs,
      forgetAfterMs: FORGET_FAILURES_AFTER_MS,
      maxSources: MAX_THROTTLED_SOURCES,
    });
  }

  /** Reads the password and ACL files; a missing or invalid file stops start-up with its location. */
  async load(): Promise<void> {
    const { passwordFile, aclFile } = this.deps.options;
    const passwords = passwordFile === undefined ? undefined : await readPasswordFile(passwordFile);
    const acl = aclFile === undefined ? undefined : await readAclFile(aclFile);
    this.passwords = passwords;
    this.acl = acl;
    this.generation++;
    this.deps.logger.info('security loaded', this.summary());
  }

  /**
   * Re-reads both files and swaps them in together; if either is unreadable or invalid, both running
   * ones stay and every problem is logged. Resolves to whether the new files are in force.
   */
  async reload(): Promise<boolean> {
    const { passwordFile, aclFile } = this.deps.options;
    try {
      const passwords = passwordFile === undefined ? undefined : await readPasswordFile(passwordFile);
      const acl = aclFile === undefined ? undefined : await readAclFile(aclFile);
      this.passwords = passwords;
      this.acl = acl;
      this.generation++;
      this.counters.reloads++;
      this.deps.logger.info('security reloaded', this.summary());
      return true;
    } catch (err) {
      this.counters.reloadFailures++;
      this.deps.logger.error('security files not reloaded; the running ones stay in force', {
        error: errorMessage(err),
      });
      return false;
    }
  }

  /**
   * Warnings for a broker listening on `hosts`: anonymous access from the network, or nobody able to
   * connect at all. The hub logs them at start-up.
   */
  exposureWarnings(hosts: readonly string[]): string[] {
    const { allowAnonymous, passwordFile } = this.deps.options;
    const remote = hosts.filter((h) => !isLoopback(h));
    const warnings: string[] = [];
    if (remote.length === 0) return warnings;
    const where = [...new Set(remote)].join(', ');
    if (allowAnonymous === true) {
      warnings.push(
        `listening on ${where} with mqtt.security.allow_anonymous: true: anyone who can reach the hub may connect`,
      );
    } else if (passwordFile === undefined) {
      warnings.push(
        `listening on ${where} without mqtt.security.password_file: clients from other machines will be refused ` +
          '(not authorized); create one with `edgehub passwd FILE USER`, or set allow_anonymous: true',
      );
    }
    return warnings;
  }

  async authenticate(request: AuthRequest): Promise<AuthResult> {
    const { logger } = this.deps;
    const { username, clientId } = request;
    const source = request.remoteAddress ?? 'unknown';
    const waitMs = this.throttle.delayMs(source);
    const checked = await this.check(request);
    if (checked.ok) {
      // A success still waits out the slowdown already earned, so guessing gains no fast answers.
      await this.sleep(`auth slowdown ${source} ${waitMs}ms`, waitMs);
      this.throttle.recordSuccess(source);
      this.counters.authSucceeded++;
      return checked;
    }
    if (checked.kind === 'anonymous') {
      this.counters.anonymousRefused++;
      logger.warn('refused an anonymous client', {
        refused: 'anonymous',
        client: clientId,
        from: source,
        why: checked.reason,
      });
      return checked;
    }
    this.throttle.recordFailure(source);
    this.counters.authFailed++;
    const delayMs = this.throttle.delayMs(source);
    logger.warn('failed login', {
      refused: 'credentials',
      user: username,
      client: clientId,
      from: source,
      why: checked.reason,
      failures: this.throttle.failures(source),
      delayMs,
    });
    await this.sleep(`auth slowdown ${source} ${delayMs}ms`, delayMs);
    return checked;
  }

  mayPublish(subject: AuthSubject, topic: string): boolean {
    return this.rulesFor(subject)?.mayWrite(topic) ?? true;
  }

  maySubscribe(subject: AuthSubject, filter: string): boolean {
    return this.rulesFor(subject)?.maySubscribe(filter) ?? true;
  }

  mayRead(subject: AuthSubject, topic: string): boolean {
    return this.rulesFor(subject)?.mayRead(topic) ?? true;
  }

  stats(): SecurityStats {
    return { ...this.counters, throttledSources: this.throttle.size() };
  }

  private rulesFor(subject: AuthSubject): SubjectAcl | undefined {
    const acl = this.acl;
    if (!acl) return undefined;
    const cached = this.compiled.get(subject);
    if (cached && cached.generation === this.generation) return cached.acl;
    const compiled = new SubjectAcl(acl, subject);
    this.compiled.set(subject, { generation: this.generation, acl: compiled });
    return compiled;
  }

  private async check(request: AuthRequest): Promise<AuthResult> {
    const { allowAnonymous, clientIdMustMatchUsername } = this.deps.options;
    const { username, password, clientId, remoteAddress } = request;
    const subject: AuthSubject = { clientId, username };
    const passwords = this.passwords;
    // Without a password file nobody's credentials can be checked: every client is anonymous as far
    // as admission goes (as in Mosquitto), and a username only names it for the ACL's %u.
    if (username === undefined || passwords === undefined) {
      const allowed = allowAnonymous === true || (allowAnonymous === 'loopback' && isLoopback(remoteAddress));
      if (!allowed) {
        const reason =
          allowAnonymous === false
            ? 'anonymous clients are not allowed (mqtt.security.allow_anonymous: false)'
            : username === undefined
              ? 'no credentials from a remote address; only loopback clients may connect anonymously'
              : 'no password file to check credentials against; only loopback clients may connect';
        return { ok: false, returnCode: 5, kind: 'anonymous', reason };
      }
      if (clientIdMustMatchUsername && username !== undefined && username !== clientId) {
        return { ok: false, returnCode: 2, kind: 'client-id', reason: 'client id differs from username' };
      }
      return { ok: true, subject };
    }
    const stored = passwords.get(username);
    const given = password?.toString('utf8') ?? '';
    // An unknown user costs as much as a known one, so timing does not reveal which users exist.
    const matches = await verifyPassword(given, stored ?? (await this.decoyHash()));
    if (stored === undefined)
      return { ok: false, returnCode: 4, kind: 'unknown-user', reason: 'unknown user' };
    if (!matches) return { ok: false, returnCode: 4, kind: 'bad-credentials', reason: 'wrong password' };
    if (clientIdMustMatchUsername && username !== clientId) {
      return { ok: false, returnCode: 2, kind: 'client-id', reason: 'client id differs from username' };
    }
    return { ok: true, subject };
  }

  private decoyHash(): Promise<string> {
    this.decoy ??= dummyHash();
    return this.decoy;
  }

  private sleep(name: string, ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => this.deps.clock.setTimer(name, ms, resolve));
  }

  private summary(): Record<string, unknown> {
    const { options } = this.deps;
    return {
      passwordFile: options.passwordFile ?? 'none',
      users: this.passwords?.size ?? 0,
      aclFile: options.aclFile ?? 'none (every topic allowed)',
      aclUsers: this.acl?.users.size ?? 0,
      aclPatterns: this.acl?.patterns.length ?? 0,
      allowAnonymous: options.allowAnonymous,
    };
  }
}
