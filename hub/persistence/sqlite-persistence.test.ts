import { spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Readable } from 'node:stream';
import type { Database } from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryLogger, VirtualClock } from '../../kernel/index.js';
import type { Packet } from './packets.js';
import { brokerDbPath } from './schema.js';
import type { SqlitePersistenceDeps } from './sqlite-persistence.js';
import { SqlitePersistence } from './sqlite-persistence.js';

let dir: string;
let clock: VirtualClock;
let logger: MemoryLogger;
let open: SqlitePersistence[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'edgehub-broker-state-'));
  clock = new VirtualClock(Date.UTC(2026, 0, 1));
  logger = new MemoryLogger();
  open = [];
});

afterEach(async () => {
  for (const p of open) await p.close();
  rmSync(dir, { recursive: true, force: true });
});

async function start(
  brokerId: string,
  testing?: SqlitePersistenceDeps['testing'],
): Promise<SqlitePersistence> {
  const deps: SqlitePersistenceDeps = { file: brokerDbPath(dir), clock, logger };
  if (testing) deps.testing = testing;
  const persistence = new SqlitePersistence(deps);
  open.push(persistence);
  await persistence.setup({ id: brokerId });
  return persistence;
}

async function all<T>(stream: Readable): Promise<T[]> {
  const items: T[] = [];
  for await (const item of stream) items.push(item as T);
  return items;
}

const client = { id: 'home-assistant' };

function publish(topic: string, payload: string, extra: Partial<Packet> = {}): Packet {
  return {
    cmd: 'publish',
    topic,
    payload: Buffer.from(payload),
    qos: 1,
    retain: false,
    dup: false,
    ...extra,
  };
}

describe('the aedes-persistence abstract test suite', () => {
  it('passes every test against SQLite files', () => {
    const suite = fileURLToPath(new URL('./abstract-suite.ts', import.meta.url));
    // node:test is what the suite is written for; it runs in its own process.
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', suite], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    const summary = (name: string) => Number(new RegExp(`^# ${name} (\\d+)$`, 'm').exec(run.stdout)?.[1]);
    const failures = run.stdout.split('\n').filter((l) => /^not ok/.test(l));
    expect({ failures, stderr: run.stderr, code: run.status }).toEqual({ failures: [], stderr: '', code: 0 });
    expect(summary('pass')).toBe(48);
    expect(summary('fail')).toBe(0);
  }, 150_000);
});

