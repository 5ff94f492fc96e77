/**
 * MQTT 5 features aedes 2.0.0-beta.1 stores without honouring, as the hub honours them: Maximum
 * Packet Size, Subscription Identifiers, Receive Maximum, Server Keep Alive, will properties,
 * message expiry across a Clean Start = 0 reconnect, and DISCONNECT with a reason code on a
 * protocol error. Each is checked with a real MQTT 5 client.
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { IConnackPacket } from 'mqtt-packet';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ClientPool, nextMessage, type Received } from '../support/mqtt-client.js';
import { HubFixture } from './hub-fixture.js';
import { RawClient } from './raw-client.js';
import { until } from '../support/until.js';

const pool = new ClientPool();
const raws: RawClient[] = [];
const loose: MqttClient[] = [];
let fx: HubFixture;

beforeAll(async () => {
  fx = await HubFixture.start({ maxKeepalive: 60 });
});
afterEach(async () => {
  vi.useRealTimers();
  for (const r of raws.splice(0)) r.destroy();
  await Promise.all(loose.splice(0).map((c) => c.endAsync(true)));
  await pool.closeAll();
});
afterAll(async () => {
  await fx.stop();
});

const v5 = (opts: IClientOptions = {}): Promise<MqttClient> =>
  pool.connect(fx.url, { protocolVersion: 5, ...opts });

/** Connects without waiting, so listeners can be in place before the CONNACK and what follows it. */
async function v5WithConnack(
  opts: IClientOptions,
  onMessage?: (m: Received) => void,
): Promise<IConnackPacket> {
  const client = mqtt.connect(fx.url, { protocolVersion: 5, reconnectPeriod: 0, ...opts });
  loose.push(client);
  if (onMessage) client.on('message', (topic, payload, packet) => onMessage({ topic, payload, packet }));
  return new Promise<IConnackPacket>((resolve) => client.once('connect', resolve));
}

async function raw(connect: Parameters<typeof RawClient.connect>[1]): ReturnType<typeof RawClient.connect> {
  const result = await RawClient.connect(fx.port, connect);
  raws.push(result.client);
  return result;
}

describe('Maximum Packet Size', () => {
  it('does not send a client a message larger than it accepts, and sends the rest', async () => {
    const small = await v5({ properties: { maximumPacketSize: 128 } });
    await small.subscribeAsync('m5/size/#', { qos: 1 });
    const got: string[] = [];
    small.on('message', (topic) => got.push(topic));
    const big = await v5();
    await big.subscribeAsync('m5/size/#', { qos: 1 });
    const bigGot = nextMessage(big, 'm5/size/large');
    const pub = await v5();
    await pub.publishAsync('m5/size/large', Buffer.alloc(1000, 'x'), { qos: 1 });
    const marker = nextMessage(small, 'm5/size/small');
    await pub.publishAsync('m5/size/small', 'fits', { qos: 1 });
    await marker;
    expect(got).toEqual(['m5/size/small']);
    expect((await bigGot).payload.length).toBe(1000);
    expect(small.connected).toBe(true);
    expect(fx.hub.broker.stats().droppedOverClientMaximum).toBeGreaterThanOrEqual(1);
  });
});

describe('Subscription Identifiers', () => {
  it('carries the identifier of every matching subscription', async () => {
    const sub = await v5();
    await sub.subscribeAsync('m5/si/+', { qos: 1, properties: { subscriptionIdentifier: 1 } });
    await sub.subscribeAsync('m5/si/#', { qos: 0, properties: { subscriptionIdentifier: 2 } });
    await sub.subscribeAsync('m5/si/plain', { qos: 1 });
    const pub = await v5();
    const both = nextMessage(sub, 'm5/si/plain');
    await pub.publishAsync('m5/si/plain', 'x', { qos: 1 });
    expect((await both).packet.properties?.subscriptionIdentifier).toEqual([1, 2]);
    const deep = nextMessage(sub, 'm5/si/a/b');
    await pub.publishAsync('m5/si/a/b', 'y', { qos: 1 });
    expect((await deep).packet.properties?.subscriptionIdentifier).toBe(2);
  });

  it('keeps the identifiers of a session resumed with Clean Start = 0', async () => {
    const id = 'm5-si-resume';
    const opts = { clientId: id, properties: { sessionExpiryInterval: 300 } };
    const first = await v5({ ...opts, clean: true });
    await first.subscribeAsync('m5/sir/+', { qos: 1, properties: { subscriptionIdentifier: 7 } });
    await first.subscribeAsync('m5/sir/#', { qos: 1, properties: { subscriptionIdentifier: 8 } });
    await first.endAsync();
    const seen: Received[] = [];
    const connack = await v5WithConnack({ ...opts, clean: false }, (m) => seen.push(m));
    expect(connack.sessionPresent).toBe(true);
    const client = loose.at(-1) as MqttClient;
    const got = nextMessage(client, 'm5/sir/x');
    await (await v5()).publishAsync('m5/sir/x', 'z', { qos: 1 });
    expect((await got).packet.properties?.subscriptionIdentifier).toEqual([7, 8]);
  });
});

