import { EventEmitter } from 'node:events';
import type { MqttClient } from 'mqtt';
import { describe, expect, it, vi } from 'vitest';
import { Hub, loadConfig, type HubConfig } from '../hub/index.js';
import { MemoryLogger } from '../kernel/index.js';
import { useHubKit } from './support/hub-kit.js';
import { SignallingClock } from './support/signalling-clock.js';
import { until } from './support/until.js';
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
  logger: MemoryLogger;
  /** Emits `tick` on every message the site's broker handles, so waits recheck. */
  ticks: EventEmitter;
}

async function startSite(upstreamPort: number, connector: Record<string, unknown>): Promise<Site> {
  const base = loadConfig(undefined, {
    mqttPort: 0,
    wsPort: null,
    httpPort: null,
    dataDir: kit.temp.make('site-'),
  });
  const config = {
    ...base,
    hub: { ...base.hub, name: 'site1' },
    connectors: [
      {
        id: 'up',
        type: 'mqtt' as const,
        url: `mqtt://127.0.0.1:${upstreamPort}`,
        enabled: true,
        protocol_version: 5 as const,
        keepalive: 60,
        backlog: { max_events: 1_000_000, max_age: '7d' },
        batch_size: 500,
        retry: { initial: '1s', max: '1m' },
        out: [],
        in: [],
        ...connector,
      },
    ],
  } as HubConfig;
  const clock = new SignallingClock(Date.now());
  const logger = new MemoryLogger();
  const hub = kit.keep(new Hub({ config, logger, clock }));
  const ticks = new EventEmitter();
  hub.broker.onMessage(ticks, () => ticks.emit('tick'));
  await hub.start();
  return { hub, clock, logger, ticks };
}

/** The site's handle on its connectors' thread. */
function threadOf(site: Site): { running: boolean; worker?: { terminate(): Promise<number> } } {
  return (
    site.hub.connectors as unknown as {
      thread: { running: boolean; worker?: { terminate(): Promise<number> } };
    }
  ).thread;
}

function siteUrl(site: Site): string {
  return `mqtt://127.0.0.1:${site.hub.broker.mqttAddress?.port}`;
}

function collect(client: MqttClient): { topic: string; payload: Buffer; props: Record<string, unknown> }[] {
  const got: { topic: string; payload: Buffer; props: Record<string, unknown> }[] = [];
  client.on('message', (topic, payload, packet) =>
    got.push({ topic, payload, props: packet.properties?.userProperties ?? {} }),
  );
  return got;
}

const route = { key: 'device', format: 'event', topic_prefix: 'site1/', qos: 1, retain: false };

/** An upstream with a client on `site1/#`, and a site whose connector to it is connected. */
async function connectedSite(): Promise<{ cloud: MqttClient; got: ReturnType<typeof collect>; site: Site }> {
  const port = await freePort();
  await startUpstream(port).start();
  const cloud = await kit.pool.connect(`mqtt://127.0.0.1:${port}`, { protocolVersion: 5 });
  await cloud.subscribeAsync('site1/#', { qos: 1 });
  const got = collect(cloud);
  const site = await startSite(port, { out: [{ ...route, topics: ['sensors/#'] }] });
  await until(() => site.hub.connectors?.status('up')?.state === 'connected', 'the connector to connect', [
    [site.ticks, 'tick'],
  ]);
  return { cloud, got, site };
}