describe('after a restart', () => {
  it('has every retained message, session, queued message, QoS 2 packet and will', async () => {
    const first = await start('broker-1');
    await first.storeRetained(publish('devices/gh-1/availability', 'online', { qos: 0, retain: true }));
    await first.storeRetained(
      publish('sensors/gh-1/temperature', '21.5', {
        retain: true,
        properties: { userProperties: { unit: 'C' }, correlationData: Buffer.from([1, 2]) },
      }),
    );
    await first.addSubscriptions(client, [
      { topic: 'sensors/#', qos: 1, rh: 2, rap: true, nl: true, subscriptionIdentifier: 7 },
      { topic: 'devices/+/availability', qos: 0, rh: 1, rap: false, nl: false },
    ]);
    const expiry = clock.now() + 60_000;
    await first.outgoingEnqueueCombi(
      [{ clientId: client.id }],
      publish('sensors/gh-1/temperature', '22', {
        brokerId: 'broker-1',
        brokerCounter: 5,
        messageExpiry: expiry,
      }),
    );
    await first.outgoingEnqueueCombi(
      [{ clientId: client.id }],
      publish('sensors/gh-1/temperature', '23', { brokerId: 'broker-1', brokerCounter: 6 }),
    );
    // The first was sent with message id 17 and is waiting for its PUBACK.
    await first.outgoingUpdate(client, { brokerId: 'broker-1', brokerCounter: 5, messageId: 17 });
    await first.incomingStorePacket(
      client,
      publish('actuators/gh-1/fan', '{"on":true}', { qos: 2, messageId: 9 }),
    );
    await first.putWill(client, {
      topic: 'devices/ha/availability',
      payload: Buffer.from('offline'),
      qos: 1,
      retain: true,
    });
    await first.close();

    const second = await start('broker-2');
    const retained = await all<Packet>(second.createRetainedStream('#'));
    expect(retained.map((p) => [p.topic, String(p.payload)])).toEqual([
      ['devices/gh-1/availability', 'online'],
      ['sensors/gh-1/temperature', '21.5'],
    ]);
    expect(retained[1]?.properties).toEqual({
      userProperties: { unit: 'C' },
      correlationData: Buffer.from([1, 2]),
    });
    expect(await second.subscriptionsByClient(client)).toEqual([
      { topic: 'sensors/#', qos: 1, rh: 2, rap: true, nl: true, subscriptionIdentifier: 7 },
      { topic: 'devices/+/availability', qos: 0, rh: 1, rap: false, nl: false },
    ]);
    expect(await second.subscriptionsByTopic('sensors/gh-1/temperature')).toEqual([
      { clientId: client.id, topic: 'sensors/#', qos: 1, rh: 2, rap: true, nl: true },
    ]);
    const queued = await all<Packet>(second.outgoingStream(client));
    expect(queued.map((p) => [String(p.payload), p.messageId, p.messageExpiry])).toEqual([
      ['22', 17, expiry],
      ['23', undefined, undefined],
    ]);
    expect((await second.incomingGetPacket(client, { messageId: 9 })).topic).toBe('actuators/gh-1/fan');
    // The will belongs to the broker that died, so the new one owes it.
    const owed = await all<Packet>(second.streamWill({ 'broker-2': {} }));
    expect(owed.map((w) => [w.clientId, w.brokerId, String(w.payload)])).toEqual([
      [client.id, 'broker-1', 'offline'],
    ]);
    expect(second.stats()).toMatchObject({ retained: 2, sessions: 1, outgoing: 2, writeFailures: 0 });
  });

  it('keeps a PUBREL that replaced its PUBLISH, and forgets what was acknowledged', async () => {
    const first = await start('broker-1');
    const sub = [{ clientId: client.id }];
    await first.outgoingEnqueueCombi(
      sub,
      publish('a', '1', { qos: 2, brokerId: 'broker-1', brokerCounter: 1 }),
    );
    await first.outgoingEnqueueCombi(sub, publish('b', '2', { brokerId: 'broker-1', brokerCounter: 2 }));
    await first.outgoingUpdate(client, { brokerId: 'broker-1', brokerCounter: 1, messageId: 1 });
    await first.outgoingUpdate(client, { brokerId: 'broker-1', brokerCounter: 2, messageId: 2 });
    await first.outgoingUpdate(client, { cmd: 'pubrel', messageId: 1 });
    await first.outgoingClearMessageId(client, { messageId: 2 });
    await first.removeSubscriptions(client, ['nothing']);
    await first.close();

    const second = await start('broker-2');
    expect(await all<Packet>(second.outgoingStream(client))).toEqual([{ cmd: 'pubrel', messageId: 1 }]);
  });

  it('keeps overlapping QoS 2 flows apart: a PUBREL never takes the place of another', async () => {
    const p = await start('broker-1');
    const sub = [{ clientId: client.id }];
    for (const counter of [1, 2]) {
      await p.outgoingEnqueueCombi(
        sub,
        publish('a', String(counter), { qos: 2, brokerId: 'broker-1', brokerCounter: counter }),
      );
      await p.outgoingUpdate(client, { brokerId: 'broker-1', brokerCounter: counter, messageId: counter });
    }
    // PUBREC 1, then PUBREC 2 before PUBCOMP 1.
    await p.outgoingUpdate(client, { cmd: 'pubrel', messageId: 1 });
    await p.outgoingUpdate(client, { cmd: 'pubrel', messageId: 2 });
    expect(await all<Packet>(p.outgoingStream(client))).toEqual([
      { cmd: 'pubrel', messageId: 1 },
      { cmd: 'pubrel', messageId: 2 },
    ]);
    await p.outgoingClearMessageId(client, { cmd: 'pubcomp', messageId: 1 });
    await p.outgoingClearMessageId(client, { cmd: 'pubcomp', messageId: 2 });
    expect(await all<Packet>(p.outgoingStream(client))).toEqual([]);
  });

  it('has every change whose promise resolved, even when the process dies without closing', async () => {
    const first = await start('broker-1');
    await first.storeRetained(publish('devices/gh-1/availability', 'online', { retain: true }));
    await first.addSubscriptions(client, [{ topic: 'sensors/#', qos: 1 }]);
    // No close(): another connection reads the file as a restarted process would.
    const second = await start('broker-2');
    expect((await all<Packet>(second.createRetainedStream('#'))).length).toBe(1);
    expect(await second.countOffline()).toEqual({ subsCount: 1, clientsCount: 1 });
  });
});

