import { EventEmitter, once } from 'node:events';
import { connect as netConnect } from 'node:net';
import type { Duplex } from 'node:stream';
import type { IDisconnectPacket } from 'mqtt-packet';
import { generate } from 'mqtt-packet';
import type { MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { SystemClock, VirtualClock } from '../kernel/index.js';
import { ClientPool, nextMessage } from './support/mqtt-client.js';
import { PacketType } from '../hub/broker/mqtt5/index.js';
import { packetTypes } from './support/wire.js';
import {
  connackCode,
  pubackCode,
  startSecureBroker,
  subackCodes,
  until,
  type SecureBroker,
} from './support/secure-broker.js';

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
});

/** Resolves with the reason code of the DISCONNECT the broker sends an MQTT 5 client. */
function disconnectReason(client: MqttClient): Promise<number | undefined> {
  return new Promise((resolve) => client.once('disconnect', (p: IDisconnectPacket) => resolve(p.reasonCode)));
}

describe('max_connections', () => {
  it('refuses connections over the limit with CONNACK 0x97 (MQTT 5) or 3 (MQTT 3.1.1), counted', async () => {
    const accepted: Duplex[] = [];
    const { url, broker, logger } = await start({
      clock: new SystemClock(),
      limits: { maxConnections: 2 },
      wrapConnection: (stream) => {
        accepted.push(stream);
        return stream;
      },
    });
    const first = await pool.connect(url);
    const firstOnServer = accepted[0];
    await pool.connect(url);
    expect(await connackCode(url, { protocolVersion: 5 })).toBe(0x97);
    expect(await connackCode(url, { protocolVersion: 4 })).toBe(3);
    expect(broker.stats().refusedConnections).toBe(2);
    expect(logger.entries.some((e) => e.fields?.refused === 'mqtt.limits.max_connections')).toBe(true);
    await first.endAsync();
    if (firstOnServer && !firstOnServer.closed) await once(firstOnServer, 'close');
    expect(broker.stats().connections).toBe(1);
    expect(await connackCode(url, { protocolVersion: 5 })).toBe(0);
  });
});

describe('publish_rate', () => {
  const limits = { publishRatePerSec: 1, publishBurst: 2 };

  it('answers MQTT 5 QoS 1 over the rate with PUBACK 0x97 (0x96 is DISCONNECT-only), and refills with time', async () => {
    const clock = new VirtualClock(1_000_000);
    const { url, broker } = await start({ clock, limits });
    const client = await pool.connect(url, { protocolVersion: 5 });
    expect(await pubackCode(client, 'sensors/a/t', '1')).toBe(0);
    expect(await pubackCode(client, 'sensors/a/t', '2')).toBe(0);
    expect(await pubackCode(client, 'sensors/a/t', '3')).toBe(0x97);
    clock.advance(1000);
    expect(await pubackCode(client, 'sensors/a/t', '4')).toBe(0);
    expect(broker.stats()).toMatchObject({ rateLimited: 1, published: 3 });
  });

  it('disconnects an MQTT 5 client over the rate at QoS 0 with DISCONNECT 0x96', async () => {
    const { url, broker } = await start({ clock: new VirtualClock(), limits });
    const client = await pool.connect(url, { protocolVersion: 5 });
    const reason = disconnectReason(client);
    for (let i = 0; i < 3; i++) client.publish('sensors/a/t', String(i), { qos: 0 });
    expect(await reason).toBe(0x96);
    expect(broker.stats().rateLimited).toBe(1);
  });

  it('slows an MQTT 3.1.1 client over the rate down instead of dropping what it sends', async () => {
    const clock = new VirtualClock(1_000_000);
    const { url, broker, logger } = await start({ clock, limits });
    const seen: string[] = [];
    broker.onMessage(seen, (m) => seen.push(m.payload.toString()));
    const client = await pool.connect(url, { protocolVersion: 4, clientId: 'gateway' });
    const other = await pool.connect(url, { protocolVersion: 4, clientId: 'other' });
    for (let i = 0; i < 3; i++) expect(await pubackCode(client, 'sensors/a/t', String(i))).toBe(0);
    // The third was one too many: the hub stops reading the gateway until its bucket refills.
    const fourth = pubackCode(client, 'sensors/a/t', '3');
    await pubackCode(other, 'sensors/b/t', 'marker');
    expect(seen).toEqual(['0', '1', '2', 'marker']);
    clock.advance(2000);
    expect(await fourth).toBe(0);
    expect(seen).toEqual(['0', '1', '2', 'marker', '3']);
    expect(broker.stats()).toMatchObject({ rateLimited: 0, rateSlowed: 1 });
    expect(client.connected).toBe(true);
    const warns = logger.entries.filter((e) => e.fields?.refused === 'mqtt.limits.publish_rate');
    expect(warns.map((e) => e.level)).toEqual(['warn']);
  });

  it('drops QoS 0 from an MQTT 3.1.1 client that owes a whole burst, and counts it', async () => {
    const clock = new VirtualClock(1_000_000);
    const { url, broker } = await start({ clock, limits });
    const seen: string[] = [];
    broker.onMessage(seen, (m) => seen.push(m.payload.toString()));
    const client = await pool.connect(url, { protocolVersion: 4, clientId: 'flood' });
    // Ten packets in one write: all of them arrive before the hub can stop reading.
    client.stream.cork();
    for (let i = 0; i < 10; i++) client.publish('sensors/a/t', String(i), { qos: 0 });
    client.stream.uncork();
    const marker = pubackCode(client, 'sensors/a/t', 'qos1');
    clock.advance(10_000);
    expect(await marker).toBe(0);
    // Two from the burst, two owed against it; six dropped; QoS 1 is never dropped.
    expect(seen).toEqual(['0', '1', '2', '3', 'qos1']);
    expect(broker.stats().rateLimited).toBe(6);
  });
});

