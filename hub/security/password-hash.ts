import { createHash, pbkdf2, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/** scrypt cost parameters, stored in each password line so they can be raised without breaking old lines. */
export interface ScryptParams {
  /** CPU/memory cost, a power of two; memory use is 128·N·r bytes (16 MiB at the default). */
  N: number;
  r: number;
  p: number;
}

export const DEFAULT_SCRYPT: Readonly<ScryptParams> = Object.freeze({ N: 16384, r: 8, p: 1 });

/** Bytes of random salt and of derived key. */
const SALT_BYTES = 16;
const KEY_BYTES = 32;

/** Mosquitto 2's `$7$` lines: PBKDF2-HMAC-SHA512, accepted so an existing password file keeps working. */
const PBKDF2_KEY_BYTES = 64;

function scryptAsync(password: string, salt: Buffer, keylen: number, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    // Runs on libuv's thread pool, so verifying a password never blocks the event loop.
    scrypt(password, salt, keylen, opts, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

function pbkdf2Async(password: string, salt: Buffer, iterations: number, keylen: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    pbkdf2(password, salt, iterations, keylen, 'sha512', (err, key) => (err ? reject(err) : resolve(key))),
  );
}

function scryptOptions(params: ScryptParams): ScryptOptions {
  // Node refuses parameters needing more than `maxmem`; allow twice what they need.
  return { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r };
}

/** Hashes a password into `$scrypt$N=16384,r=8,p=1$<salt base64>$<hash base64>`. */
export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await scryptAsync(password, salt, KEY_BYTES, scryptOptions(params));
  return `$scrypt$N=${params.N},r=${params.r},p=${params.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** Why a stored hash cannot be used, or null when its format is understood. */
export function hashFormatProblem(encoded: string): string | null {
  const parts = encoded.split('$');
  switch (parts[1]) {
    case 'scrypt': {
      if (parts.length !== 5) return 'expected $scrypt$N=..,r=..,p=..$salt$hash';
      const params = parseScryptParams(parts[2] ?? '');
      if (!params) return 'bad scrypt parameters; expected N=<power of two>,r=<n>,p=<n>';
      return null;
    }
    case '7':
      if (parts.length !== 5 || !/^\d+$/.test(parts[2] ?? '')) return 'expected $7$iterations$salt$hash';
      // Bounded so a crafted line cannot make one attempt cost minutes.
      if (Number(parts[2]) < 1 || Number(parts[2]) > 10_000_000) return 'iterations out of range';
      return null;
    case '6':
      return parts.length === 4 ? null : 'expected $6$salt$hash';
    default:
      return 'unknown hash format; use `edgehub passwd` to write the line';
  }
}

function parseScryptParams(text: string): ScryptParams | undefined {
  const m = /^N=(\d+),r=(\d+),p=(\d+)$/.exec(text);
  if (!m) return undefined;
  const [N, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (N < 2 || (N & (N - 1)) !== 0 || r < 1 || p < 1) return undefined;
  // Bounds keep a crafted line from costing the hub gigabytes or minutes per attempt.
  if (N > 1 << 20 || r > 32 || p > 16) return undefined;
  return { N, r, p };
}

/**
 * Checks a password against a stored line: edgehub's `$scrypt$` and, for Mosquitto password files,
 * `$7$` (PBKDF2-SHA512) and `$6$` (salted SHA-512). Comparison is constant-time.
 */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const parts = encoded.split('$');
  if (hashFormatProblem(encoded) !== null) return false;
  const kind = parts[1];
  if (kind === 'scrypt') {
    const params = parseScryptParams(parts[2] ?? '');
    if (!params) return false;
    const salt = Buffer.from(parts[3] ?? '', 'base64');
    const expected = Buffer.from(parts[4] ?? '', 'base64');
    if (expected.length === 0) return false;
    const key = await scryptAsync(password, salt, expected.length, scryptOptions(params));
    return timingSafeEqual(key, expected);
  }
  if (kind === '7') {
    const salt = Buffer.from(parts[3] ?? '', 'base64');
    const expected = Buffer.from(parts[4] ?? '', 'base64');
    if (expected.length !== PBKDF2_KEY_BYTES) return false;
    const key = await pbkdf2Async(password, salt, Number(parts[2]), PBKDF2_KEY_BYTES);
    return timingSafeEqual(key, expected);
  }
  // `$6$`: SHA-512 over password then salt, as Mosquitto 1.x wrote it.
  const salt = Buffer.from(parts[2] ?? '', 'base64');
  const expected = Buffer.from(parts[3] ?? '', 'base64');
  const key = createHash('sha512').update(password).update(salt).digest();
  return expected.length === key.length && timingSafeEqual(key, expected);
}

/** A hash of a random password, verified against when the user is unknown so timing does not tell. */
export async function dummyHash(): Promise<string> {
  return hashPassword(randomBytes(12).toString('base64'));
}
