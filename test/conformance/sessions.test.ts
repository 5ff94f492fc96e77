/**
 * MQTT conformance of sessions at protocol 3.1.1 and 5: QoS 1/2 redelivery after a reconnect,
 * persistent and clean sessions, zero-length client identifiers and the keep-alive timeout.
 * Raw clients (mqtt-packet) stand in where a test must withhold acknowledgements or fall silent.
 */
import mqtt from 'mqtt';
import type { IConnackPacket, IConnectPacket } from 'mqtt-packet';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ClientPool } from '../support/mqtt-client.js';
import { HubFixture } from './hub-fixture.js';
import { RawClient } from './raw-client.js';

const pool = new ClientPool();
const raws: RawClient[] = [];
let fx: HubFixture;

beforeAll(async () => {
  fx = await HubFixture.start({ maxKeepalive: 60 });
});
afterEach(async () => {
  for (const r of raws.splice(0)) r.destroy();
  await pool.closeAll();
});
afterAll(async () => {
  await fx.stop();
});

type Version = 4 | 5;

/** CONNECT fields for a session that outlives its connection (MQTT 5: an expiry interval). */
function persistent(
  v: Version,
  clientId: string,
  resume: boolean,
): Partial<IConnectPacket> & { protocolVersion: Version } {
  return v === 5
    ? { protocolVersion: 5, clientId, clean: !resume, properties: { sessionExpiryInterval: 300 } }
    : { protocolVersion: 4, clientId, clean: false };
}

async function raw(connect: Partial<IConnectPacket> & { protocolVersion: 3 | 4 | 5 }): Promise<{
  client: RawClient;
  connack: Awaited<ReturnType<typeof RawClient.connect>>['connack'];
}> {
  const result = await RawClient.connect(fx.port, connect);
  raws.push(result.client);
  return result;
}

const reasonOf = (c: { returnCode?: number; reasonCode?: number }): number | undefined =>
  c.reasonCode ?? c.returnCode;

