import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { SystemClock, VirtualClock, type TimerHandle } from '../kernel/index.js';
import { ClientPool } from './support/mqtt-client.js';
import {
  connackCode,
  startSecureBroker,
  until,
  writePasswords,
  type SecureBroker,
} from './support/secure-broker.js';
import { TempDirs } from './support/temp.js';

const temp = new TempDirs();
const pool = new ClientPool();
const brokers: SecureBroker[] = [];

async function start(opts: Parameters<typeof startSecureBroker>[0]): Promise<SecureBroker> {
  const b = await startSecureBroker(opts);
  brokers.push(b);
  return b;
}

afterEach(async () => {
  await pool.closeAll();
  await Promise.all(brokers.splice(0).map((b) => b.broker.stop()));
  temp.cleanup();
});

/** An address from TEST-NET-1 (RFC 5737): certainly not loopback. */
const REMOTE = '192.0.2.10';

describe('anonymous clients', () => {
  it('are accepted on loopback by default', async () => {
    const { url } = await start({ clock: new SystemClock() });
    expect(await connackCode(url, { protocolVersion: 4 })).toBe(0);
    expect(await connackCode(url, { protocolVersion: 5 })).toBe(0);
  });

  it.each([
    [4, 5],
    [5, 0x87],
  ] as const)(
    'are refused off loopback (MQTT %i: CONNACK %i, not authorized) and counted',
    async (v, code) => {
      const { url, broker, logger } = await start({ clock: new SystemClock(), remoteAddress: REMOTE });
      expect(await connackCode(url, { protocolVersion: v, clientId: 'far-away' })).toBe(code);
      expect(broker.stats().anonymousRefused).toBe(1);
      const line = logger.entries.find((e) => e.fields?.refused === 'anonymous');
      expect(line?.fields).toMatchObject({ client: 'far-away', from: REMOTE });
    },
  );

  it('are refused off loopback even with a username when there is no password file to check it', async () => {
    const { url } = await start({ clock: new SystemClock(), remoteAddress: REMOTE });
    expect(await connackCode(url, { username: 'admin', password: 'x' })).toBe(5);
  });

  it('are accepted from anywhere with allow_anonymous: true, and never with false', async () => {
    const open = await start({
      clock: new SystemClock(),
      remoteAddress: REMOTE,
      security: { allowAnonymous: true },
    });
    expect(await connackCode(open.url, {})).toBe(0);
    const closed = await start({ clock: new SystemClock(), security: { allowAnonymous: false } });
    expect(await connackCode(closed.url, { protocolVersion: 5 })).toBe(0x87);
  });

  it('warns at start-up when a non-loopback listener has no password file', async () => {
    const { security } = await start({ clock: new SystemClock() });
    expect(security.exposureWarnings(['127.0.0.1', '::1'])).toEqual([]);
    expect(security.exposureWarnings(['0.0.0.0'])[0]).toMatch(
      /listening on 0\.0\.0\.0 without mqtt\.security\.password_file: clients from other machines will be refused/,
    );
  });
});

describe('password file', () => {
  it('accepts the right password and refuses a wrong one or an unknown user (MQTT 3.1.1 and 5)', async () => {
    const dir = temp.make();
    const passwordFile = await writePasswords(dir, { 'gh-1': 's3cret', 'gh-2': 'other' });
    const { url, broker } = await start({
      clock: new SystemClock(),
      remoteAddress: REMOTE,
      security: { passwordFile, authDelayMs: 0 },
    });
    expect(await connackCode(url, { username: 'gh-1', password: 's3cret' })).toBe(0);
    expect(await connackCode(url, { protocolVersion: 5, username: 'gh-1', password: 's3cret' })).toBe(0);
    expect(await connackCode(url, { protocolVersion: 4, username: 'gh-1', password: 'nope' })).toBe(4);
    expect(await connackCode(url, { protocolVersion: 5, username: 'gh-1', password: 'nope' })).toBe(0x86);
    expect(await connackCode(url, { protocolVersion: 5, username: 'ghost', password: 's3cret' })).toBe(0x86);
    expect(broker.stats().authFailures).toBe(3);
  });

  it('logs each failed login with user and source address', async () => {
    const dir = temp.make();
    const passwordFile = await writePasswords(dir, { 'gh-1': 's3cret' });
    const { url, logger } = await start({
      clock: new SystemClock(),
      remoteAddress: REMOTE,
      security: { passwordFile, authDelayMs: 0 },
    });
    await connackCode(url, { username: 'gh-1', password: 'guess', clientId: 'probe' });
    const line = logger.entries.find((e) => e.fields?.refused === 'credentials');
    expect(line?.level).toBe('warn');
    expect(line?.fields).toMatchObject({ user: 'gh-1', client: 'probe', from: REMOTE, failures: 1 });
  });

  it('can require the client id to equal the username (CONNACK 2 / 0x85)', async () => {
    const dir = temp.make();
    const passwordFile = await writePasswords(dir, { 'gh-1': 'pw' });
    const { url } = await start({
      clock: new SystemClock(),
      security: { passwordFile, clientIdMustMatchUsername: true, authDelayMs: 0 },
    });
    expect(await connackCode(url, { clientId: 'gh-1', username: 'gh-1', password: 'pw' })).toBe(0);
    expect(await connackCode(url, { clientId: 'gh-2', username: 'gh-1', password: 'pw' })).toBe(2);
    expect(
      await connackCode(url, { protocolVersion: 5, clientId: 'gh-2', username: 'gh-1', password: 'pw' }),
    ).toBe(0x85);
  });
});

