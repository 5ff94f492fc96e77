/**
 * Shared subscriptions (`$share/<group>/<filter>`, MQTT 5 §4.8.2), which aedes 2.0.0-beta.1 does
 * not have and the hub adds: each message to one member of the group, round robin; unacknowledged
 * QoS 1 messages to another member when one leaves; availability in CONNACK. Real MQTT 5 clients
 * (mqtt.js, and a raw client that can leave messages unacknowledged) against a whole hub.
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { IConnackPacket } from 'mqtt-packet';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ClientPool, nextMessage } from '../support/mqtt-client.js';
import { until } from '../support/until.js';
import { HubFixture } from './hub-fixture.js';
import { RawClient } from './raw-client.js';

const pool = new ClientPool();
const raws: RawClient[] = [];
let fx: HubFixture;

beforeAll(async () => {
  fx = await HubFixture.start();
});
afterEach(async () => {
  for (const r of raws.splice(0)) r.destroy();
  await pool.closeAll();
});
afterAll(async () => {
  await fx.stop();
});

const v5 = (opts: IClientOptions = {}): Promise<MqttClient> =>
  pool.connect(fx.url, { protocolVersion: 5, ...opts });

/** Every message `client` receives, as `topic payload`. */
function collect(client: MqttClient): string[] {
  const got: string[] = [];
  client.on('message', (topic, payload) => got.push(`${topic} ${payload.toString()}`));
  return got;
}

/** A client subscribed to `filter`, and what it receives. */
async function member(
  filter: string,
  qos: 0 | 1 | 2 = 1,
  opts: IClientOptions = {},
): Promise<{ client: MqttClient; got: string[] }> {
  const client = await v5(opts);
  const got = collect(client);
  await client.subscribeAsync(filter, { qos });
  return { client, got };
}

/** Publishes `count` messages `0…count-1` on `topic` at `qos`, each acknowledged before the next. */
async function publishSeries(topic: string, count: number, qos: 0 | 1 | 2 = 1): Promise<string[]> {
  const pub = await v5();
  const sent: string[] = [];
  for (let i = 0; i < count; i++) {
    await pub.publishAsync(topic, String(i), { qos });
    sent.push(`${topic} ${i}`);
  }
  return sent;
}

