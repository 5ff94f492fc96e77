import { createClient } from '@redis/client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { EventEnvelope } from '../hub/index.js';
import { startSite, type Site } from './support/connector-site.js';
import { useHubKit } from './support/hub-kit.js';
import { startRedis } from './support/servers/redis.js';
import type { ServerHandle } from './support/servers/server-process.js';

const kit = useHubKit();
let redis: ServerHandle & { url: string };
let client: ReturnType<typeof createClient>;

beforeAll(async () => {
  redis = await startRedis({ persist: true });
  client = createClient({ url: redis.url });
  client.on('error', () => undefined);
  await client.connect();
}, 180_000);

afterAll(async () => {
  await client?.close().catch(() => undefined);
  await redis?.stop();
});

/** A stream's entries as the connector wrote them: fields id, key, payload. */
async function entries(stream: string): Promise<{ id: string; key: string; event: EventEnvelope }[]> {
  const found = await client.xRange(stream, '-', '+');
  return (found ?? []).map((e) => ({
    id: e.message.id ?? '',
    key: e.message.key ?? '',
    event: JSON.parse(e.message.payload ?? '{}') as EventEnvelope,
  }));
}

async function site(connector: Record<string, unknown>, rules?: Record<string, string>): Promise<Site> {
  const s = await startSite(
    kit.temp,
    { type: 'redis-stream', url: redis.url, ...connector },
    rules ? { rules } : {},
  );
  kit.keep(s.hub);
  return s;
}

async function publish(s: Site, topic: string, values: readonly number[]): Promise<void> {
  const sensor = await kit.pool.connect(s.url);
  for (const value of values) await sensor.publishAsync(topic, JSON.stringify({ value }), { qos: 1 });
}

