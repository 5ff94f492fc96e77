import { connect as tcpConnect, type Socket } from 'node:net';
import { CreateTopicCommand, PublishCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ListQueuesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import amqp from 'amqplib';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { createClient } from '@redis/client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Cleanups } from './support/cleanups.js';
import { startKafka, type KafkaHandle } from './support/servers/kafka.js';
import { startMosquitto } from './support/servers/mosquitto.js';
import { startMoto } from './support/servers/moto.js';
import { createNetNamespace, type NetNamespace } from './support/servers/netns.js';
import { startRabbitMq, type RabbitHandle } from './support/servers/rabbitmq.js';
import { startRedis } from './support/servers/redis.js';
import type { ServerHandle } from './support/servers/server-process.js';

/*
 * The real servers the connector tests run against, each proved with the client a connector uses.
 * Hooks may install a Debian package or fetch Kafka's jars / moto's virtualenv on a first run: 180 s.
 */
const FIRST_START_MS = 180_000;

describe('Mosquitto', { timeout: 20_000 }, () => {
  const cleanups = new Cleanups();
  const user = { name: 'site1', password: 'right-one' };
  let open: ServerHandle & { url: string };
  let secured: ServerHandle & { url: string };

  beforeAll(async () => {
    open = await startMosquitto();
    secured = await startMosquitto({ user });
  }, FIRST_START_MS);
  afterAll(async () => {
    await cleanups.run();
    await open?.stop();
    await secured?.stop();
  });

  const client = async (url: string, options: IClientOptions = {}): Promise<MqttClient> => {
    const c = await mqtt.connectAsync(url, { reconnectPeriod: 0, ...options });
    cleanups.add(() => c.endAsync(true));
    return c;
  };

  it('delivers a message published by one client to another that subscribed', async () => {
    const subscriber = await client(open.url);
    await subscriber.subscribeAsync('home/+/temperature', { qos: 1 });
    const received = new Promise<[string, string]>((resolve) =>
      subscriber.once('message', (topic, payload) => resolve([topic, payload.toString()])),
    );
    const publisher = await client(open.url, { protocolVersion: 5 });
    await publisher.publishAsync('home/kitchen/temperature', '21.5', { qos: 1 });
    expect(await received).toEqual(['home/kitchen/temperature', '21.5']);
  });

  it('refuses a wrong password and anonymous clients, and lets the right password in', async () => {
    await expect(client(secured.url, { username: user.name, password: 'wrong-one' })).rejects.toMatchObject({
      code: 5,
      message: expect.stringMatching(/not authorized/i) as unknown,
    });
    await expect(client(secured.url, { protocolVersion: 5 })).rejects.toMatchObject({ code: 135 });
    const ok = await client(secured.url, { username: user.name, password: user.password });
    expect(ok.connected).toBe(true);
  });
});

describe('Redis', { timeout: 20_000 }, () => {
  const cleanups = new Cleanups();
  let redis: ServerHandle & { url: string };
  let secured: ServerHandle & { url: string };
  let durable: ServerHandle & { url: string };

  beforeAll(async () => {
    redis = await startRedis();
    secured = await startRedis({ password: 's3cret' });
    durable = await startRedis({ persist: true });
  }, FIRST_START_MS);
  afterAll(async () => {
    await cleanups.run();
    await redis?.stop();
    await secured?.stop();
    await durable?.stop();
  });

  const client = async (url: string, password?: string) => {
    const c = createClient({
      url,
      ...(password !== undefined && { password }),
      socket: { reconnectStrategy: false }, // a refusal ends connect() instead of retrying for ever
    });
    c.on('error', () => undefined); // a refusal is asserted on connect(), not logged
    await c.connect();
    cleanups.add(() => c.destroy());
    return c;
  };

  it('hands entries added with XADD to a consumer group with XREADGROUP, each once', async () => {
    const c = await client(redis.url);
    await c.xGroupCreate('readings', 'hub', '0', { MKSTREAM: true });
    for (const value of ['20.5', '21', '21.5'])
      await c.xAdd('readings', '*', { device: 'd1', temperature: value });
    // node-redis 6 types the RESP3 reply's messages as `any`; this is their documented shape.
    const first: { name: string; messages: { id: string; message: Record<string, string> }[] }[] | null =
      await c.xReadGroup('hub', 'worker-1', { key: 'readings', id: '>' }, { COUNT: 10 });
    expect(first?.[0]?.messages.map((m) => m.message)).toEqual([
      { device: 'd1', temperature: '20.5' },
      { device: 'd1', temperature: '21' },
      { device: 'd1', temperature: '21.5' },
    ]);
    // Delivered to worker-1 already: nothing new for worker-2 in the same group.
    expect(await c.xReadGroup('hub', 'worker-2', { key: 'readings', id: '>' })).toBeNull();
    const ids = first?.[0]?.messages.map((m) => m.id) ?? [];
    expect(await c.xAck('readings', 'hub', ids)).toBe(3);
  });

  it('with persist, keeps every confirmed entry through kill() (SIGKILL) and restart()', async () => {
    const before = await client(durable.url);
    for (const value of ['1', '2', '3']) await before.xAdd('kept', '*', { value });
    await durable.kill();
    await durable.restart();
    const after = await client(durable.url);
    expect(((await after.xRange('kept', '-', '+')) ?? []).map((e) => e.message)).toEqual([
      { value: '1' },
      { value: '2' },
      { value: '3' },
    ]);
  });

  it('lets in only a client that gives the password of requirepass', async () => {
    await expect(client(secured.url)).rejects.toThrow(/NOAUTH/);
    await expect(client(secured.url, 'wrong-one')).rejects.toThrow(/WRONGPASS/);
    expect(await (await client(secured.url, 's3cret')).ping()).toBe('PONG');
  });
});

describe('RabbitMQ', { timeout: 30_000 }, () => {
  const cleanups = new Cleanups();
  let rabbit: RabbitHandle;

  beforeAll(async () => {
    rabbit = await startRabbitMq({ users: [{ name: 'site1', password: 'right-one' }] });
  }, FIRST_START_MS);
  afterAll(async () => {
    await cleanups.run();
    await rabbit?.stop();
  });

  const connect = async (url: string): Promise<amqp.ChannelModel> => {
    const c = await amqp.connect(url);
    cleanups.add(() => c.close());
    return c;
  };

  it('confirms a message published through a ConfirmChannel, and a consumer gets it', async () => {
    const connection = await connect(rabbit.url);
    const confirm = await connection.createConfirmChannel();
    await confirm.assertQueue('orders', { durable: true });
    confirm.sendToQueue('orders', Buffer.from('{"order":1}'), { persistent: true });
    await confirm.waitForConfirms();
    const channel = await connection.createChannel();
    const got = new Promise<string>((resolve) => {
      void channel.consume('orders', (message) => {
        if (!message) return;
        channel.ack(message);
        resolve(message.content.toString());
      });
    });
    expect(await got).toBe('{"order":1}');
  });

  it('refuses a wrong password (ACCESS_REFUSED) and lets the added user in with the right one', async () => {
    const at = `${rabbit.host}:${rabbit.port}`;
    await expect(amqp.connect(`amqp://site1:wrong-one@${at}`)).rejects.toThrow(/ACCESS_REFUSED/);
    const ok = await connect(`amqp://site1:right-one@${at}`);
    await expect(ok.createChannel()).resolves.toBeDefined();
  });
});

describe('Kafka', { timeout: 60_000 }, () => {
  const consumers: Consumer[] = [];
  let kafka: KafkaHandle;
  let client: Kafka;

  beforeAll(async () => {
    kafka = await startKafka({ autoCreateTopics: false });
    client = new Kafka({ brokers: kafka.brokers, logLevel: logLevel.NOTHING });
  }, FIRST_START_MS);
  afterAll(async () => {
    for (const c of consumers.splice(0)) await c.disconnect();
    await kafka?.stop();
  });

  interface Got {
    key: string;
    value: string;
    partition: number;
  }

  /** Joins `groupId` and collects what it is given, until the returned consumer is disconnected. */
  const consume = async (groupId: string): Promise<{ consumer: Consumer; got: Got[] }> => {
    const consumer = client.consumer({ groupId });
    consumers.push(consumer);
    const got: Got[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic: 'readings', fromBeginning: true });
    await consumer.run({
      eachMessage: ({ message, partition }) => {
        got.push({ key: String(message.key), value: String(message.value), partition });
        return Promise.resolve();
      },
    });
    return { consumer, got };
  };

  const produce = async (values: readonly number[]): Promise<void> => {
    const producer = client.producer();
    await producer.connect();
    await producer.send({
      topic: 'readings',
      acks: -1,
      messages: values.map((v) => ({ key: `d${v % 5}`, value: String(v) })),
    });
    await producer.disconnect();
  };

  it('gives ten messages produced to a 3-partition topic back to a consumer group, in order per key', async () => {
    await kafka.createTopic('readings', 3);
    const admin = client.admin();
    await admin.connect();
    const [topic] = (await admin.fetchTopicMetadata({ topics: ['readings'] })).topics;
    await admin.disconnect();
    expect(topic?.partitions).toHaveLength(3);
    await produce([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const { consumer, got } = await consume('group-1');
    await vi.waitFor(() => expect(got).toHaveLength(10), { timeout: 30_000 });
    expect(got.map((m) => Number(m.value)).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(new Set(got.map((m) => m.partition)).size).toBeGreaterThan(1);
    for (const key of ['d0', 'd1', 'd2', 'd3', 'd4']) {
      const values = got.filter((m) => m.key === key).map((m) => Number(m.value));
      expect(values).toEqual([...values].sort((a, b) => a - b));
      expect(new Set(got.filter((m) => m.key === key).map((m) => m.partition)).size).toBe(1);
    }
    await consumer.disconnect(); // commits group-1's offsets
  });

  it('still has the messages and the group offsets after restart()', async () => {
    await kafka.restart();
    const again = await consume('group-2');
    await vi.waitFor(() => expect(again.got).toHaveLength(10), { timeout: 30_000 });
    // group-1 committed all ten before the restart: what it gets next is only what comes after.
    const resumed = await consume('group-1');
    await produce([10]);
    await vi.waitFor(() => expect(resumed.got.length).toBeGreaterThan(0), { timeout: 30_000 });
    expect(resumed.got.map((m) => m.value)).toEqual(['10']);
  });
});

describe('moto (SNS and SQS)', { timeout: 30_000 }, () => {
  let moto: Awaited<ReturnType<typeof startMoto>>;
  let sqs: SQSClient;
  let sns: SNSClient;

  beforeAll(async () => {
    moto = await startMoto();
    sqs = new SQSClient(moto.aws);
    sns = new SNSClient(moto.aws);
  }, FIRST_START_MS);
  afterAll(async () => {
    sqs?.destroy();
    sns?.destroy();
    await moto?.stop();
  });

  it('delivers a message published to an SNS topic to the SQS queue subscribed to it', async () => {
    const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: 'alerts' }));
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'alerts-inbox' }));
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
    );
    await sns.send(new SubscribeCommand({ TopicArn, Protocol: 'sqs', Endpoint: Attributes?.QueueArn }));
    await sns.send(new PublishCommand({ TopicArn, Message: '{"smoke":true}' }));
    const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 5 }));
    expect(Messages).toHaveLength(1);
    const envelope = JSON.parse(Messages?.[0]?.Body ?? '{}') as { Type?: string; Message?: string };
    expect(envelope).toMatchObject({ Type: 'Notification', TopicArn, Message: '{"smoke":true}' });
  });

  it('forgets every queue on restart(), as documented: its state is in memory only', async () => {
    expect((await sqs.send(new ListQueuesCommand({}))).QueueUrls?.length).toBeGreaterThan(0);
    await moto.restart();
    expect((await sqs.send(new ListQueuesCommand({}))).QueueUrls ?? []).toEqual([]);
  });
});