describe('topic limits', () => {
  const limits = { maxTopicBytes: 16, maxTopicLevels: 3 };

  it('refuses an MQTT 5 publish to a too deep or too long topic with PUBACK 0x90', async () => {
    const { url, broker } = await start({ clock: new SystemClock(), limits });
    const client = await pool.connect(url, { protocolVersion: 5 });
    expect(await pubackCode(client, 'a/b/c', 'ok')).toBe(0);
    expect(await pubackCode(client, 'a/b/c/d', 'deep')).toBe(0x90);
    expect(await pubackCode(client, 'a'.repeat(17), 'long')).toBe(0x90);
    expect(broker.stats().topicRefused).toBe(2);
  });

  it.each([
    [4, 0x80],
    [5, 0x87],
  ] as const)('refuses a too deep filter in SUBSCRIBE (MQTT %i: %i)', async (v, code) => {
    const { url } = await start({ clock: new SystemClock(), limits });
    const client = await pool.connect(url, { protocolVersion: v });
    expect(await subackCodes(client, ['a/+/c', 'a/b/c/#'])).toEqual([1, code]);
  });
});

/** A `wrapConnection` that calls `count` for each packet of `type` the broker writes to a client. */
function countingWrites(type: number, count: () => void): (stream: Duplex) => Duplex {
  return (stream) => {
    const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
    const counting = (chunk: unknown, ...rest: unknown[]): boolean => {
      // Each write to the socket holds whole packets, one or several.
      if (Buffer.isBuffer(chunk)) for (const t of packetTypes(chunk)) if (t === type) count();
      return write(chunk, ...rest);
    };
    stream.write = counting as typeof stream.write;
    return stream;
  };
}

describe('max_inflight and beforePublish', () => {
  it('holds the PUBACK until beforePublish settles, and disconnects with 0x93 past the window', async () => {
    const held: (() => void)[] = [];
    const arrived = new EventEmitter();
    let pubacksWritten = 0;
    const { url, broker } = await start({
      clock: new SystemClock(),
      limits: { maxInflight: 2 },
      beforePublish: () =>
        new Promise<void>((resolve) => {
          held.push(resolve);
          arrived.emit('held');
        }),
      wrapConnection: countingWrites(PacketType.PUBACK, () => pubacksWritten++),
    });
    const client = await pool.connect(url, { protocolVersion: 5 });
    let acked = 0;
    const acks = [1, 2].map(() => client.publishAsync('sensors/a/t', 'x', { qos: 1 }).then(() => acked++));
    await until(() => held.length === 2, 'both messages to reach beforePublish', [[arrived, 'held']]);
    // One more turn of the event loop for anything already due to be written.
    await new Promise((resolve) => setImmediate(resolve));
    expect(pubacksWritten).toBe(0);
    held.splice(0).forEach((release) => release());
    await Promise.all(acks);
    expect(acked).toBe(2);
    expect(pubacksWritten).toBe(2);

    const reason = disconnectReason(client);
    for (let i = 0; i < 3; i++) client.publishAsync('sensors/a/t', 'x', { qos: 1 }).catch(() => undefined);
    expect(await reason).toBe(0x93);
    expect(broker.stats().inflightExceeded).toBe(1);
    held.splice(0).forEach((release) => release());
  });
});

describe('holdAck', () => {
  it.each([
    [4, 1, PacketType.PUBACK],
    [5, 1, PacketType.PUBACK],
    [4, 2, PacketType.PUBREC],
    [5, 2, PacketType.PUBREC],
  ] as const)(
    'routes an MQTT %i QoS %i message at once and holds its acknowledgement until the hold settles',
    async (version, qos, ackType) => {
      const held: (() => void)[] = [];
      const arrived = new EventEmitter();
      let acksWritten = 0;
      const { url } = await start({
        clock: new SystemClock(),
        holdAck: () =>
          new Promise<void>((resolve) => {
            held.push(resolve);
            arrived.emit('held');
          }),
        wrapConnection: countingWrites(ackType, () => acksWritten++),
      });
      const reader = await pool.connect(url, { protocolVersion: 5 });
      await reader.subscribeAsync('sensors/#', { qos: 1 });
      const routed = nextMessage(reader, 'sensors/a/t');
      const publisher = await pool.connect(url, { protocolVersion: version });
      let acked = false;
      const ack = publisher.publishAsync('sensors/a/t', 'x', { qos }).then(() => (acked = true));
      // The subscriber has the message while the publisher still waits for its acknowledgement.
      await routed;
      await until(() => held.length === 1, 'the message to reach holdAck', [[arrived, 'held']]);
      await new Promise((resolve) => setImmediate(resolve));
      expect(acked).toBe(false);
      expect(acksWritten).toBe(0);
      held.splice(0).forEach((release) => release());
      await ack;
      expect(acksWritten).toBe(1);
    },
  );
});

describe('max_queued', () => {
  it('disconnects a client that piles packets up before its CONNECT is answered, counted', async () => {
    const { broker } = await start({ clock: new SystemClock(), limits: { maxQueued: 2 } });
    const socket = netConnect(broker.mqttAddress?.port ?? 0, '127.0.0.1');
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    const connect = generate({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clean: true,
      clientId: 'pile',
      keepalive: 30,
    });
    const publish = generate({
      cmd: 'publish',
      topic: 'a/b',
      payload: Buffer.from('x'),
      qos: 0,
      retain: false,
      dup: false,
    });
    socket.write(Buffer.concat([connect, publish, publish, publish, publish]));
    await closed;
    expect(broker.stats().queueFull).toBe(1);
  });
});