describe('Receive Maximum', () => {
  it('keeps no more unacknowledged QoS 1 messages in flight than the client allows', async () => {
    const { client } = await raw({
      protocolVersion: 5,
      clientId: 'm5-rm',
      properties: { receiveMaximum: 2 },
    });
    await client.subscribe([{ topic: 'm5/rm/#', qos: 1 }], 1);
    const pub = await v5();
    for (let i = 0; i < 5; i++) await pub.publishAsync('m5/rm/q1', String(i), { qos: 1 });
    // QoS 0 is outside the window, and aedes wrote it after the five QoS 1 messages.
    await pub.publishAsync('m5/rm/end', 'end', { qos: 0 });
    await client.next('publish', (p) => p.topic === 'm5/rm/end');
    const first = client.pending('publish');
    expect(first.map((p) => p.payload.toString())).toEqual(['0', '1']);

    const third = client.next('publish', (p) => p.payload.toString() === '2');
    client.send({ cmd: 'puback', messageId: first[0]?.messageId ?? 0 });
    await third;
    expect(client.pending('publish').map((p) => p.payload.toString())).toEqual(['0', '1']);
  });

  it('counts a QoS 2 message in flight until PUBCOMP', async () => {
    const { client } = await raw({
      protocolVersion: 5,
      clientId: 'm5-rm2',
      properties: { receiveMaximum: 1 },
    });
    await client.subscribe([{ topic: 'm5/rm2/#', qos: 2 }], 1);
    const pub = await v5();
    await pub.publishAsync('m5/rm2/a', 'a', { qos: 2 });
    await pub.publishAsync('m5/rm2/b', 'b', { qos: 2 });
    const a = await client.next('publish');
    const pubrel = client.next('pubrel');
    client.send({ cmd: 'pubrec', messageId: a.messageId ?? 0 });
    await pubrel;
    await pub.publishAsync('m5/rm2/end', 'end', { qos: 0 });
    await client.next('publish', (p) => p.topic === 'm5/rm2/end');
    expect(client.pending('publish')).toEqual([]);
    const b = client.next('publish', (p) => p.topic === 'm5/rm2/b');
    client.send({ cmd: 'pubcomp', messageId: a.messageId ?? 0 });
    expect((await b).payload.toString()).toBe('b');
  });
});

describe('Server Keep Alive', () => {
  it.each([
    [3600, 60],
    [0, 60],
    [30, undefined],
  ])('answers a keep-alive of %i s with Server Keep Alive %s', async (asked, imposed) => {
    const connack = await v5WithConnack({ keepalive: asked });
    expect(connack.properties?.serverKeepAlive).toBe(imposed);
  });

  it.each([0, 3600])('accepts an MQTT 3.1.1 client with keep-alive %i', async (keepalive) => {
    const { connack } = await raw({ protocolVersion: 4, clientId: `ka-${keepalive}`, keepalive });
    expect(connack.returnCode).toBe(0);
  });
});

describe('wills', () => {
  it('publishes a will without its will-only properties and keeps the rest', async () => {
    const watcher = await v5();
    await watcher.subscribeAsync('m5/will/#', { qos: 1 });
    const will = nextMessage(watcher, 'm5/will/dev');
    const device = await v5({
      will: {
        topic: 'm5/will/dev',
        payload: Buffer.from('offline'),
        qos: 1,
        retain: false,
        properties: { willDelayInterval: 30, contentType: 'text/plain', userProperties: { site: 'gh' } },
      },
    });
    device.stream.destroy();
    const props = (await will).packet.properties;
    expect(props).toMatchObject({ contentType: 'text/plain', userProperties: { site: 'gh' } });
    expect(props).not.toHaveProperty('willDelayInterval');
  });
});

