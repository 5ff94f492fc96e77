import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { EdgehubErrors, VirtualClock } from '../../kernel/index.js';
import { AuthThrottle } from './auth-throttle.js';
import { formatPasswordFile, parsePasswordFile } from './password-file.js';
import { hashPassword, verifyPassword } from './password-hash.js';

describe('password hashes', () => {
  it('stores scrypt parameters, salt and hash in the line, and verifies only the right password', async () => {
    const line = await hashPassword('correct horse', { N: 1024, r: 8, p: 1 });
    expect(line).toMatch(/^\$scrypt\$N=1024,r=8,p=1\$[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}$/);
    expect(await verifyPassword('correct horse', line)).toBe(true);
    expect(await verifyPassword('correct horsf', line)).toBe(false);
    expect(await hashPassword('correct horse', { N: 1024, r: 8, p: 1 })).not.toBe(line);
  });

  it('uses N=16384, r=8, p=1 by default', async () => {
    expect(await hashPassword('x')).toMatch(/^\$scrypt\$N=16384,r=8,p=1\$/);
  });

  it("verifies Mosquitto 2's $7$ (PBKDF2-SHA512) lines, so its password files keep working", async () => {
    const salt = randomBytes(12);
    const hash = pbkdf2Sync('mosquitto-pw', salt, 101, 64, 'sha512');
    const line = `$7$101$${salt.toString('base64')}$${hash.toString('base64')}`;
    expect(await verifyPassword('mosquitto-pw', line)).toBe(true);
    expect(await verifyPassword('other', line)).toBe(false);
  });

  it('refuses hashes whose parameters would cost the hub too much per attempt', async () => {
    expect(await verifyPassword('x', '$scrypt$N=4194304,r=8,p=1$AAAA$AAAA')).toBe(false);
  });
});

describe('password file', () => {
  it('round-trips user:hash lines, skipping comments and blank lines', async () => {
    const a = await hashPassword('a', { N: 1024, r: 8, p: 1 });
    const table = parsePasswordFile('pw', `# devices\n\ngh-1:${a}\n`);
    expect([...table.keys()]).toEqual(['gh-1']);
    expect(formatPasswordFile(table)).toBe(`gh-1:${a}\n`);
  });

  it('reports every bad line with its location', () => {
    let caught: unknown;
    try {
      parsePasswordFile('pw', 'nocolon\nbob:plaintext\n');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(EdgehubErrors);
    expect((caught as EdgehubErrors).errors.map((e) => e.message)).toEqual([
      'pw:1:1: expected user:hash',
      'pw:2:5: user bob: unknown hash format; use `edgehub passwd` to write the line',
    ]);
  });
});

describe('AuthThrottle', () => {
  const options = { baseDelayMs: 500, maxDelayMs: 3000, forgetAfterMs: 60_000, maxSources: 2 };

  it('doubles per failure up to the cap, and forgets a source after a quiet spell', () => {
    const clock = new VirtualClock();
    const t = new AuthThrottle(clock, options);
    const seen = [t.delayMs('a')];
    for (let i = 0; i < 5; i++) {
      t.recordFailure('a');
      seen.push(t.delayMs('a'));
    }
    expect(seen).toEqual([0, 500, 1000, 2000, 3000, 3000]);
    clock.advance(60_000);
    expect(t.delayMs('a')).toBe(0);
  });

  it('remembers a bounded number of sources, forgetting the stalest first', () => {
    const t = new AuthThrottle(new VirtualClock(), options);
    for (const s of ['a', 'b', 'c']) t.recordFailure(s);
    expect([t.failures('a'), t.failures('b'), t.failures('c')]).toEqual([0, 1, 1]);
  });
});
