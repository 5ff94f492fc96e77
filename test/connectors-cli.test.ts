import { EventEmitter } from 'node:events';
import amqp, { type Channel, type ChannelModel } from 'amqplib';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  connectorSchema,
  Hub,
  loadConfig,
  type ConnectorConfig,
  type ConnectorStatus,
  type EventEnvelope,
  type HubConfig,
} from '../hub/index.js';
import { MemoryLogger } from '../kernel/index.js';
import { runCli } from './support/hub-process.js';
import { untilConnected } from './support/connector-site.js';
import { useHubKit } from './support/hub-kit.js';
import { SignallingClock } from './support/signalling-clock.js';
import { until } from './support/until.js';
import { startRabbitMq, type RabbitHandle } from './support/servers/rabbitmq.js';
import { freePort } from './support/servers/server-process.js';

const kit = useHubKit();

/** Another edgehub as the upstream broker: a real MQTT broker on a real socket, nothing stored. */
function startUpstream(port: number): Hub {
  const base = loadConfig(undefined, {
    mqttPort: port,
    wsPort: null,
    httpPort: null,
    dataDir: kit.temp.make('up-'),
  });
  const config: HubConfig = {
    ...base,
    hub: { ...base.hub, name: 'upstream' },
    mqtt: { ...base.mqtt, persistence: 'memory' },
    store: { ...base.store, enabled: false },
  };
  return kit.keep(new Hub({ config, logger: new MemoryLogger() }));
}

interface Site {
  hub: Hub;
  clock: SignallingClock;
  /** The site's HTTP API, as `--api` takes it. */
  api: string;
  /** Emits `tick` on every message the site's broker handles, so waits recheck. */
  ticks: EventEmitter;
}

/** The hub under test: an `mqtt` connector `up` sending `sensors/#` upstream, the HTTP API on a free port. */
function startSite(upstreamPort: number): Promise<Site> {
  return startSiteWith({
    id: 'up',
    type: 'mqtt',
    url: `mqtt://127.0.0.1:${upstreamPort}`,
    enabled: true,
    protocol_version: 5,
    keepalive: 60,
    backlog: { max_events: 1_000_000, max_age: '7d' },
    batch_size: 500,
    retry: { initial: '1s', max: '1m' },
    out: [
      {
        topics: ['sensors/#'],
        key: 'device',
        format: 'event',
        topic_prefix: 'site1/',
        qos: 1,
        retain: false,
      },
    ],
    in: [],
  });
}

/** A hub named `site1` with `connector`, on a virtual clock, the HTTP API on a free port. */
async function startSiteWith(connector: ConnectorConfig): Promise<Site> {
  const base = loadConfig(undefined, {
    mqttPort: 0,
    wsPort: null,
    httpPort: 0,
    dataDir: kit.temp.make('site-'),
  });
  const config: HubConfig = { ...base, hub: { ...base.hub, name: 'site1' }, connectors: [connector] };
  const clock = new SignallingClock(Date.now());
  const hub = kit.keep(new Hub({ config, logger: new MemoryLogger(), clock }));
  const ticks = new EventEmitter();
  hub.broker.onMessage(ticks, () => ticks.emit('tick'));
  await hub.start();
  const address = hub.http?.address;
  if (!address) throw new Error('the site hub has no HTTP API');
  return { hub, clock, api: `http://127.0.0.1:${address.port}`, ticks };
}

async function connected(site: Site): Promise<void> {
  await until(() => site.hub.connectors?.status('up')?.state === 'connected', 'the connector to connect', [
    [site.ticks, 'tick'],
  ]);
}

async function publish(site: Site, count: number, first = 0): Promise<void> {
  const sensor = await kit.pool.connect(`mqtt://127.0.0.1:${site.hub.broker.mqttAddress?.port}`);
  for (let i = first; i < first + count; i++)
    await sensor.publishAsync('sensors/t1/temperature', JSON.stringify({ value: i }), { qos: 1 });
}

/** The event ids (`site1:<n>`) of what arrives upstream, in order. */
async function upstreamIds(port: number): Promise<{ client: MqttClient; ids: string[] }> {
  const client = await kit.pool.connect(`mqtt://127.0.0.1:${port}`, { protocolVersion: 5 });
  const ids: string[] = [];
  client.on('message', (_topic, payload) => ids.push((JSON.parse(payload.toString()) as { id: string }).id));
  await client.subscribeAsync('site1/#', { qos: 1 });
  return { client, ids };
}

