import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EdgehubError, errorMessage } from '../../../kernel/index.js';
import { ROLES, type Role } from '../api-env.js';

/** One API token as stored: its sha256, never the token itself. */
export interface TokenRecord {
  readonly name: string;
  readonly role: Role;
  /** Hex sha256 of the token (tokens are 32 random bytes, so no salt or slow hash is needed). */
  readonly sha256: string;
  /** Epoch ms. */
  readonly createdAt: number;
}

/** The API tokens file inside the hub's data directory. */
export function tokensPath(dataDir: string): string {
  return join(dataDir, 'http-tokens.json');
}

/** Tokens start with this, so a leaked one is recognisable (secret scanners, logs). */
const PREFIX = 'edgehub_';
const TOKEN_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

function hash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * API tokens for scripts and Prometheus, in a JSON file (mode 0600) that `edgehub token` writes and
 * the hub reads again whenever it changed, so a revoked token stops working at once.
 */
export class TokenFile {
  private cached: { mtimeMs: number; size: number; tokens: TokenRecord[] } | undefined;

  constructor(readonly file: string) {}

  list(): TokenRecord[] {
    let st;
    try {
      st = statSync(this.file);
    } catch {
      return [];
    }
    if (this.cached?.mtimeMs === st.mtimeMs && this.cached.size === st.size) return this.cached.tokens;
    const tokens = this.read();
    this.cached = { mtimeMs: st.mtimeMs, size: st.size, tokens };
    return tokens;
  }

  /** The token record `token` belongs to; undefined for an unknown or revoked one. */
  find(token: string): TokenRecord | undefined {
    if (!token.startsWith(PREFIX)) return undefined;
    const digest = Buffer.from(hash(token), 'hex');
    return this.list().find((t) => {
      const stored = Buffer.from(t.sha256, 'hex');
      return stored.length === digest.length && timingSafeEqual(stored, digest);
    });
  }

  /** Makes a token named `name`; returns the token, which is shown once and not kept. */
  create(name: string, role: Role, now: number): string {
    if (!TOKEN_NAME.test(name))
      throw new EdgehubError(
        'USAGE',
        `token name "${name}" may use letters, digits and _ . - only (1 to 64)`,
      );
    if (!ROLES.includes(role))
      throw new EdgehubError('USAGE', `role must be one of ${ROLES.join(', ')}; got "${role}"`);
    const tokens = this.read();
    if (tokens.some((t) => t.name === name))
      throw new EdgehubError(
        'USAGE',
        `a token named "${name}" exists; revoke it first (edgehub token revoke ${name})`,
      );
    const token = PREFIX + randomBytes(32).toString('base64url');
    this.write([...tokens, { name, role, sha256: hash(token), createdAt: now }]);
    return token;
  }

  /** Removes the token named `name`; false when there is none. */
  revoke(name: string): boolean {
    const tokens = this.read();
    const kept = tokens.filter((t) => t.name !== name);
    if (kept.length === tokens.length) return false;
    this.write(kept);
    return true;
  }

  private read(): TokenRecord[] {
    if (!existsSync(this.file)) return [];
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(this.file, 'utf8')) as unknown;
    } catch (err) {
      throw new EdgehubError('USAGE', `cannot read the API tokens file ${this.file}: ${errorMessage(err)}`, {
        cause: err,
      });
    }
    const list = (parsed as { tokens?: unknown } | null)?.tokens;
    if (!Array.isArray(list)) throw new EdgehubError('USAGE', `${this.file} is not an edgehub tokens file`);
    return list.filter(
      (t): t is TokenRecord =>
        typeof t === 'object' &&
        t !== null &&
        typeof (t as TokenRecord).name === 'string' &&
        typeof (t as TokenRecord).sha256 === 'string' &&
        ROLES.includes((t as TokenRecord).role),
    );
  }

  /** Write a sibling, then rename: the hub never reads half a file. */
  private write(tokens: readonly TokenRecord[]): void {
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify({ tokens }, null, 2) + '\n', { mode: 0o600 });
    renameSync(tmp, this.file);
    this.cached = undefined;
  }
}