describe('slowing down guessing', () => {
  /** A virtual clock that says when a timer is set, so a test can wait for one. */
  class WatchedClock extends VirtualClock {
    readonly timersSet = new EventEmitter();

    override setTimer(name: string, delayMs: number, fn: () => void): TimerHandle {
      const handle = super.setTimer(name, delayMs, fn);
      this.timersSet.emit('set');
      return handle;
    }
  }

  /** Starts a login and waits until its answer is held on the virtual clock; resolves the timer's name. */
  async function heldAttempt(
    clock: WatchedClock,
    url: string,
    password: string,
  ): Promise<{ timer: string; answer: Promise<number> }> {
    const before = new Set(clock.pending());
    const answer = connackCode(url, { protocolVersion: 5, username: 'gh-1', password });
    await until(
      () => clock.pending().some((n) => !before.has(n) && n.startsWith('auth slowdown')),
      'a held answer',
      [[clock.timersSet, 'set']],
    );
    const timer = clock.pending().find((n) => !before.has(n) && n.startsWith('auth slowdown')) ?? '';
    return { timer, answer };
  }

  it('delays each answer to a failing source exponentially, capped, and resets on success', async () => {
    const clock = new WatchedClock(1_000_000);
    const dir = temp.make();
    const passwordFile = await writePasswords(dir, { 'gh-1': 'right' });
    const { url } = await start({
      clock,
      security: { passwordFile, authDelayMs: 1000, authDelayMaxMs: 4000 },
    });
    const delays: string[] = [];
    for (let i = 0; i < 4; i++) {
      const { timer, answer } = await heldAttempt(clock, url, 'wrong');
      delays.push(timer);
      let settled = false;
      void answer.then(() => (settled = true));
      clock.advance(999);
      // The answer waits on this timer; while it is pending on the virtual clock no CONNACK can go.
      expect(clock.pending()).toContain(timer);
      expect(settled).toBe(false);
      clock.advance(10_000);
      expect(await answer).toBe(0x86);
    }
    expect(delays).toEqual([
      'auth slowdown 127.0.0.1 1000ms',
      'auth slowdown 127.0.0.1 2000ms',
      'auth slowdown 127.0.0.1 4000ms',
      'auth slowdown 127.0.0.1 4000ms',
    ]);
    // The right password still waits out the slowdown already earned, then clears it.
    const good = await heldAttempt(clock, url, 'right');
    expect(good.timer).toBe('auth slowdown 127.0.0.1 4000ms');
    clock.advance(4000);
    expect(await good.answer).toBe(0);
    const after = await heldAttempt(clock, url, 'wrong');
    expect(after.timer).toBe('auth slowdown 127.0.0.1 1000ms');
    clock.advance(1000);
    expect(await after.answer).toBe(0x86);
  });

  it('keeps a separate count per source address', async () => {
    const clock = new WatchedClock(1_000_000);
    const dir = temp.make();
    const passwordFile = await writePasswords(dir, { 'gh-1': 'right' });
    const a = await start({ clock, remoteAddress: '192.0.2.1', security: { passwordFile } });
    // A second listener sharing the same policy, its clients seen as another address.
    const b = await start({ clock, remoteAddress: '192.0.2.2', sharedSecurity: a.security });
    for (const expected of ['1000ms', '2000ms']) {
      const { timer, answer } = await heldAttempt(clock, a.url, 'wrong');
      expect(timer).toBe(`auth slowdown 192.0.2.1 ${expected}`);
      clock.advance(10_000);
      await answer;
    }
    const other = await heldAttempt(clock, b.url, 'wrong');
    expect(other.timer).toBe('auth slowdown 192.0.2.2 1000ms');
    clock.advance(1000);
    expect(await other.answer).toBe(0x86);
    expect(a.security.stats()).toMatchObject({ authFailed: 3, throttledSources: 2 });
  });
});
