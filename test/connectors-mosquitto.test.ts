import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { EventEnvelope } from '../hub/index.js';
import { startSite, type Site } from './support/connector-site.js';
import { useHubKit } from './support/hub-kit.js';
import { startMosquitto } from './support/servers/mosquitto.js';
import type { ServerHandle } from './support/servers/server-process.js';

const kit = useHubKit();
const user = { name: 'site1', password: 'right-one' };
let mosquitto: ServerHandle & { url: string };

beforeAll(async () => {
  mosquitto = await startMosquitto({ user });
}, 180_000);

afterAll(async () => {
  await mosquitto?.stop();
});

/** A persistent cloud-side subscriber, so what arrives while it is away waits for it in Mosquitto. */
async function cloud(
  clientId: string,
  filter: string,
): Promise<{ client: MqttClient; got: EventEnvelope[] }> {
  const client = await kit.pool.connect(mosquitto.url, {
    clientId,
    protocolVersion: 5,
    clean: false,
    properties: { sessionExpiryInterval: 3600 },
    username: user.name,
    password: user.password,
  });
  const got: EventEnvelope[] = [];
  client.on('message', (_t, payload) => got.push(JSON.parse(payload.toString()) as EventEnvelope));
  await client.subscribeAsync(filter, { qos: 1 });
  return { client, got };
}

async function site(connector: Record<string, unknown>): Promise<Site> {
  process.env.EH_TEST_MQTT_PASSWORD ??= user.password;
  const s = await startSite(kit.temp, {
    type: 'mqtt',
    url: mosquitto.url,
    username: user.name,
    password_env: 'EH_TEST_MQTT_PASSWORD',
    ...connector,
  });
  kit.keep(s.hub);
  return s;
}

describe('an mqtt connector to a real Mosquitto', { timeout: 60_000 }, () => {
  it('says a wrong password is refused, keeps retrying, and delivers once it is right', async () => {
    const { got } = await cloud('cloud-1', 'm1/#');
    process.env.EH_TEST_MQTT_PASSWORD = 'wrong-one';
    try {
      const s = await site({ out: [{ topics: ['sensors/#'], topic_prefix: 'm1/' }] });
      await s.retrying();
      expect(s.status()?.lastError).toMatch(/not authorized|bad user name or password/i);
      const sensor = await kit.pool.connect(s.url);
      await sensor.publishAsync('sensors/d1/temperature', '1', { qos: 1 });
      await vi.waitFor(() => expect(s.status()?.backlog).toBe(1));
      expect(s.logger.entries.map((e) => JSON.stringify(e)).join('\n')).not.toContain('wrong-one');
      process.env.EH_TEST_MQTT_PASSWORD = user.password;
      s.retryNow();
      await vi.waitFor(() => expect(got.map((e) => e.value)).toEqual([1]));
    } finally {
      process.env.EH_TEST_MQTT_PASSWORD = user.password;
    }
  });

  it('keeps every acknowledged event while Mosquitto restarts under load, in order per device', async () => {
    const { client, got } = await cloud('cloud-2', 'm2/#');
    const s = await site({ out: [{ topics: ['sensors/#'], topic_prefix: 'm2/' }] });
    await s.connected();
    const sensor = await kit.pool.connect(s.url);
    const acked: number[] = [];
    let next = 0;
    const load = (async () => {
      while (next < 500) {
        const value = next++;
        await sensor.publishAsync(`sensors/d${value % 3}/temperature`, JSON.stringify({ value }), { qos: 1 });
        acked.push(value);
      }
    })();
    await vi.waitFor(() => expect(acked.length).toBeGreaterThan(100));
    await mosquitto.kill();
    await s.retrying();
    await load;
    await client.endAsync(true);
    await mosquitto.restart();
    // The consumer first: Mosquitto killed may not have saved its subscription, and a message sent
    // before it subscribes again reaches nobody.
    const back = await cloud('cloud-2', 'm2/#');
    s.retryNow();
    await vi.waitFor(
      () => expect(s.status()).toMatchObject({ state: 'connected', backlog: 0, inFlight: 0 }),
      {
        timeout: 20_000,
      },
    );
    const all = [...got, ...back.got];
    await vi.waitFor(() => expect(new Set([...got, ...back.got].map((e) => e.id)).size).toBe(500), {
      timeout: 20_000,
    });
    const firstSeen = new Map<string, EventEnvelope>();
    for (const e of [...got, ...back.got]) if (!firstSeen.has(e.id)) firstSeen.set(e.id, e);
    expect([...firstSeen.values()].map((e) => e.value as number).sort((a, b) => a - b)).toEqual(
      acked.sort((a, b) => a - b),
    );
    for (let d = 0; d < 3; d++) {
      const values = [...firstSeen.values()]
        .filter((e) => e.device === `d${d}`)
        .map((e) => e.value as number);
      expect(values).toEqual([...values].sort((a, b) => a - b));
    }
    expect(all.length).toBeGreaterThan(0);
  });
});
