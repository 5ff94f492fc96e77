/**
 * `npm run bench -- connectors`: how fast a connector drains a stored backlog into a real server,
 * beside the same client library producing the same messages directly (the ceiling); the pipeline's
 * closed loop with a Kafka `out` route covering every event beside the same loop without it; and
 * the memory five idle connectors cost.
 *
 * The servers are those the tests run (test/support/servers): Kafka 4.1.1, Debian's Redis,
 * Mosquitto and RabbitMQ.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import amqp from 'amqplib';
import { Kafka, logLevel } from 'kafkajs';
import mqtt from 'mqtt';
import { createClient } from '@redis/client';
import { connectorSchema, Hub, loadConfig, type HubConfig } from '../hub/index.js';
import { ConsoleLogger } from '../kernel/index.js';
import { startKafka } from '../test/support/servers/kafka.js';
import { startMosquitto } from '../test/support/servers/mosquitto.js';
import { startRabbitMq } from '../test/support/servers/rabbitmq.js';
import { startRedis } from '../test/support/servers/redis.js';
import type { ServerHandle } from '../test/support/servers/server-process.js';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { startMoto } from '../test/support/servers/moto.js';
import { SHAPES, Subject, type Shape } from './pipeline.bench.js';
import type { BenchResult } from './result.js';

const BACKLOG = Number(process.env.EDGEHUB_BENCH_BACKLOG ?? 100_000);
const BATCH = 500;
const DEVICES = 100;

interface Target {
  type: string;
  /** Target ratio to the direct rate, when the issue sets one. */
  target?: number;
  server: ServerHandle;
  /** The connector's settings (type, where, one `out` route for every sensor event). */
  connector: Record<string, unknown>;
  /** The same client library sending `count` messages like the connector's, batch by batch. */
  direct(messages: DirectMessage[]): Promise<void>;
  close(): Promise<void>;
}

/** A message as the connector sends one: its event id, key and `event`-format payload (~250 bytes). */
interface DirectMessage {
  id: string;
  key: string;
  payload: Buffer;
}

/** The JSON payload's content type, which the connector sends with each message, as does the direct client. */
const JSON_TYPE = 'application/json';

function envelope(i: number): DirectMessage {
  const device = `d${i % DEVICES}`;
  return {
    id: `bench:${i}`,
    key: device,
    payload: Buffer.from(
      JSON.stringify({
        id: `bench:${i}`,
        hub: 'bench',
        seq: i,
        topic: `sensors/${device}/temperature`,
        device,
        metric: 'temperature',
        value: 20 + (i % 10),
        unit: null,
        time: new Date().toISOString(),
        payload: { value: 20 + (i % 10), seq: i },
        qos: 0,
        retain: false,
      }),
    ),
  };
}

