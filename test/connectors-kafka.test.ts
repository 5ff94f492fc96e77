import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { EventEnvelope } from '../hub/index.js';
import { startSite, type Site } from './support/connector-site.js';
import { useHubKit } from './support/hub-kit.js';
import { startKafka, type KafkaHandle } from './support/servers/kafka.js';

const kit = useHubKit();
let kafka: KafkaHandle;
let client: Kafka;
const consumers: Consumer[] = [];
/** The one user the broker's SASL listener lets in. */
const saslUser = { username: 'site1', password: 'right-one' };

beforeAll(async () => {
  kafka = await startKafka({ partitions: 3, autoCreateTopics: false, sasl: saslUser });
  client = new Kafka({ brokers: kafka.brokers, logLevel: logLevel.NOTHING });
}, 180_000);

afterEach(async () => {
  for (const c of consumers.splice(0)) await c.disconnect();
});

afterAll(async () => {
  await kafka?.stop();
});

interface Received {
  key: string | null;
  partition: number;
  id: string | undefined;
  event: EventEnvelope;
}

/** Reads `topic` from the start in a group of its own. */
async function read(topic: string): Promise<Received[]> {
  const got: Received[] = [];
  const consumer = client.consumer({ groupId: `test-${topic}-${Math.random()}` });
  consumers.push(consumer);
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: ({ message, partition }) => {
      got.push({
        key: message.key?.toString() ?? null,
        partition,
        id: message.headers?.['edgehub-id']?.toString(),
        event: JSON.parse(message.value?.toString() ?? '{}') as EventEnvelope,
      });
      return Promise.resolve();
    },
  });
  return got;
}

async function site(
  connector: Record<string, unknown>,
  options: Parameters<typeof startSite>[2] = {},
): Promise<Site> {
  const s = await startSite(kit.temp, { type: 'kafka', brokers: kafka.brokers, ...connector }, options);
  kit.keep(s.hub);
  return s;
}

async function publish(s: Site, events: readonly [device: string, value: number][]): Promise<void> {
  const sensor = await kit.pool.connect(s.url);
  for (const [device, value] of events)
    await sensor.publishAsync(`sensors/${device}/temperature`, JSON.stringify({ value }), { qos: 1 });
}

/** Per device, the values in the order they arrived, each event once (a consumer drops duplicates by id). */
function byDevice(got: readonly Received[]): Map<string, number[]> {
  const seen = new Set<string>();
  const out = new Map<string, number[]>();
  for (const m of got) {
    if (seen.has(m.event.id)) continue;
    seen.add(m.event.id);
    const key = `${m.event.hub}/${m.event.device}`;
    out.set(key, [...(out.get(key) ?? []), m.event.value as number]);
  }
  return out;
}