describe('shared subscriptions', () => {
  it('are advertised as available in CONNACK', async () => {
    const client = mqtt.connect(fx.url, { protocolVersion: 5, reconnectPeriod: 0 });
    const connack = await new Promise<IConnackPacket>((resolve) => client.once('connect', resolve));
    await client.endAsync();
    expect(connack.properties?.sharedSubscriptionAvailable).toBe(true);
  });

  it('deliver each message to one member, round robin, on the topic it was published on', async () => {
    const members = await Promise.all([v5(), v5(), v5()]);
    const got = members.map(collect);
    for (const m of members) await m.subscribeAsync('$share/workers/sh/rr/#', { qos: 1 });
    const plain = await v5();
    const plainGot = collect(plain);
    await plain.subscribeAsync('sh/rr/#', { qos: 1 });
    // What the hub's consumers (store, rules, registry) see of these topics.
    const consumed: string[] = [];
    const owner = {};
    fx.hub.broker.onMessage(owner, (m) => {
      if (m.topic.startsWith('sh/rr/') || m.topic.includes('sh/rr/')) consumed.push(m.topic);
    });

    const sent = await publishSeries('sh/rr/job', 9);
    await until(
      () => got.flat().length === 9 && plainGot.length === 9,
      'nine shared and nine plain deliveries',
      members.map((m) => [m, 'message'] as const).concat([[plain, 'message']]),
    );
    expect(got.map((g) => g.length)).toEqual([3, 3, 3]);
    expect(got.flat().sort()).toEqual([...sent].sort());
    // An ordinary subscriber still gets every message.
    expect(plainGot).toEqual(sent);
    // The hub's consumers saw each message once, not the copies made for members.
    const marker = fx.saw('sh/rr/marker');
    await plain.publishAsync('sh/rr/marker', 'x', { qos: 1 });
    await marker;
    fx.hub.broker.offOwner(owner);
    expect(consumed).toEqual([...Array<string>(9).fill('sh/rr/job'), 'sh/rr/marker']);
    expect(fx.hub.broker.stats().shared).toMatchObject({ groups: 1, members: 3 });
  });

  it('keep groups apart: each group gets every message once', async () => {
    const { client: a, got: gotA } = await member('$share/alpha/sh/groups/+', 0);
    const { client: b, got: gotB } = await member('$share/beta/sh/groups/+', 0);
    const sent = await publishSeries('sh/groups/x', 4);
    await until(() => gotA.length === 4 && gotB.length === 4, 'both groups', [
      [a, 'message'],
      [b, 'message'],
    ]);
    expect(gotA).toEqual(sent);
    expect(gotB).toEqual(sent);
  });

  it('send what a member left unacknowledged to another member when it goes', async () => {
    const { client: slow } = await RawClient.connect(fx.port, { protocolVersion: 5, clientId: 'sh-slow' });
    raws.push(slow);
    await slow.subscribe([{ topic: '$share/pool/sh/redeliver/#', qos: 1 }], 1);
    const { client: steady, got: steadyGot } = await member('$share/pool/sh/redeliver/#');

    const sent = await publishSeries('sh/redeliver/job', 6);
    await until(() => steadyGot.length === 3, 'the steady member’s half', [[steady, 'message']]);
    // The slow member received its half on the original topic and acknowledges none of it.
    const held = await Promise.all([0, 1, 2].map(() => slow.next('publish')));
    expect(held.every((p) => p.topic === 'sh/redeliver/job')).toBe(true);

    slow.destroy();
    await until(() => steadyGot.length === 6, 'the slow member’s messages, sent on', [[steady, 'message']]);
    expect([...steadyGot].sort()).toEqual([...sent].sort());
    expect(fx.hub.broker.stats().shared.redelivered).toBeGreaterThanOrEqual(3);
  });

  it('send nothing again that a member acknowledged before it went', async () => {
    const { client: first, got: gotFirst } = await member('$share/acked/sh/acked/#');
    const { client: second, got: gotSecond } = await member('$share/acked/sh/acked/#');
    await publishSeries('sh/acked/job', 4);
    await until(() => gotFirst.length + gotSecond.length === 4, 'four deliveries', [
      [first, 'message'],
      [second, 'message'],
    ]);
    const redeliveredBefore = fx.hub.broker.stats().shared.redelivered;
    // mqtt.js acknowledged each message on receipt; a marker proves the acknowledgements arrived.
    const marker = nextMessage(second, 'sh/acked/marker');
    await second.subscribeAsync('sh/acked/marker', { qos: 1 });
    await (await v5()).publishAsync('sh/acked/marker', 'x', { qos: 1 });
    await marker;
    await first.endAsync();
    const after = await publishSeries('sh/acked/job', 2);
    await until(() => gotSecond.length === 2 + 2 + 1, 'the rest on the remaining member', [
      [second, 'message'],
    ]);
    expect(gotSecond.slice(-2)).toEqual(after);
    expect(fx.hub.broker.stats().shared.redelivered).toBe(redeliveredBefore);
  });

  it('stop delivering to a member that unsubscribed', async () => {
    const { client: a, got: gotA } = await member('$share/u/sh/unsub/#');
    const { client: b, got: gotB } = await member('$share/u/sh/unsub/#');
    await a.unsubscribeAsync('$share/u/sh/unsub/#');
    const sent = await publishSeries('sh/unsub/job', 4);
    await until(() => gotB.length === 4, 'all four on the remaining member', [[b, 'message']]);
    expect(gotB).toEqual(sent);
    expect(gotA).toEqual([]);
  });

  it('queue for an offline member with a session when no member is connected', async () => {
    const opts = { clientId: 'sh-away', clean: false, properties: { sessionExpiryInterval: 300 } };
    const away = await v5(opts);
    await away.subscribeAsync('$share/away/sh/away/#', { qos: 1 });
    await away.endAsync();
    const sent = await publishSeries('sh/away/job', 3);

    const back = mqtt.connect(fx.url, { protocolVersion: 5, reconnectPeriod: 0, ...opts });
    const got = collect(back);
    await until(() => got.length === 3, 'the queued messages', [[back, 'message']]);
    await back.endAsync();
    expect(got).toEqual(sent);
  });

  it('do not send retained messages to a new shared subscription', async () => {
    const pub = await v5();
    await pub.publishAsync('sh/retained/state', 'kept', { qos: 1, retain: true });
    const member = await v5();
    const got = collect(member);
    await member.subscribeAsync('$share/r/sh/retained/#', { qos: 1 });
    // A live message through the share itself comes after anything sent on subscribing.
    const marker = nextMessage(member, 'sh/retained/marker');
    await pub.publishAsync('sh/retained/marker', 'x', { qos: 1 });
    await marker;
    expect(got).toEqual(['sh/retained/marker x']);
    await pub.publishAsync('sh/retained/state', '', { qos: 1, retain: true });
  });

  it('refuse a client the members’ private topics, to read or to write', async () => {
    const victim = await v5({ clientId: 'sh-victim' });
    await victim.subscribeAsync('$share/v/sh/private/#', { qos: 1 });
    const { client: snoop } = await RawClient.connect(fx.port, { protocolVersion: 5, clientId: 'sh-snoop' });
    raws.push(snoop);
    const suback = await snoop.subscribe(
      [
        { topic: '$edgehub-share/#', qos: 1 },
        { topic: '$edgehub-share/v~sh-victim/+/sh/private/#', qos: 1 },
      ],
      1,
    );
    expect(suback.granted).toEqual([0x87, 0x87]);
    const got = collect(victim);
    const puback = snoop.next('puback');
    snoop.send({
      cmd: 'publish',
      topic: '$edgehub-share/v~sh-victim/1/sh/private/x',
      payload: Buffer.from('spoofed'),
      qos: 1,
      messageId: 2,
      retain: false,
      dup: false,
    });
    expect((await puback).reasonCode).toBe(0x87);
    await publishSeries('sh/private/x', 1);
    await until(() => got.length === 1, 'the real message', [[victim, 'message']]);
    expect(got).toEqual(['sh/private/x 0']);
  });

  it('close a client whose shared subscription is malformed with DISCONNECT and its reason', async () => {
    for (const [topic, reason] of [
      ['$share/onlyname', 0x82],
      ['$share//x', 0x82],
      ['$share/a+b/x', 0x8f],
    ] as const) {
      const { client } = await RawClient.connect(fx.port, { protocolVersion: 5, clientId: 'sh-bad' });
      raws.push(client);
      const disconnect = client.next('disconnect');
      client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 0 }] });
      expect((await disconnect).reasonCode, topic).toBe(reason);
    }
  });

  it('leave the hub serving', async () => {
    await fx.assertServing(pool);
  });
});
