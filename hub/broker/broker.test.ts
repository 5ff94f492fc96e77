import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryLogger, SystemClock, type MqttMessage } from '../../kernel/index.js';
import { ClientPool, closed, nextMessage } from '../../test/support/mqtt-client.js';
import { Broker } from './broker.js';

let broker: Broker;
let logger: MemoryLogger;
const pool = new ClientPool();

beforeEach(async () => {
  logger = new MemoryLogger();
  broker = new Broker({
    options: { host: '127.0.0.1', port: 0, wsPort: 0, maxPacketBytes: 64 * 1024 },
    clock: new SystemClock(),
    logger,
  });
  await broker.start();
});

afterEach(async () => {
  await pool.closeAll();
  await broker.stop();
});

const tcpUrl = (): string => `mqtt://127.0.0.1:${broker.mqttAddress?.port}`;

describe('Broker', () => {
  it.each([4, 5] as const)(
    'accepts MQTT protocol version %i and reports each publish as a message',
    async (v) => {
      const seen: MqttMessage[] = [];
      broker.onMessage(seen, (m) => seen.push(m));
      const client = await pool.connect(tcpUrl(), { protocolVersion: v, clientId: `sensor-v${v}` });
      await client.publishAsync('sensors/a/temperature', '{"value":21}', { qos: 1 });
      expect(seen).toHaveLength(1);
      expect(seen[0]).toMatchObject({ topic: 'sensors/a/temperature', qos: 1, clientId: `sensor-v${v}` });
      expect(seen[0]?.payload.toString()).toBe('{"value":21}');
    },
  );

  it('accepts a QoS 0 message of its own at once and still refuses one aedes cannot route', async () => {
    const listener = await pool.connect(tcpUrl(), { clientId: 'listener' });
    await listener.subscribeAsync('actuators/#');
    const arrived = nextMessage(listener, 'actuators/fan-1/set');
    const accepted = broker.publish({ topic: 'actuators/fan-1/set', payload: '{"on":true}' });
    // Settled before the subscriber's socket write: a rule run publishing it finishes meanwhile.
    let settled = false;
    void accepted.then(() => (settled = true));
    await Promise.resolve();
    expect(settled).toBe(true);
    expect((await arrived).payload.toString()).toBe('{"on":true}');
    await expect(broker.publish({ topic: 'a/'.repeat(150) + 'b', payload: 'x' })).rejects.toThrow(
      /too many levels/,
    );
  });

  it('hands each listener messages in routing order, also those a listener publishes in reaction', async () => {
    const first: string[] = [];
    const second: string[] = [];
    broker.onMessage(first, (m) => {
      first.push(m.topic);
      // A rule reacting at once: the reply is routed while the listeners still handle the reading.
      if (m.topic === 'sensors/a/temperature') broker.publishNow({ topic: 'actuators/a/fan', payload: 'on' });
    });
    broker.onMessage(second, (m) => second.push(m.topic));
    const sensor = await pool.connect(tcpUrl(), { clientId: 'sensor-a' });
    await sensor.publishAsync('sensors/a/temperature', '{"value":31}', { qos: 1 });
    const expected = ['sensors/a/temperature', 'actuators/a/fan'];
    expect(first).toEqual(expected);
    expect(second).toEqual(expected);
  });

  it('keeps the event loop turning while a listener answers its own messages', async () => {
    // The listener gives up after 20,000 answers, so a broker that never yields still ends the test.
    let answered = 0;
    broker.onMessage({}, (m) => {
      if (m.topic !== 'loop/x' || answered >= 20_000) return;
      answered++;
      broker.publishNow({ topic: 'loop/x', payload: String(answered) });
    });
    let answeredWhenTurned = -1;
    const turned = new Promise<void>((resolve) =>
      setImmediate(() => {
        answeredWhenTurned = answered;
        resolve();
      }),
    );
    broker.publishNow({ topic: 'loop/x', payload: 'start' });
    await turned;
    expect(answeredWhenTurned).toBeGreaterThan(0);
    expect(answeredWhenTurned).toBeLessThan(20_000);
  });

  it('delivers at QoS 2 and keeps retained messages for later subscribers', async () => {
    const pub = await pool.connect(tcpUrl(), { protocolVersion: 5 });
    await pub.publishAsync('devices/x/availability', 'online', { qos: 2, retain: true });
    const sub = await pool.connect(tcpUrl(), { protocolVersion: 4 });
    const got = nextMessage(sub, 'devices/x/availability');
    await sub.subscribeAsync('devices/+/availability', { qos: 2 });
    const msg = await got;
    expect(msg.payload.toString()).toBe('online');
    expect(msg.packet.retain).toBe(true);
  });

  it('publishes the last will when a client vanishes', async () => {
    const watcher = await pool.connect(tcpUrl());
    await watcher.subscribeAsync('devices/w/availability');
    const will = nextMessage(watcher, 'devices/w/availability');
    const device = await pool.connect(tcpUrl(), {
      will: { topic: 'devices/w/availability', payload: Buffer.from('offline'), qos: 1, retain: true },
    });
    device.stream.destroy();
    expect((await will).payload.toString()).toBe('offline');
  });

  it('carries MQTT over WebSocket', async () => {
    const ws = await pool.connect(`ws://127.0.0.1:${broker.wsAddress?.port}`, { protocolVersion: 5 });
    const tcp = await pool.connect(tcpUrl());
    await tcp.subscribeAsync('hello/#');
    const got = nextMessage(tcp, 'hello/ws');
    await ws.publishAsync('hello/ws', 'hi');
    expect((await got).payload.toString()).toBe('hi');
  });

  it('refuses a packet over the size limit and keeps serving others', async () => {
    const big = await pool.connect(tcpUrl(), { protocolVersion: 5 });
    const gone = closed(big);
    big.publish('sensors/big/blob', Buffer.alloc(100 * 1024));
    await gone;
    expect(broker.stats().refusedTooLarge).toBe(1);
    expect(logger.entries.some((e) => e.msg.includes('max_packet_bytes'))).toBe(true);
    const other = await pool.connect(tcpUrl());
    await other.publishAsync('sensors/ok/temperature', '1', { qos: 1 });
    expect(broker.stats().published).toBe(1);
  });

  it('names the port and the fix when the port is taken', async () => {
    const second = new Broker({
      options: { host: '127.0.0.1', port: broker.mqttAddress?.port ?? 0, wsPort: null, maxPacketBytes: 1024 },
      clock: new SystemClock(),
      logger,
    });
    const err: unknown = await second.start().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'LISTEN_FAILED' });
    expect((err as Error).message).toMatch(/already in use.*--mqtt-port/);
    await second.stop();
  });
});
