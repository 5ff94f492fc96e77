import { createClient } from '@redis/client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { EventEnvelope } from '../hub/index.js';
import { startSite } from './support/connector-site.js';
import { useHubKit } from './support/hub-kit.js';
import { createNetNamespace, type NetNamespace } from './support/servers/netns.js';
import { startRedis } from './support/servers/redis.js';
import type { ServerHandle } from './support/servers/server-process.js';

const kit = useHubKit();
let ns: NetNamespace;
let redis: ServerHandle & { url: string };

beforeAll(async () => {
  ns = createNetNamespace();
  redis = await startRedis({ netns: ns });
}, 180_000);

afterAll(async () => {
  await redis?.stop();
  ns?.remove();
});

describe('the network to the remote cut, then back', { timeout: 60_000 }, () => {
  it('gives up on the stalled batch, keeps every acknowledged event, and sends them in order once the link is up', async () => {
    const s = await startSite(kit.temp, {
      type: 'redis-stream',
      url: redis.url,
      out: [{ topics: ['sensors/#'], stream: 'cut.{device}' }],
    });
    kit.keep(s.hub);
    await s.connected();
    const sensor = await kit.pool.connect(s.url);
    const publish = async (from: number, to: number): Promise<void> => {
      for (let v = from; v < to; v++)
        await sensor.publishAsync('sensors/d1/temperature', String(v), { qos: 1 });
    };
    await publish(0, 5);
    await vi.waitFor(() => expect(s.status()?.delivered).toBe(5));

    ns.cut();
    // Acknowledged by the hub while the link is down: the batch that goes out meanwhile hangs.
    await publish(5, 10);
    await vi.waitFor(() => expect(s.status()?.inFlight).toBeGreaterThan(0));
    s.clock.advance(60_000);
    expect(s.status()).toMatchObject({ state: 'retrying', inFlight: 0, backlog: 5 });
    expect(s.status()?.lastError).toMatch(/confirmed nothing/);

    ns.heal();
    s.retryNow();
    await vi.waitFor(
      () => expect(s.status()).toMatchObject({ state: 'connected', delivered: 10, backlog: 0 }),
      {
        timeout: 30_000,
      },
    );
    const client = createClient({ url: redis.url });
    await client.connect();
    const entries = (await client.xRange('cut.d1', '-', '+')) ?? [];
    await client.close();
    const firstSeen = new Map<string, number>();
    for (const e of entries) {
      const event = JSON.parse(e.message.payload ?? '{}') as EventEnvelope;
      if (!firstSeen.has(event.id)) firstSeen.set(event.id, event.value as number);
    }
    expect([...firstSeen.values()]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});