describe('Clean Start = 0 with Message Expiry', () => {
  it('delivers queued messages with their expiry counted down and drops expired ones', async () => {
    const opts = { clientId: 'm5-expiry', properties: { sessionExpiryInterval: 300 } };
    const first = await v5({ ...opts, clean: true });
    await first.subscribeAsync('m5/exp/#', { qos: 1 });
    await first.endAsync();
    vi.useFakeTimers({ toFake: ['Date'] });
    const pub = await v5();
    await pub.publishAsync('m5/exp/long', 'a', { qos: 1, properties: { messageExpiryInterval: 60 } });
    await pub.publishAsync('m5/exp/short', 'b', { qos: 1, properties: { messageExpiryInterval: 5 } });
    vi.setSystemTime(Date.now() + 10_000);

    const seen: Received[] = [];
    const connack = await v5WithConnack({ ...opts, clean: false }, (m) => seen.push(m));
    expect(connack.sessionPresent).toBe(true);
    const client = loose.at(-1) as MqttClient;
    const marker = nextMessage(client, 'm5/exp/marker');
    await pub.publishAsync('m5/exp/marker', 'm', { qos: 1 });
    await marker;
    expect(seen.map((m) => m.topic)).toEqual(['m5/exp/long', 'm5/exp/marker']);
    expect(seen[0]?.packet.properties?.messageExpiryInterval).toBe(50);
  });
});

describe('Topic Aliases', () => {
  it('advertises Topic Alias Maximum and routes a message sent by alias like any other, rules included', async () => {
    const connack = await v5WithConnack({ clientId: 'm5-alias-in' });
    expect(connack.properties?.topicAliasMaximum).toBe(10);
    const sensor = loose.at(-1) as MqttClient;
    const watcher = await v5();
    await watcher.subscribeAsync(['sensors/alias-1/temperature', 'actuators/alias-1/fan'], { qos: 1 });
    const got: string[] = [];
    watcher.on('message', (topic, payload) => got.push(`${topic} ${String(payload)}`));
    await sensor.publishAsync('sensors/alias-1/temperature', '{"value":20,"seq":1}', {
      qos: 1,
      properties: { topicAlias: 3 },
    });
    // The alias alone names the topic now.
    await sensor.publishAsync('', '{"value":35,"seq":2}', { qos: 1, properties: { topicAlias: 3 } });
    await until(() => got.length === 4, 'two readings and two fan commands', [[watcher, 'message']]);
    expect(got.filter((g) => g.startsWith('actuators/')).map((g) => g.includes('"on":true'))).toEqual([
      false,
      true,
    ]);
    expect(got.filter((g) => g.startsWith('sensors/'))).toEqual([
      'sensors/alias-1/temperature {"value":20,"seq":1}',
      'sensors/alias-1/temperature {"value":35,"seq":2}',
    ]);
  });

  it('closes a client that uses an alias it never set up, or one over the maximum, with DISCONNECT 0x94', async () => {
    for (const [topic, alias] of [
      ['', 4],
      ['sensors/alias-2/temperature', 11],
    ] as const) {
      const { client } = await raw({ protocolVersion: 5, clientId: `m5-alias-bad-${alias}` });
      client.send({
        cmd: 'publish',
        topic,
        payload: Buffer.from('1'),
        qos: 0,
        retain: false,
        dup: false,
        properties: { topicAlias: alias },
      });
      expect((await client.next('disconnect')).reasonCode).toBe(0x94);
      await client.closed;
    }
  });

  it('sends a topic a client receives repeatedly by alias when it accepts aliases', async () => {
    const { client } = await raw({
      protocolVersion: 5,
      clientId: 'm5-alias-out',
      properties: { topicAliasMaximum: 4 },
    });
    await client.subscribe([{ topic: 'm5/alias/#', qos: 0 }], 1);
    // A real client sees every message on its topic, aliases resolved.
    const seen: string[] = [];
    const reader = await v5({ properties: { topicAliasMaximum: 4 } });
    await reader.subscribeAsync('m5/alias/#');
    reader.on('message', (topic, payload) => seen.push(`${topic} ${String(payload)}`));
    const pub = await v5();
    for (let i = 1; i <= 3; i++) await pub.publishAsync('m5/alias/a', String(i), { qos: 1 });
    // Routed before its acknowledgement (which waits for the store), so listened for first.
    const last = nextMessage(reader, 'm5/alias/b');
    await pub.publishAsync('m5/alias/b', '4', { qos: 1 });
    await last;
    const wire = await Promise.all([1, 2, 3, 4].map(() => client.next('publish')));
    expect(wire.map((p) => [p.topic, p.properties?.topicAlias, String(p.payload)])).toEqual([
      ['m5/alias/a', undefined, '1'],
      ['m5/alias/a', 1, '2'],
      ['', 1, '3'],
      ['m5/alias/b', undefined, '4'],
    ]);
    expect(seen).toEqual(['m5/alias/a 1', 'm5/alias/a 2', 'm5/alias/a 3', 'm5/alias/b 4']);
  });

  it('sends no alias where setting it up would exceed the client’s Maximum Packet Size', async () => {
    // At QoS 1: 1 + 1 + (2 + 12-byte topic + 2-byte packet id + 1 + 100-byte payload) = 119 bytes,
    // exactly the client's maximum.
    const { client } = await raw({
      protocolVersion: 5,
      clientId: 'm5-alias-tight',
      properties: { topicAliasMaximum: 4, maximumPacketSize: 119 },
    });
    await client.subscribe([{ topic: 'm5/alias/big', qos: 1 }], 1);
    const pub = await v5();
    for (let i = 0; i < 3; i++) await pub.publishAsync('m5/alias/big', 'x'.repeat(100), { qos: 1 });
    const wire = await Promise.all([1, 2, 3].map(() => client.next('publish')));
    expect(wire.map((p) => [p.topic, p.properties?.topicAlias])).toEqual([
      ['m5/alias/big', undefined],
      ['m5/alias/big', undefined],
      ['m5/alias/big', undefined],
    ]);
    expect(client.isOpen).toBe(true);
  });

  it('sends no alias to a client that did not ask for them', async () => {
    const { client } = await raw({ protocolVersion: 5, clientId: 'm5-alias-none' });
    await client.subscribe([{ topic: 'm5/noalias/#', qos: 0 }], 1);
    const pub = await v5();
    for (let i = 1; i <= 3; i++) await pub.publishAsync('m5/noalias/a', String(i), { qos: 1 });
    const wire = await Promise.all([1, 2, 3].map(() => client.next('publish')));
    expect(wire.map((p) => [p.topic, p.properties?.topicAlias])).toEqual([
      ['m5/noalias/a', undefined],
      ['m5/noalias/a', undefined],
      ['m5/noalias/a', undefined],
    ]);
  });
});