/** `edgehub connectors ... --api <the site's API>`. */
function connectorsCli(site: Site, ...args: string[]) {
  return runCli(['connectors', ...args, '--api', site.api]);
}

async function statuses(site: Site): Promise<ConnectorStatus[]> {
  const result = await connectorsCli(site, '--json');
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return result.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as ConnectorStatus);
}

describe('edgehub connectors', () => {
  it('shows a connected connector and what it delivered, as JSON lines and as a table', async () => {
    const port = await freePort();
    await startUpstream(port).start();
    const cloud = await upstreamIds(port);
    const site = await startSite(port);
    await connected(site);
    await publish(site, 5);
    await until(() => cloud.ids.length >= 5, '5 events upstream', [[cloud.client, 'message']]);
    await vi.waitFor(() => expect(site.hub.connectors?.status('up')?.delivered).toBe(5));

    expect(await statuses(site)).toEqual([
      expect.objectContaining({
        id: 'up',
        type: 'mqtt',
        state: 'connected',
        backlog: 0,
        delivered: 5,
        dropped: 0,
        dead: 0,
      }),
    ]);
    const table = await connectorsCli(site);
    expect(table.code).toBe(0);
    const [header, row, ...rest] = table.stdout.trimEnd().split('\n');
    expect(header?.split(/\s{2,}/)).toEqual([
      'ID',
      'TYPE',
      'STATE',
      'BACKLOG',
      'AGE',
      'DELIVERED/S',
      'DELIVERED',
      'DROPPED',
      'DEAD',
      'LAST ERROR',
    ]);
    expect(row?.trim().split(/\s+/)).toEqual(['up', 'mqtt', 'connected', '0', '-', '0', '5', '0', '0', '-']);
    expect(rest).toEqual([]);
  });

  it('shows the connector retrying and its backlog growing while the upstream is down', async () => {
    const port = await freePort();
    const upstream = startUpstream(port);
    await upstream.start();
    const site = await startSite(port);
    await connected(site);
    const retrying = site.clock.nextTimer('connector:up:retry');
    await upstream.stop();
    await retrying;

    await publish(site, 3);
    await vi.waitFor(() => expect(site.hub.connectors?.status('up')?.backlog).toBe(3));
    const [first] = await statuses(site);
    expect(first).toMatchObject({ id: 'up', state: 'retrying', backlog: 3, delivered: 0 });
    expect(first?.lastError).toEqual(expect.any(String));

    await publish(site, 4, 3);
    await vi.waitFor(() => expect(site.hub.connectors?.status('up')?.backlog).toBe(7));
    expect(await statuses(site)).toEqual([expect.objectContaining({ state: 'retrying', backlog: 7 })]);
    const table = await connectorsCli(site);
    expect(table.stdout.split('\n')[1]).toMatch(/^up\s+mqtt\s+retrying\s+7\s/);
  });

  it('replays stored events upstream again with the same event ids', async () => {
    const port = await freePort();
    await startUpstream(port).start();
    const cloud = await upstreamIds(port);
    const site = await startSite(port);
    await connected(site);
    await publish(site, 3);
    await until(() => cloud.ids.length >= 3, '3 events upstream', [[cloud.client, 'message']]);
    const sent = [...cloud.ids];
    expect(sent.every((id) => /^site1:\d+$/.test(id))).toBe(true);

    const replay = await connectorsCli(site, 'replay', 'up', '--since', '1h');
    expect(replay).toMatchObject({ code: 0, stdout: 'queued 3 stored events again for connector up\n' });
    await until(() => cloud.ids.length >= 6, 'the replayed events upstream', [[cloud.client, 'message']]);
    expect(cloud.ids.slice(3)).toEqual(sent);
    await vi.waitFor(() =>
      expect(site.hub.connectors?.status('up')).toMatchObject({ delivered: 6, backlog: 0 }),
    );
  });

  it('answers 404 for an unknown connector, over HTTP and in the CLI', async () => {
    const port = await freePort();
    const site = await startSite(port);
    const res = await fetch(`${site.api}/api/connectors/nope`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({
      error: { code: 'CONNECTOR_UNKNOWN', message: 'no connector "nope" is configured' },
    });
    const list = (await (await fetch(`${site.api}/api/connectors`)).json()) as { connectors: unknown[] };
    expect(list.connectors).toEqual([expect.objectContaining({ id: 'up', type: 'mqtt' })]);

    const replay = await connectorsCli(site, 'replay', 'nope', '--since', '1h');
    expect(replay.code).toBe(1);
    expect(replay.stderr).toBe('edgehub connectors: CONNECTOR_UNKNOWN: no connector "nope" is configured\n');
  });

  it('lists no dead letters when there are none, and revives none', async () => {
    const port = await freePort();
    const site = await startSite(port);
    expect(await connectorsCli(site, 'dead', 'up')).toMatchObject({
      code: 0,
      stdout: 'no dead letters for connector up\n',
    });
    expect(await connectorsCli(site, 'dead', 'up', '--json')).toMatchObject({ code: 0, stdout: '' });
    const res = await fetch(`${site.api}/api/connectors/up/dead?limit=10`);
    expect(await res.json()).toEqual({ dead: [] });
    expect(await connectorsCli(site, 'dead', 'up', '--retry')).toMatchObject({
      code: 0,
      stdout: 'queued 0 dead letters again for connector up\n',
    });
    expect(await connectorsCli(site, 'dead', '--retry', 'up')).toMatchObject({
      code: 0,
      stdout: 'queued 0 dead letters again for connector up\n',
    });
    expect(await connectorsCli(site, 'dead')).toMatchObject({ code: 1 });
  });

  it('says which URL it could not reach and exits 1 when no hub answers', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const result = await runCli(['connectors', '--api', url]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`cannot reach the hub's HTTP API at ${url}`);
    expect(result.stdout).toBe('');
  });

  describe('with an amqp connector whose RabbitMQ refuses a message', () => {
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

    it('lists the dead letter with its reason, and once a queue is bound revives it with the same event id', async () => {
      // An exchange no queue is bound to: RabbitMQ returns the mandatory publish, for good.
      await channel.assertExchange('cli.events', 'topic', { durable: false });
      const site = await startSiteWith(
        connectorSchema.parse({
          id: 'cloud',
          type: 'amqp',
          url: rabbit.url,
          out: [{ topics: ['sensors/#'], exchange: 'cli.events' }],
        }),
      );
      const status = (): ConnectorStatus | undefined => site.hub.connectors?.status('cloud');
      await untilConnected(status);
      await publish(site, 1, 42);
      await vi.waitFor(() => expect(status()).toMatchObject({ deadLettered: 1, dead: 1, backlog: 0 }));

      const listed = await connectorsCli(site, 'dead', 'cloud', '--json');
      expect(listed).toMatchObject({ code: 0, stderr: '' });
      const lines = listed.stdout.trim().split('\n');
      expect(lines).toHaveLength(1);
      // A line as `connectors dead --json` prints it, as far as this test reads it.
      const dead = JSON.parse(lines[0] ?? '') as { id: number; eventId: number | null; reason: string };
      expect([typeof dead.id, typeof dead.eventId]).toEqual(['number', 'number']);
      expect(dead.reason).toMatch(/no queue is bound for routing key sensors\.t1\.temperature/);
      const table = await connectorsCli(site, 'dead', 'cloud');
      expect(table.stdout.split('\n')[1]).toMatch(
        new RegExp(`^\\s*${dead.id}\\s+${dead.eventId}\\s+\\S+\\s+.*no queue is bound`),
      );

      await channel.assertQueue('cli.alerts', { durable: false });
      await channel.bindQueue('cli.alerts', 'cli.events', 'sensors.#');
      const got: { id: unknown; event: EventEnvelope }[] = [];
      await channel.consume('cli.alerts', (msg) => {
        if (!msg) return;
        got.push({
          id: msg.properties.messageId,
          event: JSON.parse(msg.content.toString()) as EventEnvelope,
        });
        channel.ack(msg);
      });
      // The ids before the connector, as `dead --retry ID… CONNECTOR` reads naturally.
      expect(await connectorsCli(site, 'dead', '--retry', String(dead.id), 'cloud')).toMatchObject({
        code: 0,
        stdout: 'queued 1 dead letter again for connector cloud\n',
      });
      await vi.waitFor(() => expect(got).toHaveLength(1));
      expect(got[0]?.id).toBe(`site1:${dead.eventId}`);
      expect(got[0]?.event).toMatchObject({ id: `site1:${dead.eventId}`, value: 42 });

      expect(await connectorsCli(site, 'dead', 'cloud', '--json')).toMatchObject({ code: 0, stdout: '' });
      expect(await connectorsCli(site, 'dead', 'cloud')).toMatchObject({
        code: 0,
        stdout: 'no dead letters for connector cloud\n',
      });
      await vi.waitFor(() =>
        expect(status()).toMatchObject({ delivered: 1, deadLettered: 1, dead: 0, backlog: 0, inFlight: 0 }),
      );
    }, 60_000);
  });
});