describe('when the file cannot be written', () => {
  it('keeps serving from memory, says so once, and saves everything when writing works again', async () => {
    let raw: Database | undefined;
    const persistence = await start('broker-1', { retryMs: 1000, onOpen: (db) => (raw = db) });
    await persistence.storeRetained(publish('before', 'x', { retain: true }));
    raw?.pragma('query_only = ON');

    // Each resolves: aedes goes on routing and acknowledging while the disk is full or read-only.
    await persistence.storeRetained(publish('during/1', 'x', { retain: true }));
    await persistence.addSubscriptions(client, [{ topic: 'sensors/#', qos: 1 }]);
    await persistence.outgoingEnqueueCombi(
      [{ clientId: client.id }],
      publish('sensors/a', '1', { brokerId: 'b', brokerCounter: 1 }),
    );
    clock.advance(1000);
    const errors = logger.entries.filter((e) => e.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]?.fields).toMatchObject({
      code: 'BROKER_STATE_WRITE_FAILED',
      sqliteCode: 'SQLITE_READONLY',
    });
    expect(persistence.stats().writeFailures).toBeGreaterThanOrEqual(2);

    raw?.pragma('query_only = OFF');
    clock.advance(1000);
    expect(logger.entries.at(-1)?.msg).toBe('broker state is saved again');
    await persistence.close();
    const reopened = await start('broker-2');
    expect((await all<Packet>(reopened.createRetainedStream('#'))).map((p) => p.topic)).toEqual([
      'before',
      'during/1',
    ]);
    expect(await reopened.subscriptionsByClient(client)).toEqual([{ topic: 'sensors/#', qos: 1 }]);
    expect((await all<Packet>(reopened.outgoingStream(client))).map((p) => p.topic)).toEqual(['sensors/a']);
  });

  it('refuses a data directory that is not writable with DATA_DIR_UNWRITABLE', async () => {
    const blocker = join(dir, 'file');
    (await import('node:fs')).writeFileSync(blocker, 'not a directory');
    const persistence = new SqlitePersistence({ file: brokerDbPath(join(blocker, 'data')), clock, logger });
    await expect(persistence.setup({ id: 'b' })).rejects.toMatchObject({ code: 'DATA_DIR_UNWRITABLE' });
  });
});

describe('MQTT 5 session expiry across a restart', () => {
  /** A broker as the persistence hears it: aedes emits these events with these client fields. */
  async function startBroker(id: string): Promise<{ persistence: SqlitePersistence; events: EventEmitter }> {
    const persistence = new SqlitePersistence({ file: brokerDbPath(dir), clock, logger });
    open.push(persistence);
    const events = Object.assign(new EventEmitter(), { id });
    await persistence.setup(events);
    return { persistence, events };
  }

  const v5 = (sessionExpiryInterval: number) => ({ id: client.id, version: 5, sessionExpiryInterval });

  /** The client subscribes, goes away, and a message is queued for it; then the hub stops. */
  async function leaveSession(clientFields: { id: string; version: number; sessionExpiryInterval: number }) {
    const { persistence, events } = await startBroker('broker-1');
    events.emit('client', clientFields);
    await persistence.addSubscriptions(client, [
      { topic: 'sensors/#', qos: 1, rh: 0, rap: false, nl: false },
    ]);
    events.emit('clientDisconnect', clientFields);
    await persistence.outgoingEnqueueCombi(
      [{ clientId: client.id }],
      publish('sensors/gh-1/temperature', '22'),
    );
    await persistence.close();
  }

  async function session(p: SqlitePersistence) {
    return {
      subscriptions: (await p.subscriptionsByClient(client)).map((s) => s.topic),
      queued: (await all<Packet>(p.outgoingStream(client))).map((m) => String(m.payload)),
    };
  }
  const kept = { subscriptions: ['sensors/#'], queued: ['22'] };
  const gone = { subscriptions: [], queued: [] };

  it('ends at restart a session whose expiry passed while the hub was down, and says so', async () => {
    await leaveSession(v5(10));
    clock.advance(20_000);
    const { persistence } = await startBroker('broker-2');
    expect(await session(persistence)).toEqual(gone);
    expect(logger.entries.filter((e) => e.fields?.['whileDown'] !== undefined).map((e) => e.fields)).toEqual([
      { client: client.id, whileDown: true },
    ]);
    // Gone from the file too: a third start does not bring it back.
    await persistence.close();
    expect(await session((await startBroker('broker-3')).persistence)).toEqual(gone);
  });

  it('keeps a session with time left and ends it when that time is up', async () => {
    await leaveSession(v5(10));
    clock.advance(5_000);
    const { persistence } = await startBroker('broker-2');
    expect(await session(persistence)).toEqual(kept);
    clock.advance(4_900);
    expect(await session(persistence)).toEqual(kept);
    clock.advance(100);
    expect(await session(persistence)).toEqual(gone);
  });

  it('keeps the session of a client that came back in time', async () => {
    await leaveSession(v5(10));
    clock.advance(5_000);
    const { persistence, events } = await startBroker('broker-2');
    events.emit('client', v5(10));
    clock.advance(60_000);
    expect(await session(persistence)).toEqual(kept);
  });

  it('counts from the restart for a client that was connected when the hub died', async () => {
    const first = await startBroker('broker-1');
    first.events.emit('client', v5(10));
    await first.persistence.addSubscriptions(client, [
      { topic: 'sensors/#', qos: 1, rh: 0, rap: false, nl: false },
    ]);
    await first.persistence.close();
    clock.advance(3_600_000);
    const { persistence } = await startBroker('broker-2');
    expect((await session(persistence)).subscriptions).toEqual(['sensors/#']);
    clock.advance(10_000);
    expect((await session(persistence)).subscriptions).toEqual([]);
  });

  it('never ends an MQTT 3.1.1 persistent session or one that asked never to expire', async () => {
    await leaveSession({ id: client.id, version: 4, sessionExpiryInterval: 10 });
    clock.advance(30 * 86_400_000);
    const p4 = (await startBroker('broker-2')).persistence;
    expect(await session(p4)).toEqual(kept);
    await p4.close();
    await leaveSession(v5(0xffff_ffff));
    clock.advance(30 * 86_400_000);
    expect((await session((await startBroker('broker-3')).persistence)).subscriptions).toEqual(['sensors/#']);
  });
});

