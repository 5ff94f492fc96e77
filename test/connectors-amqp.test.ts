import amqp, { type Channel, type ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ConnectorStatus, EventEnvelope } from '../hub/index.js';
import { startSite, type Site } from './support/connector-site.js';
import { useHubKit } from './support/hub-kit.js';
import { startRabbitMq, type RabbitHandle } from './support/servers/rabbitmq.js';

const kit = useHubKit();
let rabbit: RabbitHandle;
let connection: ChannelModel;
let channel: Channel;

/** The test's own client; opened again after a test killed and restarted RabbitMQ. */
async function connectClient(): Promise<void> {
  connection = await amqp.connect(rabbit.url);
  // A kill ends the connection with a socket error, which amqplib throws when nobody listens.
  connection.on('error', () => undefined);
  channel = await connection.createChannel();
}

beforeAll(async () => {
  rabbit = await startRabbitMq();
  await connectClient();
}, 180_000);

afterAll(async () => {
  await connection?.close().catch(() => undefined);
  await rabbit?.stop();
});

/** Every message on `queue` from now on, acknowledged as it comes. */
async function consume(queue: string): Promise<{ id: unknown; event: EventEnvelope; routingKey: string }[]> {
  const got: { id: unknown; event: EventEnvelope; routingKey: string }[] = [];
  await channel.consume(queue, (msg) => {
    if (!msg) return;
    got.push({
      id: msg.properties.messageId,
      event: JSON.parse(msg.content.toString()) as EventEnvelope,
      routingKey: msg.fields.routingKey,
    });
    channel.ack(msg);
  });
  return got;
}

async function site(connector: Record<string, unknown>, rules?: Record<string, string>): Promise<Site> {
  const s = await startSite(
    kit.temp,
    { type: 'amqp', url: rabbit.url, ...connector },
    rules ? { rules } : {},
  );
  kit.keep(s.hub);
  return s;
}

/** Where each matched message is: delivered, in flight, waiting, dropped or dead-lettered. */
function accounted(status: ConnectorStatus): number {
  return status.delivered + status.inFlight + status.backlog + status.dropped + status.deadLettered;
}

async function publish(s: Site, topic: string, values: readonly number[]): Promise<void> {
  const sensor = await kit.pool.connect(s.url);
  for (const value of values) await sensor.publishAsync(topic, JSON.stringify({ value }), { qos: 1 });
}