describe('protocol errors after CONNACK', () => {
  const cases: [string, Buffer, number][] = [
    ['a topic that is not UTF-8', Buffer.from([0x30, 0x06, 0x00, 0x03, 0x61, 0xff, 0x62, 0x00]), 0x81],
    ['a PUBLISH with both QoS bits set', Buffer.from([0x36, 0x05, 0x00, 0x01, 0x61, 0x00, 0x01]), 0x81],
    ['a wildcard in a topic name', Buffer.from([0x30, 0x05, 0x00, 0x02, 0x61, 0x23, 0x00]), 0x90],
    ['a second CONNECT', Buffer.from([0x10, 0x0d, 0, 4, 77, 81, 84, 84, 5, 2, 0, 0, 0, 0, 0]), 0x82],
    ['a packet only a server may send (SUBACK)', Buffer.from([0x90, 0x03, 0x00, 0x01, 0x00]), 0x82],
  ];

  it.each(cases)('answers %s with DISCONNECT 0x%s and publishes the will', async (_what, bytes, code) => {
    const watcher = await v5();
    await watcher.subscribeAsync('m5/perr/will', { qos: 1 });
    const will = nextMessage(watcher, 'm5/perr/will');
    const before = fx.hub.broker.stats().protocolErrors;
    const { client } = await raw({
      protocolVersion: 5,
      clientId: `m5-perr-${code}`,
      will: { topic: 'm5/perr/will', payload: Buffer.from('gone'), qos: 1, retain: false },
    });
    client.sendBytes(bytes);
    const disconnect = await client.next('disconnect');
    expect(disconnect.reasonCode).toBe(code);
    await client.closed;
    expect((await will).payload.toString()).toBe('gone');
    expect(fx.hub.broker.stats().protocolErrors).toBe(before + 1);
  });

  it('answers a bad packet sent along with CONNECT after the CONNACK', async () => {
    const client = await RawClient.open(fx.port, 5);
    raws.push(client);
    const connect = Buffer.from([0x10, 0x0f, 0, 4, 77, 81, 84, 84, 5, 2, 0, 0, 0, 0, 2, 0x70, 0x70]);
    client.sendBytes(Buffer.concat([connect, Buffer.from([0x30, 0x05, 0x00, 0x01, 0xff, 0x00, 0x00])]));
    const connack = await client.next('connack');
    expect(connack.reasonCode).toBe(0);
    expect((await client.next('disconnect')).reasonCode).toBe(0x81);
  });

  it('closes an MQTT 3.1.1 connection on the same errors, which 3.1.1 cannot be told about', async () => {
    const { client } = await raw({ protocolVersion: 4, clientId: 'm4-perr' });
    client.sendBytes(Buffer.from([0x30, 0x05, 0x00, 0x01, 0xff, 0x00, 0x00]));
    await client.closed;
    expect(client.received).toEqual([]);
  });
});
