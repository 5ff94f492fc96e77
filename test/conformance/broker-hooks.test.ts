/**
 * Conformance that needs the broker built with particular deps rather than the hub's defaults: a
 * subscription the security policy denies (through the broker's `auth` extension point), and the
 * hub's keep-alive limit actually enforced on an MQTT 5 client that asked for none.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Broker, type BrokerAuth } from '../../hub/broker/index.js';
import { MemoryLogger, SystemClock } from '../../kernel/index.js';
import { ClientPool } from '../support/mqtt-client.js';
import { RawClient } from './raw-client.js';

const pool = new ClientPool();
const raws: RawClient[] = [];
let broker: Broker | undefined;

afterEach(async () => {
  for (const r of raws.splice(0)) r.destroy();
  await pool.closeAll();
  await broker?.stop();
  broker = undefined;
});

/** Everyone may connect and publish; `secret/…` may not be subscribed to. */
const denySecrets: BrokerAuth = {
  authenticate: (req) =>
    Promise.resolve({ ok: true, subject: { clientId: req.clientId, username: req.username } }),
  mayPublish: () => true,
  maySubscribe: (_subject, filter) => !filter.startsWith('secret/'),
  mayRead: () => true,
};

async function startBroker(extra: { auth?: BrokerAuth; maxKeepaliveSeconds?: number }): Promise<Broker> {
  const b = new Broker({
    options: {
      host: '127.0.0.1',
      port: 0,
      wsPort: null,
      maxPacketBytes: 64 * 1024,
      ...(extra.maxKeepaliveSeconds !== undefined && { maxKeepaliveSeconds: extra.maxKeepaliveSeconds }),
    },
    clock: new SystemClock(),
    logger: new MemoryLogger(),
    ...(extra.auth && { auth: extra.auth }),
  });
  await b.start();
  broker = b;
  return b;
}

describe.each([4, 5] as const)('a denied subscription, MQTT protocol %i', (v) => {
  it(`is answered with SUBACK ${v === 5 ? '0x87' : '0x80'} and the connection stays up`, async () => {
    const b = await startBroker({ auth: denySecrets });
    const { client } = await RawClient.connect(b.mqttAddress?.port ?? 0, {
      protocolVersion: v,
      clientId: 'd',
    });
    raws.push(client);
    const suback = await client.subscribe(
      [
        { topic: 'secret/#', qos: 1 },
        { topic: 'open/#', qos: 1 },
      ],
      1,
    );
    expect(suback.granted).toEqual([v === 5 ? 0x87 : 0x80, 1]);
    // Still connected and subscribed to what was allowed.
    const url = `mqtt://127.0.0.1:${b.mqttAddress?.port}`;
    await (await pool.connect(url, { protocolVersion: v })).publishAsync('open/x', 'ok', { qos: 1 });
    expect((await client.next('publish')).topic).toBe('open/x');
  });
});

describe('the keep-alive limit', () => {
  it('drops an MQTT 5 client that asked for no keep-alive once 1.5× the imposed one passes', async () => {
    const b = await startBroker({ maxKeepaliveSeconds: 1 });
    const { client, connack } = await RawClient.connect(b.mqttAddress?.port ?? 0, {
      protocolVersion: 5,
      clientId: 'quiet',
      keepalive: 0,
    });
    raws.push(client);
    expect(connack.properties?.serverKeepAlive).toBe(1);
    const t0 = performance.now();
    await client.closed;
    expect(performance.now() - t0).toBeGreaterThanOrEqual(1400);
  });

  it('leaves an MQTT 3.1.1 client with keep-alive 0 connected', async () => {
    const b = await startBroker({ maxKeepaliveSeconds: 1 });
    const { client, connack } = await RawClient.connect(b.mqttAddress?.port ?? 0, {
      protocolVersion: 4,
      clientId: 'old',
      keepalive: 0,
    });
    raws.push(client);
    expect(connack.returnCode).toBe(0);
    // Still served after the 1.5 s a 1 s keep-alive would allow: a ping is answered.
    const url = `mqtt://127.0.0.1:${b.mqttAddress?.port}`;
    const other = await pool.connect(url, { protocolVersion: 4, keepalive: 1 });
    await new Promise((resolve) => other.once('packetreceive', resolve));
    await new Promise((resolve) => other.once('packetreceive', resolve));
    const pong = client.next('pingresp');
    client.send({ cmd: 'pingreq' });
    await pong;
    expect(client.isOpen).toBe(true);
  });
});