describe('an amqp connector against a real RabbitMQ', { timeout: 60_000 }, () => {
  it('publishes each event to the exchange with its routing key and the event id, confirmed, in order', async () => {
    await channel.assertExchange('a1.events', 'topic', { durable: true });
    await channel.assertQueue('a1.q', { durable: true });
    await channel.bindQueue('a1.q', 'a1.events', 'sensors.#');
    const got = await consume('a1.q');
    const s = await site({ out: [{ topics: ['sensors/#'], exchange: 'a1.events' }] });
    await publish(s, 'sensors/d1/temperature', [1, 2, 3, 4]);
    await vi.waitFor(() => expect(got).toHaveLength(4));
    expect(got.map((m) => m.event.value)).toEqual([1, 2, 3, 4]);
    expect(got.every((m) => m.routingKey === 'sensors.d1.temperature' && m.id === m.event.id)).toBe(true);
    await vi.waitFor(() => expect(s.status()).toMatchObject({ delivered: 4, backlog: 0 }));
  });

  it('consumes a queue into stored events that fire a rule, acknowledging once stored', async () => {
    await channel.assertQueue('a2.orders', { durable: true });
    const s = await site(
      { in: [{ queue: 'a2.orders', local_topic: 'remote/orders' }] },
      {
        'orders.yaml': `rules:
  - id: light-on-order
    when:
      mqtt: remote/orders
    then:
      - publish:
          topic: site/light
          payload: { on: true, order: "{{ payload.order }}" }
`,
      },
    );
    await s.connected();
    channel.sendToQueue('a2.orders', Buffer.from(JSON.stringify({ order: 9 })), { persistent: true });
    await vi.waitFor(() => expect(s.seen.some((m) => m.topic === 'site/light')).toBe(true));
    expect(s.hub.store?.query({ topicFilter: 'remote/orders' })).toHaveLength(1);
    await vi.waitFor(async () => expect((await channel.checkQueue('a2.orders')).messageCount).toBe(0));
  });

  it('says wrong credentials are wrong, keeps retrying, and delivers once they are right', async () => {
    rabbit.ctl('add_user', 'site1', 'right-one');
    rabbit.ctl('set_permissions', '-p', '/', 'site1', '.*', '.*', '.*');
    await channel.assertQueue('a3.q', { durable: true });
    const got = await consume('a3.q');
    process.env.EH_TEST_AMQP_PASSWORD = 'wrong-one';
    try {
      const s = await site({
        username: 'site1',
        password_env: 'EH_TEST_AMQP_PASSWORD',
        out: [{ topics: ['sensors/#'], routing_key: 'a3.q' }],
      });
      await s.retrying();
      expect(s.status()?.lastError).toMatch(/ACCESS_REFUSED|auth/i);
      await publish(s, 'sensors/d1/temperature', [1, 2]);
      await vi.waitFor(() => expect(s.status()?.backlog).toBe(2));
      expect(s.logger.entries.map((e) => JSON.stringify(e)).join('\n')).not.toContain('wrong-one');
      process.env.EH_TEST_AMQP_PASSWORD = 'right-one';
      s.retryNow();
      await vi.waitFor(() => expect(got.map((m) => m.event.value)).toEqual([1, 2]));
    } finally {
      delete process.env.EH_TEST_AMQP_PASSWORD;
    }
  });

  it('dead-letters what no queue is bound for, and what is sent to a missing exchange, and sends the rest', async () => {
    await channel.assertQueue('a4.ok', { durable: true });
    const got = await consume('a4.ok');
    const s = await site({
      out: [
        { topics: ['sensors/+/temperature'], routing_key: 'a4.{device}' },
        { topics: ['sensors/+/humidity'], exchange: 'a4.missing', routing_key: 'x' },
      ],
    });
    const sensor = await kit.pool.connect(s.url);
    await sensor.publishAsync('sensors/ok/temperature', '1', { qos: 1 });
    await sensor.publishAsync('sensors/nobody/temperature', '2', { qos: 1 });
    await sensor.publishAsync('sensors/ok/humidity', '50', { qos: 1 });
    await sensor.publishAsync('sensors/ok/temperature', '3', { qos: 1 });
    await vi.waitFor(() => expect(s.status()).toMatchObject({ deadLettered: 2, backlog: 0 }));
    await vi.waitFor(() => expect(got.map((m) => m.event.value)).toEqual([1, 3]));
    const reasons = (s.hub.store?.outbox.dead('remote') ?? []).map((d) => d.reason).join('\n');
    expect(reasons).toMatch(/no queue is bound/);
    expect(reasons).toMatch(/no such exchange/);
  });

  it('keeps every acknowledged event while RabbitMQ is down under load, and sends them when it is back', async () => {
    await channel.assertQueue('a5.q', { durable: true });
    rabbit.syncDefinitions();
    const s = await site({
      retry: { initial: '50ms', max: '200ms' },
      out: [{ topics: ['sensors/#'], routing_key: 'a5.q' }],
    });
    await s.connected();
    const sensor = await kit.pool.connect(s.url);
    const acked: number[] = [];
    let next = 0;
    /** The load stops before this value: set once RabbitMQ is down, so the outage lasts that many events. */
    let end = Number.POSITIVE_INFINITY;
    const load = (async () => {
      while (next < end) {
        const value = next++;
        await sensor.publishAsync(`sensors/d${value % 3}/temperature`, JSON.stringify({ value }), { qos: 1 });
        acked.push(value);
      }
    })();
    await vi.waitFor(() => expect(acked.length).toBeGreaterThan(100));
    await rabbit.kill();
    await s.retrying();
    end = next + 300;
    await load;

    // Down: what came in meanwhile waits in the outbox, and the counters still add up.
    await vi.waitFor(() => expect(s.status()?.matched).toBe(acked.length));
    const down = s.status();
    expect(down?.backlog).toBeGreaterThanOrEqual(300);
    expect(down && accounted(down)).toBe(acked.length);

    await rabbit.restart();
    await connectClient();
    s.retryNow();
    await vi.waitFor(
      () => expect(s.status()).toMatchObject({ state: 'connected', backlog: 0, inFlight: 0 }),
      { timeout: 30_000 },
    );
    const got = await consume('a5.q');
    await vi.waitFor(() => expect(new Set(got.map((m) => m.id)).size).toBe(acked.length), {
      timeout: 30_000,
    });
    expect(got.every((m) => m.id === m.event.id)).toBe(true);
    const first = new Map<unknown, number>();
    for (const m of got) if (!first.has(m.id)) first.set(m.id, m.event.value as number);
    expect([...first.values()].sort((a, b) => a - b)).toEqual([...acked].sort((a, b) => a - b));
    for (let d = 0; d < 3; d++) {
      const values = [...first.values()].filter((v) => v % 3 === d);
      expect(values).toEqual([...values].sort((a, b) => a - b));
    }
    // What RabbitMQ stored but died before confirming is sent again: a consumer drops it by id.
    const duplicates = got.length - first.size;
    const after = s.status();
    expect(after?.resent).toBeGreaterThanOrEqual(duplicates);
    expect(after).toMatchObject({
      matched: acked.length,
      delivered: acked.length,
      dropped: 0,
      deadLettered: 0,
    });
    expect(after && accounted(after)).toBe(acked.length);
  }, 120_000);
});