describe('a redis-stream connector against a real Redis', () => {
  it('appends each event to its stream in order per device, with the event id and the key', async () => {
    const s = await site({ out: [{ topics: ['sensors/#'], stream: 'r1.{device}' }] });
    await s.connected();
    await publish(s, 'sensors/d1/temperature', [1, 2, 3]);
    await publish(s, 'sensors/d2/temperature', [4, 5]);
    await vi.waitFor(async () => expect(await client.xLen('r1.d2')).toBe(2));
    const d1 = await entries('r1.d1');
    expect(d1.map((e) => e.event.value)).toEqual([1, 2, 3]);
    expect(d1.every((e) => e.key === 'd1' && e.id === e.event.id && e.id.startsWith('site1:'))).toBe(true);
    expect((await entries('r1.d2')).map((e) => e.event.value)).toEqual([4, 5]);
    await vi.waitFor(() => expect(s.status()).toMatchObject({ matched: 5, delivered: 5, backlog: 0 }));
  });

  it('brings stream entries in as stored events that fire a rule, acknowledged once stored', async () => {
    const s = await site(
      { in: [{ stream: 'r2.orders', local_topic: 'remote/orders' }] },
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
    await client.xAdd('r2.orders', '*', { payload: JSON.stringify({ order: 42 }) });
    await vi.waitFor(() => expect(s.seen.some((m) => m.topic === 'site/light')).toBe(true));
    expect(JSON.parse(s.seen.find((m) => m.topic === 'site/light')?.payload.toString() ?? '{}')).toEqual({
      on: true,
      order: 42,
    });
    expect(s.hub.store?.query({ topicFilter: 'remote/orders' })).toHaveLength(1);
    await vi.waitFor(async () =>
      expect((await client.xPending('r2.orders', 'site1-remote')).pending).toBe(0),
    );
  });

  it('says a wrong password is wrong, keeps retrying, and loses nothing meanwhile', async () => {
    await client.configSet('requirepass', 'right-one');
    try {
      process.env.EH_TEST_REDIS_PASSWORD = 'wrong-one';
      const s = await site({
        password_env: 'EH_TEST_REDIS_PASSWORD',
        out: [{ topics: ['sensors/#'], stream: 'r3.{device}' }],
      });
      await s.retrying();
      expect(s.status()?.state).toBe('retrying');
      expect(s.status()?.lastError).toMatch(/WRONGPASS|invalid (username|password)/i);
      await publish(s, 'sensors/d1/temperature', [1, 2, 3]);
      await vi.waitFor(() => expect(s.status()?.backlog).toBe(3));
      expect(s.logger.entries.map((e) => JSON.stringify(e)).join('\n')).not.toContain('wrong-one');

      process.env.EH_TEST_REDIS_PASSWORD = 'right-one';
      s.retryNow();
      await vi.waitFor(() =>
        expect(s.status()).toMatchObject({ state: 'connected', delivered: 3, backlog: 0 }),
      );
    } finally {
      await client.sendCommand(['AUTH', 'right-one']).catch(() => undefined);
      await client.configSet('requirepass', '');
      delete process.env.EH_TEST_REDIS_PASSWORD;
    }
    expect((await entries('r3.d1')).map((e) => e.event.value)).toEqual([1, 2, 3]);
  });

  it('dead-letters an entry Redis refuses for good and sends the rest', async () => {
    await client.set('r4.bad', 'not a stream');
    const s = await site({ out: [{ topics: ['sensors/#'], stream: 'r4.{device}' }] });
    await s.connected();
    const sensor = await kit.pool.connect(s.url);
    await sensor.publishAsync('sensors/ok/temperature', '1', { qos: 1 });
    await sensor.publishAsync('sensors/bad/temperature', '2', { qos: 1 });
    await sensor.publishAsync('sensors/ok/temperature', '3', { qos: 1 });
    await vi.waitFor(() =>
      expect(s.status()).toMatchObject({ delivered: 2, deadLettered: 1, dead: 1, backlog: 0 }),
    );
    expect((await entries('r4.ok')).map((e) => e.event.value)).toEqual([1, 3]);
    const dead = s.hub.store?.outbox.dead('remote') ?? [];
    expect(dead).toHaveLength(1);
    expect(dead[0]?.reason).toMatch(/WRONGTYPE/);
  });

  it('keeps every acknowledged event while Redis is down under load, and sends them when it is back', async () => {
    const s = await site({ out: [{ topics: ['sensors/#'], stream: 'r5.{device}' }] });
    await s.connected();
    const sensor = await kit.pool.connect(s.url);
    let next = 0;
    const acked: number[] = [];
    const load = (async () => {
      while (next < 600) {
        const value = next++;
        await sensor.publishAsync(`sensors/d${value % 3}/temperature`, JSON.stringify({ value }), { qos: 1 });
        acked.push(value);
      }
    })();
    await vi.waitFor(() => expect(acked.length).toBeGreaterThan(100));
    await redis.kill();
    await s.retrying();
    await load;
    await redis.restart();
    await client.connect().catch(() => undefined);
    s.retryNow();
    await vi.waitFor(
      () => expect(s.status()).toMatchObject({ state: 'connected', backlog: 0, inFlight: 0 }),
      {
        timeout: 15_000,
      },
    );
    const seen = new Map<string, number>();
    let duplicates = 0;
    for (let d = 0; d < 3; d++) {
      const values: number[] = [];
      for (const e of await entries(`r5.d${d}`)) {
        if (seen.has(e.id)) {
          duplicates++;
          continue;
        }
        seen.set(e.id, e.event.value as number);
        values.push(e.event.value as number);
      }
      expect(values).toEqual([...values].sort((a, b) => a - b));
    }
    expect([...seen.values()].sort((a, b) => a - b)).toEqual(acked.sort((a, b) => a - b));
    expect(s.status()?.resent).toBeGreaterThanOrEqual(duplicates);
  });

  it("sends a rule's forward through the same outbox, with its key and payload", async () => {
    const s = await site(
      { out: [] },
      {
        'hot.yaml': `rules:
  - id: hot-to-cloud
    when:
      mqtt: sensors/+device/temperature
    if: payload.value > 30
    then:
      - forward:
          to: remote
          destination: r6.alerts
          key: "{{ device }}"
          payload: { hot: "{{ device }}", value: "{{ payload.value }}" }
`,
      },
    );
    await s.connected();
    await publish(s, 'sensors/gh-1/temperature', [25, 31, 35]);
    await vi.waitFor(async () => expect(await client.xLen('r6.alerts')).toBe(2));
    const found = (await client.xRange('r6.alerts', '-', '+')) ?? [];
    expect(found.map((e) => [e.message.key, JSON.parse(e.message.payload ?? '{}') as unknown])).toEqual([
      ['gh-1', { hot: 'gh-1', value: 31 }],
      ['gh-1', { hot: 'gh-1', value: 35 }],
    ]);
    expect(found.every((e) => e.message.id?.startsWith('site1:f'))).toBe(true);
    await vi.waitFor(() => expect(s.status()).toMatchObject({ matched: 2, delivered: 2, backlog: 0 }));
  });
});