async function kafkaTarget(): Promise<Target> {
  const server = await startKafka({ partitions: 6 });
  await server.createTopic('bench.events', 6);
  const kafka = new Kafka({ brokers: server.brokers, logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  return {
    type: 'kafka',
    target: 0.7,
    server,
    connector: {
      type: 'kafka',
      brokers: server.brokers,
      out: [{ topics: ['sensors/#'], topic: 'bench.events' }],
    },
    direct: async (messages) => {
      for (let i = 0; i < messages.length; i += BATCH)
        await producer.sendBatch({
          acks: -1,
          topicMessages: [
            {
              topic: 'bench.events',
              messages: messages.slice(i, i + BATCH).map((m) => ({
                key: m.key,
                value: m.payload,
                headers: { 'edgehub-id': m.id, 'content-type': JSON_TYPE },
              })),
            },
          ],
        });
    },
    close: () => producer.disconnect(),
  };
}

async function redisTarget(): Promise<Target> {
  const server = await startRedis();
  const client = createClient({ url: server.url });
  client.on('error', () => undefined);
  await client.connect();
  return {
    type: 'redis-stream',
    target: 0.7,
    server,
    connector: {
      type: 'redis-stream',
      url: server.url,
      out: [{ topics: ['sensors/#'], stream: 'bench.events' }],
    },
    direct: async (messages) => {
      for (let i = 0; i < messages.length; i += BATCH)
        await Promise.all(
          messages.slice(i, i + BATCH).map((m) =>
            client.xAdd('bench.direct', '*', {
              id: m.id,
              key: m.key,
              payload: m.payload,
              content_type: JSON_TYPE,
            }),
          ),
        );
    },
    close: () => client.close(),
  };
}

async function mosquittoTarget(): Promise<Target> {
  const server = await startMosquitto();
  const client = await mqtt.connectAsync(server.url, { protocolVersion: 5, reconnectPeriod: 0 });
  client.on('error', () => undefined);
  return {
    type: 'mqtt (Mosquitto)',
    server,
    connector: { type: 'mqtt', url: server.url, out: [{ topics: ['sensors/#'], topic_prefix: 'bench/' }] },
    direct: async (messages) => {
      for (let i = 0; i < messages.length; i += BATCH)
        await Promise.all(
          messages.slice(i, i + BATCH).map((m) =>
            client.publishAsync(`direct/${m.key}`, m.payload, {
              qos: 1,
              properties: { userProperties: { 'edgehub-id': m.id }, contentType: JSON_TYPE },
            }),
          ),
        );
    },
    close: () => client.endAsync(),
  };
}

async function rabbitTarget(): Promise<Target> {
  const server = await startRabbitMq();
  const connection = await amqp.connect(server.url);
  connection.on('error', () => undefined);
  const channel = await connection.createConfirmChannel();
  await channel.assertExchange('bench', 'topic', { durable: true });
  await channel.assertQueue('bench.q', { durable: true });
  await channel.bindQueue('bench.q', 'bench', '#');
  return {
    type: 'amqp (RabbitMQ)',
    server,
    connector: { type: 'amqp', url: server.url, out: [{ topics: ['sensors/#'], exchange: 'bench' }] },
    direct: async (messages) => {
      for (let i = 0; i < messages.length; i += BATCH) {
        for (const m of messages.slice(i, i + BATCH))
          channel.publish('bench', `direct.${m.key}`, m.payload, {
            persistent: true,
            mandatory: true,
            messageId: m.id,
            contentType: JSON_TYPE,
            headers: { 'edgehub-key': m.key },
          });
        await channel.waitForConfirms();
      }
    },
    close: () => connection.close(),
  };
}

/**
 * The connector's drain: the backlog is stored while the server is down (killed, its data kept),
 * then the server comes back and the time from the connector's first connection to an empty
 * backlog is measured.
 */
async function drain(target: Target): Promise<number> {
  const dataDir = mkdtempSync(join(tmpdir(), 'edgehub-bench-connectors-'));
  const base = loadConfig(undefined, { mqttPort: 0, wsPort: null, httpPort: null, dataDir });
  const connector = connectorSchema.parse({
    id: 'bench',
    batch_size: BATCH,
    retry: { initial: '50ms', max: '100ms' },
    ...target.connector,
  });
  const config: HubConfig = { ...base, hub: { ...base.hub, name: 'bench' }, connectors: [connector] };
  await target.server.kill();
  const hub = new Hub({ config, logger: new ConsoleLogger({ level: 'error' }) });
  await hub.start();
  const store = hub.store;
  if (!store) throw new Error('no store');
  for (let i = 0; i < BACKLOG; i++) {
    // Committed every 10,000, so the writer keeps up: one burst of the whole backlog, or a writer
    // slowed by the connectors' thread starting beside it, would go past the store's in-memory
    // bound (maxBufferedEvents), which drops the oldest, and the drain would wait for them forever.
    if (i % 10_000 === 0) await store.stored();
    const device = `d${i % DEVICES}`;
    store.append({
      topic: `sensors/${device}/temperature`,
      payload: Buffer.from(JSON.stringify({ value: 20 + (i % 10), seq: i })),
      qos: 0,
      retain: false,
      clientId: 'bench',
      receivedAt: Date.now(),
    });
  }
  await store.stored();
  const status = () => hub.connectors?.status('bench');
  while ((status()?.matched ?? 0) < BACKLOG) await sleep(20);
  await target.server.restart();
  while (status()?.state !== 'connected') await sleep(5);
  const started = performance.now();
  while ((status()?.delivered ?? 0) < BACKLOG) await sleep(5);
  const ms = performance.now() - started;
  await hub.stop();
  rmSync(dataDir, { recursive: true, force: true });
  return Math.round((BACKLOG * 1000) / ms);
}

async function direct(target: Target): Promise<number> {
  const messages = Array.from({ length: BACKLOG }, (_, i) => envelope(i));
  const started = performance.now();
  await target.direct(messages);
  return Math.round((BACKLOG * 1000) / (performance.now() - started));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The hub under the pipeline's gateway shape, with `connectors` (JSON) or without any. */
async function hubSubject(connectors: unknown[]): Promise<Subject> {
  process.env.EDGEHUB_BENCH_CONNECTORS = JSON.stringify(connectors);
  try {
    return await Subject.start('edgehub-server');
  } finally {
    delete process.env.EDGEHUB_BENCH_CONNECTORS;
  }
}

/** Waits, up to a minute, until the hub's HTTP API reports `count` connectors, all connected. */
async function allConnected(subject: Subject, count: number): Promise<void> {
  const url = `http://127.0.0.1:${subject.httpPort ?? 0}/api/connectors`;
  let states: string[] = [];
  for (let i = 0; i < 600; i++) {
    const { connectors } = (await (await fetch(url)).json()) as { connectors: { state: string }[] };
    states = connectors.map((c) => c.state);
    if (states.length === count && states.every((s) => s === 'connected')) return;
    await sleep(100);
  }
  throw new Error(`the connectors did not all connect within a minute: ${states.join(', ')}`);
}

/** The closed loop with one Kafka `out` route covering every event, beside the same loop without. */
async function pipelineWithKafka(): Promise<BenchResult> {
  const kafka = await startKafka({ partitions: 6 });
  await kafka.createTopic('bench.pipeline', 6);
  const shape = SHAPES.find((s) => s.key === 'b0') as Shape;
  const without = await hubSubject([]);
  const withKafka = await hubSubject([
    { id: 'kafka', type: 'kafka', brokers: kafka.brokers, out: [{ topic: 'bench.pipeline' }] },
  ]);
  try {
    for (let turn = 0; turn < 3; turn++)
      for (const s of [without, withKafka]) await s.turn(shape, turn === 0);
  } finally {
    await without.stop();
    await withKafka.stop();
    await kafka.stop();
  }
  const a = without.figures(shape.key);
  const b = withKafka.figures(shape.key);
  const ratio = Math.round((b.median.eventsPerSec / a.median.eventsPerSec) * 100) / 100;
  return {
    name: `pipeline ${shape.title}: with a Kafka out route for every event, beside none (median of 3 turns, alternating)`,
    figures: {
      'with Kafka route events/s': b.median.eventsPerSec,
      'without events/s': a.median.eventsPerSec,
      ratio,
      'with (spread)': `${b.all.join(' / ')}`,
      'without (spread)': `${a.all.join(' / ')}`,
    },
    target: '≥ 0.8× the same run with no connector',
    pass: ratio >= 0.8,
  };
}

/** How long both hubs idle before their RSS is read, ms. */
const IDLE_SETTLE_MS = 20_000;

/** RSS of a hub with five connectors connected and idle, beside the hub without them. */
async function idleMemory(): Promise<BenchResult> {
  const kafka = await startKafka({ partitions: 1 });
  const redis = await startRedis();
  const mosquitto = await startMosquitto();
  const rabbit = await startRabbitMq();
  const moto = await startMoto();
  const queue = await new SQSClient(moto.aws).send(new CreateQueueCommand({ QueueName: 'idle' }));
  const five = [
    { id: 'kafka', type: 'kafka', brokers: kafka.brokers, out: [{ topics: ['none/#'], topic: 'idle' }] },
    { id: 'redis', type: 'redis-stream', url: redis.url, out: [{ topics: ['none/#'], stream: 'idle' }] },
    { id: 'mqtt', type: 'mqtt', url: mosquitto.url, out: [{ topics: ['none/#'] }] },
    { id: 'amqp', type: 'amqp', url: rabbit.url, out: [{ topics: ['none/#'], routing_key: 'idle' }] },
    {
      id: 'sqs',
      type: 'sqs',
      endpoint: moto.aws.endpoint,
      username: 'test',
      password_env: 'EDGEHUB_BENCH_AWS_SECRET',
      out: [{ topics: ['none/#'], queue_url: queue.QueueUrl }],
    },
  ];
  process.env.EDGEHUB_BENCH_AWS_SECRET = 'test';
  const without = await hubSubject([]);
  const withFive = await hubSubject(five);
  // Both are asked for their connectors (the API's first request costs the same on each), and RSS
  // is read once all five are connected, their clients loaded, and both hubs had IDLE_SETTLE_MS idle:
  // V8 gives back the heap that starting and connecting grew only after some seconds without work
  // (read at once, the hub with five shows 10 to 20 MiB more than it keeps).
  await allConnected(without, 0);
  await allConnected(withFive, five.length);
  await sleep(IDLE_SETTLE_MS);
  const [rssWithout, rssWithFive] = await Promise.all([without.rssMiB(), withFive.rssMiB()]);
  const figures = { without: rssWithout, withFive: rssWithFive };
  await Promise.all([without.stop(), withFive.stop()]);
  await Promise.all([kafka.stop(), redis.stop(), mosquitto.stop(), rabbit.stop(), moto.stop()]);
  const over = Math.round((figures.withFive - figures.without) * 10) / 10;
  return {
    name: 'RSS with five connectors idle (Kafka, Redis, MQTT, AMQP, SQS), beside the hub without them',
    figures: {
      'with five MiB': figures.withFive,
      'without MiB': figures.without,
      'over MiB': over,
    },
    target: '≤ 25 MiB over the hub without them',
    pass: over <= 25,
  };
}

/**
 * `EDGEHUB_BENCH_PARTS=idle,kafka` runs only those parts: `pipeline`, `idle`, or a drain by its
 * connector type (`kafka`, `redis-stream`, `mqtt`, `amqp`); all of them when unset.
 */
const PARTS = process.env.EDGEHUB_BENCH_PARTS?.split(',').map((p) => p.trim());
const DRAINS = { kafka: kafkaTarget, 'redis-stream': redisTarget, mqtt: mosquittoTarget, amqp: rabbitTarget };
const wanted = (part: string): boolean => PARTS === undefined || PARTS.includes(part);

export async function connectorsBench(): Promise<BenchResult[]> {
  const known = ['pipeline', 'idle', ...Object.keys(DRAINS)];
  const unknown = PARTS?.filter((p) => !known.includes(p)) ?? [];
  if (unknown.length > 0)
    throw new Error(`EDGEHUB_BENCH_PARTS: no part ${unknown.join(', ')}; the parts are ${known.join(', ')}`);
  const results: BenchResult[] = [];
  if (wanted('pipeline')) results.push(await pipelineWithKafka());
  if (wanted('idle')) results.push(await idleMemory());
  for (const [type, make] of Object.entries(DRAINS)) {
    if (!wanted(type)) continue;
    const target = await make();
    try {
      const directRate = await direct(target);
      const drainRate = await drain(target);
      const ratio = Math.round((drainRate / directRate) * 100) / 100;
      results.push({
        name: `connector drain: ${target.type}, a backlog of ${BACKLOG.toLocaleString('en')} stored events, batches of ${BATCH}`,
        figures: {
          'edgehub drain msg/s': drainRate,
          'client library direct msg/s': directRate,
          ratio,
        },
        ...(target.target !== undefined && {
          target: `≥ ${target.target}× the client library producing the same messages directly`,
          pass: ratio >= target.target,
        }),
      });
    } finally {
      await target.close().catch(() => undefined);
      await target.server.stop();
    }
  }
  return results;
}
