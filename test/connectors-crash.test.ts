import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Hub, loadConfig, type HubConfig } from '../hub/index.js';
import { MemoryLogger } from '../kernel/index.js';
import { HubProcesses, signalAndWait } from './support/hub-process.js';
import { ClientPool } from './support/mqtt-client.js';
import { TempDirs } from './support/temp.js';
import { freePort } from './support/servers/server-process.js';

const temp = new TempDirs();
const pool = new ClientPool();
const hubs = new HubProcesses();
const upstreams: Hub[] = [];

afterEach(async () => {
  await pool.closeAll();
  await hubs.killAll();
  for (const hub of upstreams.splice(0)) await hub.stop();
  temp.cleanup();
});

/** An edgehub as the upstream broker, in this process: a real MQTT broker, nothing stored. */
async function startUpstream(port: number): Promise<Hub> {
  const base = loadConfig(undefined, {
    mqttPort: port,
    wsPort: null,
    httpPort: null,
    dataDir: temp.make('up-'),
  });
  const config: HubConfig = {
    ...base,
    mqtt: { ...base.mqtt, persistence: 'memory' },
    store: { ...base.store, enabled: false },
  };
  const hub = new Hub({ config, logger: new MemoryLogger() });
  upstreams.push(hub);
  await hub.start();
  return hub;
}

function siteConfig(upstreamPort: number): string {
  const file = join(temp.make('site-config-'), 'edgehub.yaml');
  writeFileSync(
    file,
    [
      'hub:',
      '  name: site1',
      'http:',
      '  port: null',
      'connectors:',
      '  - id: up',
      '    type: mqtt',
      `    url: mqtt://127.0.0.1:${upstreamPort}`,
      '    batch_size: 100',
      '    retry: { initial: 100ms, max: 500ms }',
      '    out:',
      '      - topics: [sensors/#]',
      '        topic_prefix: site1/',
      '',
    ].join('\n'),
  );
  return file;
}

describe('a hub killed while it drains its outbox', () => {
  it(
    'sends every acknowledged event after the restart, each device in order, duplicates counted',
    { timeout: 60_000 },
    async () => {
      const port = await freePort();
      const data = temp.make('site-data-');
      const config = siteConfig(port);
      const first = await hubs.start(data, ['--config', config]);

      // The upstream is away while 3,000 events are acknowledged: all of them wait in the outbox.
      const sensor = await pool.connect(first.url, { clientId: 'gw' });
      const total = 3000;
      for (let i = 0; i < total; i += 50)
        await Promise.all(
          Array.from({ length: 50 }, (_, k) =>
            sensor.publishAsync(`sensors/d${(i + k) % 5}/temperature`, JSON.stringify({ value: i + k }), {
              qos: 1,
            }),
          ),
        );

      await startUpstream(port);
      const cloud = await pool.connect(`mqtt://127.0.0.1:${port}`, {
        clientId: 'cloud',
        protocolVersion: 5,
        clean: false,
        properties: { sessionExpiryInterval: 3600 },
      });
      await cloud.subscribeAsync('site1/#', { qos: 1 });
      const got: { id: string; device: string; value: number }[] = [];
      let killed: Promise<void> | undefined;
      cloud.on('message', (_topic, payload) => {
        got.push(JSON.parse(payload.toString()) as { id: string; device: string; value: number });
        // Mid-drain: some delivered, most still in the outbox.
        if (got.length === 300) killed = signalAndWait(first.hub, 'SIGKILL');
      });
      await vi.waitFor(() => expect(killed).toBeDefined(), { timeout: 15_000 });
      await killed;
      const beforeRestart = got.length;
      expect(beforeRestart).toBeLessThan(total);

      await hubs.start(data, ['--config', config]);
      await vi.waitFor(() => expect(new Set(got.map((m) => m.id)).size).toBe(total), { timeout: 30_000 });

      const firstSeen = new Map<string, { device: string; value: number }>();
      for (const m of got) if (!firstSeen.has(m.id)) firstSeen.set(m.id, m);
      for (let d = 0; d < 5; d++) {
        const values = [...firstSeen.values()].filter((m) => m.device === `d${d}`).map((m) => m.value);
        expect(values).toHaveLength(total / 5);
        expect(values).toEqual([...values].sort((a, b) => a - b));
      }
      const duplicates = got.length - firstSeen.size;
      // At-least-once: what was in flight at the kill may come twice, never more than a batch or two.
      expect(duplicates).toBeLessThanOrEqual(200);
      console.info(`delivered ${firstSeen.size} distinct events, ${duplicates} duplicates after the kill`);
    },
  );
});