describe('a Redis in its own network namespace', { timeout: 30_000 }, () => {
  const sockets: Socket[] = [];
  let ns: NetNamespace;
  let redis: ServerHandle & { url: string };

  beforeAll(async () => {
    ns = createNetNamespace();
    redis = await startRedis({ netns: ns });
  }, FIRST_START_MS);
  afterAll(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await redis?.stop();
    ns?.remove();
  });

  /** A raw connection to the Redis, or why there is none within 3 s. */
  const open = (): Promise<Socket | string> =>
    new Promise((resolve) => {
      const socket = tcpConnect({ host: redis.host, port: redis.port, timeout: 3000 });
      sockets.push(socket);
      socket.once('connect', () => {
        socket.setTimeout(0);
        resolve(socket);
      });
      socket.once('timeout', () => resolve('timed out'));
      socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    });

  /** Sends PING; resolves with the reply. */
  const ping = (socket: Socket): Promise<string> =>
    new Promise((resolve) => {
      socket.once('data', (data) => resolve(data.toString().trim()));
      socket.write('PING\r\n');
    });

  it('is reachable on its veth address, not after cut(), and again after heal()', async () => {
    expect(redis.host).toBe(ns.address);
    const client = createClient({ url: redis.url });
    await client.connect();
    expect(await client.ping()).toBe('PONG');
    await client.close();

    const early = await open();
    if (typeof early === 'string') throw new Error(`could not connect before the cut: ${early}`);
    ns.cut();
    try {
      expect(await open()).toMatch(/EHOSTUNREACH|timed out/);
      // An open connection stalls: its PING is not answered while the link is down…
      const reply = ping(early);
      const withinOneSecond = await Promise.race([
        reply,
        new Promise<string>((resolve) => setTimeout(() => resolve('no answer'), 1000)),
      ]);
      expect(withinOneSecond).toBe('no answer');
      ns.heal();
      // …and is, once it is back (TCP retransmits), as is a new connection.
      expect(await reply).toBe('+PONG');
    } finally {
      ns.heal();
    }
    const later = await open();
    if (typeof later === 'string') throw new Error(`could not connect after heal(): ${later}`);
    expect(await ping(later)).toBe('+PONG');
  });
});