describe.each([4, 5] as const)('MQTT protocol %i', (v) => {
  const base = `sess/v${v}`;

  it.each([1, 2] as const)('redelivers an unacknowledged QoS %i message after a reconnect', async (qos) => {
    const id = `redeliver-${v}-${qos}`;
    const first = await raw(persistent(v, id, false));
    await first.client.subscribe([{ topic: `${base}/q${qos}`, qos }], 1);
    const pub = await pool.connect(fx.url, { protocolVersion: v });
    await pub.publishAsync(`${base}/q${qos}`, 'important', { qos });
    const sent = await first.client.next('publish');
    expect(sent.payload.toString()).toBe('important');
    first.client.destroy(); // no PUBACK / PUBREC

    const second = await raw(persistent(v, id, true));
    expect(second.connack.sessionPresent).toBe(true);
    const again = await second.client.next('publish');
    expect(again.payload.toString()).toBe('important');
    expect(again.messageId).toBe(sent.messageId);
  });

  // MQTT 3.1.1 [MQTT-3.3.1-1] and MQTT 5 §4.4: a re-delivered PUBLISH carries DUP = 1. aedes
  // 2.0.0-beta.1 re-sends it with DUP = 0 (an upstream fix); clients we know of ignore DUP.
  it.fails('sets DUP on a PUBLISH it re-delivers after a reconnect', async () => {
    const id = `dup-${v}`;
    const first = await raw(persistent(v, id, false));
    await first.client.subscribe([{ topic: `${base}/dup`, qos: 1 }], 1);
    const pub = await pool.connect(fx.url, { protocolVersion: v });
    await pub.publishAsync(`${base}/dup`, 'again', { qos: 1 });
    await first.client.next('publish');
    first.client.destroy();
    const second = await raw(persistent(v, id, true));
    expect((await second.client.next('publish')).dup).toBe(true);
  });

  it('resends PUBREL for a QoS 2 message received but not completed', async () => {
    const id = `pubrel-${v}`;
    const first = await raw(persistent(v, id, false));
    await first.client.subscribe([{ topic: `${base}/rel`, qos: 2 }], 1);
    const pub = await pool.connect(fx.url, { protocolVersion: v });
    await pub.publishAsync(`${base}/rel`, 'once only', { qos: 2 });
    const sent = await first.client.next('publish');
    const pubrel = first.client.next('pubrel');
    first.client.send({ cmd: 'pubrec', messageId: sent.messageId ?? 0 });
    await pubrel;
    first.client.destroy(); // no PUBCOMP

    const second = await raw(persistent(v, id, true));
    const again = await second.client.next('pubrel');
    expect(again.messageId).toBe(sent.messageId);
    expect(second.client.pending('publish')).toEqual([]);
  });

  it('keeps subscriptions and queues QoS 1 messages for a persistent session while it is away', async () => {
    const id = `persist-${v}`;
    const first = await raw(persistent(v, id, false));
    await first.client.subscribe([{ topic: `${base}/away/#`, qos: 1 }], 1);
    await first.client.disconnect();
    const pub = await pool.connect(fx.url, { protocolVersion: v });
    await pub.publishAsync(`${base}/away/a`, 'while away', { qos: 1 });

    const second = await raw(persistent(v, id, true));
    expect(second.connack.sessionPresent).toBe(true);
    expect((await second.client.next('publish')).payload.toString()).toBe('while away');
    // The subscription itself came back too.
    await pub.publishAsync(`${base}/away/b`, 'after return', { qos: 1 });
    expect((await second.client.next('publish', (p) => p.topic === `${base}/away/b`)).qos).toBe(1);
  });

  it('starts a clean session without the old subscriptions or messages', async () => {
    const id = `clean-${v}`;
    const first = await raw(persistent(v, id, false));
    await first.client.subscribe([{ topic: `${base}/cl/#`, qos: 1 }], 1);
    await first.client.disconnect();
    const pub = await pool.connect(fx.url, { protocolVersion: v });
    await pub.publishAsync(`${base}/cl/a`, 'for the old session', { qos: 1 });

    const second = await raw({ protocolVersion: v, clientId: id, clean: true });
    expect(second.connack.sessionPresent).toBe(false);
    await second.client.subscribe([{ topic: `${base}/cl/marker`, qos: 1 }], 2);
    await pub.publishAsync(`${base}/cl/marker`, 'm', { qos: 1 });
    await second.client.next('publish', (p) => p.topic === `${base}/cl/marker`);
    expect(second.client.pending('publish')).toEqual([]);
  });

  it('drops a client that falls silent after 1.5× its keep-alive', async () => {
    const { client } = await raw({ protocolVersion: v, clientId: `silent-${v}`, keepalive: 1 });
    const t0 = performance.now();
    await client.closed;
    const elapsed = performance.now() - t0;
    expect(elapsed).toBeGreaterThanOrEqual(1400);
    expect(elapsed).toBeLessThan(5000);
  });
});

describe('zero-length client identifiers', () => {
  it('accepts one from an MQTT 3.1.1 client with a clean session', async () => {
    const { client, connack } = await raw({ protocolVersion: 4, clientId: '', clean: true });
    expect(reasonOf(connack)).toBe(0);
    await client.subscribe([{ topic: 'zero/a', qos: 0 }], 1);
  });

  it('refuses one from an MQTT 3.1.1 client asking for a persistent session (0x02)', async () => {
    // mqtt-packet will not encode this CONNECT, so it goes as bytes: MQTT 3.1.1, flags 0, keep-alive 0.
    const client = await RawClient.open(fx.port, 4);
    raws.push(client);
    client.sendBytes(Buffer.from([0x10, 12, 0, 4, 77, 81, 84, 84, 4, 0x00, 0, 0, 0, 0]));
    expect((await client.next('connack')).returnCode).toBe(0x02);
    await client.closed;
  });

  it('assigns a client identifier to an MQTT 5 client', async () => {
    const client = mqtt.connect(fx.url, { protocolVersion: 5, clientId: '', reconnectPeriod: 0 });
    try {
      const connack = await new Promise<IConnackPacket>((resolve) => client.once('connect', resolve));
      expect(connack.properties?.assignedClientIdentifier).toMatch(/.+/);
    } finally {
      await client.endAsync(true);
    }
  });
});