describe('the queue of a client that is away', () => {
  async function startCapped(queueLimits: { maxMessages: number; maxBytes: number }, clients = {}) {
    const persistence = new SqlitePersistence({ file: brokerDbPath(dir), clock, logger, queueLimits });
    open.push(persistence);
    await persistence.setup({ id: 'broker-1', clients });
    return persistence;
  }
  const reading = (n: number) => publish('sensors/gh-1/temperature', String(n));
  const sent = (n: number) => ({ ...reading(n), brokerId: 'broker-1', brokerCounter: n });
  const queuedPayloads = async (p: SqlitePersistence) =>
    (await all<Packet>(p.outgoingStream(client))).map((m) => String(m.payload));

  it('holds max_queued_messages, refuses the newer ones, and counts them per client', async () => {
    const p = await startCapped({ maxMessages: 3, maxBytes: 0 });
    const other = { clientId: 'node-red' };
    for (let n = 1; n <= 5; n++) await p.outgoingEnqueueCombi([{ clientId: client.id }, other], reading(n));
    expect(await queuedPayloads(p)).toEqual(['1', '2', '3']);
    expect(p.stats().queueFull).toEqual({ dropped: 4, byClient: { [client.id]: 2, 'node-red': 2 } });
    // One warning per client for the outage, with what refused it; the rest only counted.
    const warnings = logger.entries.filter((e) => e.level === 'warn').map((e) => e.fields);
    expect(warnings).toEqual([
      expect.objectContaining({ client: client.id, refused: 'mqtt.limits.max_queued_messages', queued: 3 }),
      expect.objectContaining({ client: 'node-red', refused: 'mqtt.limits.max_queued_messages' }),
    ]);
  });

  it('holds max_queued_bytes of payload and topic', async () => {
    const topicBytes = 'sensors/gh-1/temperature'.length;
    const p = await startCapped({ maxMessages: 0, maxBytes: 2 * (topicBytes + 4) });
    for (const payload of ['1000', '2000', '3']) {
      await p.outgoingEnqueueCombi([{ clientId: client.id }], publish('sensors/gh-1/temperature', payload));
    }
    expect(await queuedPayloads(p)).toEqual(['1000', '2000']);
    expect(logger.entries.find((e) => e.level === 'warn')?.fields).toMatchObject({
      refused: 'mqtt.limits.max_queued_bytes',
    });
  });

  it('takes messages again once delivery frees room, and after a restart counts what is restored', async () => {
    const p = await startCapped({ maxMessages: 2, maxBytes: 0 });
    for (let n = 1; n <= 3; n++) await p.outgoingEnqueueCombi([{ clientId: client.id }], sent(n));
    await p.close();
    const again = await startCapped({ maxMessages: 2, maxBytes: 0 });
    await again.outgoingEnqueueCombi([{ clientId: client.id }], sent(4));
    expect(await queuedPayloads(again)).toEqual(['1', '2']);
    // The client comes back, gets the first with message id 7 and acknowledges it: room for one more.
    await again.outgoingUpdate(client, { brokerId: 'broker-1', brokerCounter: 1, messageId: 7 });
    await again.outgoingClearMessageId(client, { messageId: 7 });
    await again.outgoingEnqueueCombi([{ clientId: client.id }], sent(5));
    expect(await queuedPayloads(again)).toEqual(['2', '5']);
  });

  it('does not cap a connected client, whose queue is what is in flight to it', async () => {
    const p = await startCapped({ maxMessages: 1, maxBytes: 0 }, { [client.id]: {} });
    for (let n = 1; n <= 3; n++) await p.outgoingEnqueueCombi([{ clientId: client.id }], reading(n));
    expect(await queuedPayloads(p)).toEqual(['1', '2', '3']);
    expect(p.stats().queueFull.dropped).toBe(0);
  });
});