describe('an mqtt connector to an upstream broker', () => {
  it('sends stored events upstream in order per device, each with its event id', async () => {
    const { cloud, got, site } = await connectedSite();
    const sensor = await kit.pool.connect(siteUrl(site));
    for (let i = 0; i < 20; i++)
      await sensor.publishAsync(`sensors/t${i % 2}/temperature`, JSON.stringify({ value: 20 + i }), {
        qos: 1,
      });
    await sensor.publishAsync('other/topic', 'not selected', { qos: 1 });
    await until(() => got.length >= 20, '20 events upstream', [[cloud, 'message']]);

    expect(got.every((m) => m.topic.startsWith('site1/sensors/'))).toBe(true);
    for (const device of ['t0', 't1']) {
      const values = got
        .filter((m) => m.topic === `site1/sensors/${device}/temperature`)
        .map((m) => (JSON.parse(m.payload.toString()) as { value: number }).value);
      expect(values).toEqual([...values].sort((a, b) => a - b));
      expect(values).toHaveLength(10);
    }
    const first = JSON.parse(got[0]?.payload.toString() ?? '{}') as Record<string, unknown>;
    expect(first).toMatchObject({
      hub: 'site1',
      topic: 'sensors/t0/temperature',
      device: 't0',
      metric: 'temperature',
      value: 20,
    });
    expect(first.id).toBe(`site1:${String(first.seq)}`);
    expect(got[0]?.props['edgehub-id']).toBe(first.id);
    await vi.waitFor(() => expect(site.hub.connectors?.status('up')?.delivered).toBe(20));
    const status = site.hub.connectors?.status('up');
    expect(status).toMatchObject({
      matched: 20,
      delivered: 20,
      backlog: 0,
      inFlight: 0,
      dropped: 0,
      dead: 0,
    });
    expect(site.hub.store?.outbox.backlog('up').count).toBe(0);
    // So little waiting was sent from the main thread: no second isolate for an idle connector.
    expect(threadOf(site).running).toBe(false);
  });

  it("moves to the connectors' thread once it sent 1,000 messages within 10 s, in order, losing none", async () => {
    const { cloud, got, site } = await connectedSite();
    const sensor = await kit.pool.connect(siteUrl(site));
    // Each event reaches the upstream before the next is sent: the remote keeps up, and no backlog
    // builds however slow this machine is, so only the count of messages sent can move it.
    for (let i = 0; i < 999; i++) {
      await sensor.publishAsync(`sensors/t${i % 2}/temperature`, JSON.stringify({ value: i }), { qos: 1 });
      await until(() => got.length > i, `event ${i} upstream`, [[cloud, 'message']]);
    }
    expect(threadOf(site).running).toBe(false);
    for (let i = 999; i < 1100; i++)
      await sensor.publishAsync(`sensors/t${i % 2}/temperature`, JSON.stringify({ value: i }), { qos: 1 });
    await until(() => got.length >= 1100, 'every event upstream', [[cloud, 'message']]);
    await vi.waitFor(() => expect(site.hub.connectors?.status('up')?.delivered).toBe(1100));
    expect(threadOf(site).running).toBe(true);
    for (const device of ['t0', 't1']) {
      const values = got
        .filter((m) => m.topic === `site1/sensors/${device}/temperature`)
        .map((m) => (JSON.parse(m.payload.toString()) as { value: number }).value);
      expect(values).toEqual(Array.from({ length: 550 }, (_, k) => 2 * k + (device === 't1' ? 1 : 0)));
    }
  });

  it("moves to the connectors' thread once a backlog builds, and goes on from the main thread when that thread ends mid-drain, losing nothing", async () => {
    // The upstream is down while 250 events are stored: the connector starts with a backlog.
    const port = await freePort();
    const site = await startSite(port, { out: [{ ...route, topics: ['sensors/#'] }] });
    const sensor = await kit.pool.connect(siteUrl(site));
    const publish = async (from: number, to: number): Promise<void> => {
      for (let i = from; i < to; i++)
        await sensor.publishAsync(`sensors/t${i % 3}/temperature`, JSON.stringify({ value: i }), { qos: 1 });
    };
    await publish(0, 250);
    await startUpstream(port).start();
    const cloud = await kit.pool.connect(`mqtt://127.0.0.1:${port}`, { protocolVersion: 5 });
    await cloud.subscribeAsync('site1/#', { qos: 1 });
    const got = collect(cloud);
    site.clock.advance(60_000);
    await until(() => got.length >= 10, 'the first events upstream', [[cloud, 'message']]);
    const thread = threadOf(site);
    expect(thread.running).toBe(true);

    // The thread dies as a crash would end it: whatever it held is sent again from the outbox.
    const retrying = site.clock.nextTimer('connector:up:retry');
    await thread.worker?.terminate();
    await retrying;
    expect(
      site.logger.entries.some((e) => e.level === 'warn' && /connectors' thread ended/.test(e.msg)),
    ).toBe(true);
    site.clock.advance(60_000);
    await until(() => site.hub.connectors?.status('up')?.state === 'connected', 'the connector back', [
      [site.ticks, 'tick'],
    ]);
    await publish(250, 280);

    const values = (): number[] =>
      got.map((m) => (JSON.parse(m.payload.toString()) as { value: number }).value);
    await until(() => new Set(values()).size >= 280, 'every event upstream', [[cloud, 'message']]);
    expect([...new Set(values())].sort((a, b) => a - b)).toEqual(Array.from({ length: 280 }, (_, i) => i));
    for (const device of ['t0', 't1', 't2']) {
      // Each device's events first arrive in the order they were stored; a resent one comes again later.
      const firsts = [
        ...new Set(
          got
            .filter((m) => m.topic === `site1/sensors/${device}/temperature`)
            .map((m) => (JSON.parse(m.payload.toString()) as { value: number }).value),
        ),
      ];
      expect(firsts).toEqual([...firsts].sort((a, b) => a - b));
    }
    await vi.waitFor(() =>
      expect(site.hub.connectors?.status('up')).toMatchObject({ matched: 280, delivered: 280, backlog: 0 }),
    );
    // What the thread held is counted as resent whether or not its bytes left before it ended, so
    // every duplicate is counted and a counted one may never have arrived twice.
    expect(site.hub.connectors?.status('up')?.resent).toBeGreaterThanOrEqual(got.length - 280);
  });

  it('keeps what the upstream missed while it was down and sends it when it is back', async () => {
    const port = await freePort();
    let upstream = startUpstream(port);
    await upstream.start();
    const site = await startSite(port, { out: [{ ...route, topics: ['sensors/#'] }] });
    await until(() => site.hub.connectors?.status('up')?.state === 'connected', 'the connector to connect', [
      [site.ticks, 'tick'],
    ]);
    const downs: unknown[] = [];
    site.hub.bus.on(downs, 'connector.down', (e) => downs.push(e));
    const retrying = site.clock.nextTimer('connector:up:retry');
    await upstream.stop();
    await retrying;
    expect(site.hub.connectors?.status('up')?.state).toBe('retrying');
    expect(downs).toHaveLength(1);

    const sensor = await kit.pool.connect(siteUrl(site));
    for (let i = 0; i < 10; i++)
      await sensor.publishAsync('sensors/t1/temperature', JSON.stringify({ value: i }), { qos: 1 });
    await vi.waitFor(() => expect(site.hub.connectors?.status('up')?.backlog).toBe(10));
    expect(site.hub.store?.outbox.backlog('up').count).toBe(10);

    upstream = startUpstream(port);
    await upstream.start();
    const cloud = await kit.pool.connect(`mqtt://127.0.0.1:${port}`, { protocolVersion: 5 });
    await cloud.subscribeAsync('site1/#', { qos: 1 });
    const got = collect(cloud);
    site.clock.advance(60_000);
    await until(() => got.length >= 10, 'the backlog upstream', [[cloud, 'message']]);
    expect(got.map((m) => (JSON.parse(m.payload.toString()) as { value: number }).value)).toEqual([
      0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
    ]);
    // The upstream's PUBACKs reach the connector after the messages reach `cloud`.
    await vi.waitFor(() =>
      expect(site.hub.connectors?.status('up')).toMatchObject({
        state: 'connected',
        matched: 10,
        delivered: 10,
        backlog: 0,
      }),
    );
    expect(site.hub.rules.alerts.get('connectors/up/down')?.active).toBe(false);
  });

  it('drops the oldest beyond the backlog bound, counts them and raises an alert', async () => {
    const port = await freePort();
    const site = await startSite(port, {
      out: [{ ...route, topics: ['sensors/#'] }],
      backlog: { max_events: 5, max_age: '7d' },
    });
    if (!site.clock.pending().includes('connector:up:retry'))
      await site.clock.nextTimer('connector:up:retry');
    const dropped: { dropped: number; backlog: number }[] = [];
    site.hub.bus.on(dropped, 'connector.backlog', (e) => dropped.push(e));
    const sensor = await kit.pool.connect(siteUrl(site));
    for (let i = 0; i < 12; i++)
      await sensor.publishAsync('sensors/t1/temperature', JSON.stringify({ value: i }), { qos: 1 });
    await vi.waitFor(() => expect(site.hub.connectors?.status('up')?.matched).toBe(12));
    site.clock.advance(1000);
    await vi.waitFor(() => expect(dropped).toEqual([expect.objectContaining({ dropped: 7, backlog: 5 })]));
    expect(site.hub.connectors?.status('up')).toMatchObject({
      matched: 12,
      dropped: 7,
      backlog: 5,
      delivered: 0,
    });
    expect(site.hub.rules.alerts.get('connectors/up/backlog')).toMatchObject({
      active: true,
      severity: 'major',
    });
    expect(site.logger.entries.some((e) => e.level === 'warn' && /backlog over its bound/.test(e.msg))).toBe(
      true,
    );

    const upstream = startUpstream(port);
    await upstream.start();
    const cloud = await kit.pool.connect(`mqtt://127.0.0.1:${port}`, { protocolVersion: 5 });
    await cloud.subscribeAsync('site1/#', { qos: 1 });
    const got = collect(cloud);
    site.clock.advance(60_000);
    await until(() => got.length >= 5, 'the kept backlog upstream', [[cloud, 'message']]);
    expect(got.map((m) => (JSON.parse(m.payload.toString()) as { value: number }).value)).toEqual([
      7, 8, 9, 10, 11,
    ]);
  });

  it('brings upstream messages in as local events, stored, acknowledged after storing', async () => {
    const port = await freePort();
    const upstream = startUpstream(port);
    await upstream.start();
    const site = await startSite(port, {
      in: [{ topic: 'cloud/site1/#', strip_prefix: 'cloud/site1/', local_topic: 'remote/{topic}', qos: 1 }],
      out: [{ ...route }],
    });
    await until(() => site.hub.connectors?.status('up')?.state === 'connected', 'the connector to connect', [
      [site.ticks, 'tick'],
    ]);
    const cloud = await kit.pool.connect(`mqtt://127.0.0.1:${port}`, { protocolVersion: 5 });
    const echoes = collect(cloud);
    await cloud.subscribeAsync('site1/#', { qos: 1 });
    await cloud.publishAsync('cloud/site1/orders/placed', JSON.stringify({ order: 7 }), { qos: 1 });
    await vi.waitFor(() =>
      expect(site.hub.store?.query({ topicFilter: 'remote/orders/placed' })).toHaveLength(1),
    );
    expect(site.hub.connectors?.status('up')?.received).toBe(1);
    // An out route covering every topic does not send the connector's own message back: a local
    // event stored after it arrives upstream alone.
    const sensor = await kit.pool.connect(siteUrl(site));
    await sensor.publishAsync('sensors/t1/temperature', '21', { qos: 1 });
    await until(
      () => echoes.some((m) => m.topic === 'site1/sensors/t1/temperature'),
      'the local event upstream',
      [[cloud, 'message']],
    );
    expect(echoes.filter((m) => m.topic.startsWith('site1/remote/'))).toEqual([]);
  });
});
