import amqp, { type Channel, type ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { EventEnvelope } from '../hub/index.js';
import { startSite, type Site } from './support/connector-site.js';
import { useHubKit } from './support/hub-kit.js';
import { startRabbitMq, type RabbitHandle } from './support/servers/rabbitmq.js';

const kit = useHubKit();
let rabbit: RabbitHandle;
let connection: ChannelModel;
let channel: Channel;

beforeAll(async () => {
  rabbit = await startRabbitMq();
  connection = await amqp.connect(rabbit.url);
  channel = await connection.createChannel();
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
    await vi.waitFor(() => expect(s.status()?.state).toBe('connected'));
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
});