describe('a kafka connector against a real Kafka broker', { timeout: 60_000 }, () => {
  it('produces each event keyed by device, in order per device, with the event id as a header', async () => {
    await kafka.createTopic('k1', 3);
    const s = await site({ out: [{ topics: ['sensors/#'], topic: 'k1' }] });
    const events: [string, number][] = Array.from({ length: 60 }, (_, i) => [`d${i % 4}`, i]);
    await publish(s, events);
    const got = await read('k1');
    await vi.waitFor(() => expect(got).toHaveLength(60), { timeout: 15_000 });
    for (const m of got) {
      expect(m.key).toBe(m.event.device);
      expect(m.id).toBe(m.event.id);
    }
    // One device's events share a partition, so a consumer sees them in order.
    for (let d = 0; d < 4; d++) {
      const mine = got.filter((m) => m.key === `d${d}`);
      expect(new Set(mine.map((m) => m.partition)).size).toBe(1);
      expect(mine.map((m) => m.event.value)).toEqual(
        events.filter(([dev]) => dev === `d${d}`).map(([, v]) => v),
      );
    }
    await vi.waitFor(() => expect(s.status()).toMatchObject({ matched: 60, delivered: 60, backlog: 0 }));
  });

  it('consumes a topic into stored events that fire a rule, committing after they are stored', async () => {
    await kafka.createTopic('k2.orders', 1);
    const s = await site(
      { in: [{ topic: 'k2.orders', group: 'site1-orders', local_topic: 'remote/orders' }] },
      {
        rules: {
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
      },
    );
    await s.connected();
    const producer = client.producer();
    await producer.connect();
    // The group may still be joining: the message waits in the topic and is read once it has.
    await producer.send({
      topic: 'k2.orders',
      messages: [{ key: 'o', value: JSON.stringify({ order: 7 }) }],
    });
    await producer.disconnect();
    await vi.waitFor(() => expect(s.seen.some((m) => m.topic === 'site/light')).toBe(true), {
      timeout: 15_000,
    });
    expect(s.hub.store?.query({ topicFilter: 'remote/orders' })).toHaveLength(1);
    const admin = client.admin();
    await admin.connect();
    await vi.waitFor(
      async () => {
        const [offsets] = await admin.fetchOffsets({ groupId: 'site1-orders', topics: ['k2.orders'] });
        expect(offsets?.partitions[0]?.offset).toBe('1');
      },
      { timeout: 15_000 },
    );
    await admin.disconnect();
  });

  it('dead-letters an event for a topic that does not exist and sends the rest', async () => {
    await kafka.createTopic('k3.ok', 1);
    const s = await site({ out: [{ topics: ['sensors/#'], topic: 'k3.{device}' }] });
    await publish(s, [
      ['ok', 1],
      ['missing', 2],
      ['ok', 3],
    ]);
    await vi.waitFor(() => expect(s.status()).toMatchObject({ delivered: 2, deadLettered: 1, backlog: 0 }), {
      timeout: 30_000,
    });
    const got = await read('k3.ok');
    await vi.waitFor(() => expect(got.map((m) => m.event.value)).toEqual([1, 3]));
    expect(s.hub.store?.outbox.dead('remote')[0]?.reason).toMatch(/UNKNOWN_TOPIC_OR_PARTITION/);
  });

  it('keeps every acknowledged event while the broker is down under load, and sends them when it is back', async () => {
    await kafka.createTopic('k4', 3);
    const s = await site({ out: [{ topics: ['sensors/#'], topic: 'k4' }] });
    await s.connected();
    const sensor = await kit.pool.connect(s.url);
    const acked: number[] = [];
    let next = 0;
    const load = (async () => {
      while (next < 400) {
        const value = next++;
        await sensor.publishAsync(`sensors/d${value % 3}/temperature`, JSON.stringify({ value }), { qos: 1 });
        acked.push(value);
      }
    })();
    await vi.waitFor(() => expect(acked.length).toBeGreaterThan(50));
    await kafka.kill();
    await s.retrying();
    await load;
    expect(s.status()?.backlog).toBeGreaterThan(0);
    await kafka.restart();
    s.retryNow();
    await vi.waitFor(
      () => expect(s.status()).toMatchObject({ state: 'connected', backlog: 0, inFlight: 0 }),
      {
        timeout: 30_000,
      },
    );
    const got = await read('k4');
    await vi.waitFor(() => expect(new Set(got.map((m) => m.event.id)).size).toBe(400), { timeout: 30_000 });
    for (const values of byDevice(got).values()) expect(values).toEqual([...values].sort((a, b) => a - b));
    const duplicates = got.length - 400;
    expect(s.status()?.resent).toBeGreaterThanOrEqual(duplicates);
  }, 90_000);

  it('takes three hubs into one topic: a consumer group reads every event of every hub, each device in order', async () => {
    await kafka.createTopic('k5.fleet', 3);
    const sites = await Promise.all(
      ['north', 'south', 'east'].map((name) =>
        site({ out: [{ topics: ['sensors/#'], topic: 'k5.fleet' }] }, { name }),
      ),
    );
    await Promise.all(
      sites.map((s) =>
        publish(
          s,
          Array.from({ length: 30 }, (_, i): [string, number] => [`d${i % 3}`, i]),
        ),
      ),
    );
    const got = await read('k5.fleet');
    await vi.waitFor(() => expect(new Set(got.map((m) => m.event.id)).size).toBe(90), { timeout: 20_000 });
    const devices = byDevice(got);
    expect(devices.size).toBe(9);
    for (const [key, values] of devices) {
      expect(values, key).toEqual(
        Array.from({ length: 30 }, (_, i) => i).filter((i) => `d${i % 3}` === key.split('/')[1]),
      );
    }
  });

  it('says a wrong password is wrong, keeps retrying, and delivers every event in order once it is right', async () => {
    await kafka.createTopic('k6', 1);
    const passwordFile = join(kit.temp.make('kafka-pass-'), 'kafka.pass');
    writeFileSync(passwordFile, 'wrong-one\n', { mode: 0o600 });
    const s = await site({
      brokers: kafka.saslBrokers,
      username: saslUser.username,
      password_file: passwordFile,
      out: [{ topics: ['sensors/#'], topic: 'k6' }],
    });
    await s.retrying();
    expect(s.status()).toMatchObject({
      state: 'retrying',
      lastError: expect.stringMatching(/authentication failed/i) as unknown,
    });
    const events: [string, number][] = Array.from({ length: 10 }, (_, i) => [`d${i % 2}`, i]);
    await publish(s, events);
    await vi.waitFor(() => expect(s.status()).toMatchObject({ backlog: 10, delivered: 0 }));
    // Two more attempts with the same password: refused the same way, and now counted as failing.
    for (let attempt = 2; attempt <= 3; attempt++) {
      s.retryNow();
      await s.retrying();
    }
    expect(s.status()).toMatchObject({
      state: 'failing',
      lastError: expect.stringMatching(/authentication failed/i) as unknown,
      backlog: 10,
    });
    expect(s.logger.entries.map((e) => JSON.stringify(e)).join('\n')).not.toContain('wrong-one');

    // The file is read again at each attempt: the next one logs in.
    writeFileSync(passwordFile, `${saslUser.password}\n`);
    s.retryNow();
    await vi.waitFor(
      () => expect(s.status()).toMatchObject({ state: 'connected', delivered: 10, backlog: 0, inFlight: 0 }),
      { timeout: 15_000 },
    );
    const got = await read('k6');
    await vi.waitFor(() => expect(got).toHaveLength(10), { timeout: 15_000 });
    // One partition: the order they were stored in, each once.
    expect(got.map((m) => m.event.value)).toEqual(events.map(([, v]) => v));
    expect(new Set(got.map((m) => m.id)).size).toBe(10);
  });
});
