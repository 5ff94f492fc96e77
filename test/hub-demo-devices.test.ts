import { afterEach, describe, expect, it, vi } from 'vitest';
import { Hub, loadConfig } from '../hub/index.js';
import { deviceDefinitionSchema } from '../devices/index.js';
import { MemoryLogger } from '../kernel/index.js';
import { TempDirs } from './support/temp.js';

const temp = new TempDirs();
const hubs: Hub[] = [];
afterEach(async () => {
  for (const hub of hubs.splice(0)) await hub.stop();
  temp.cleanup();
});

async function startDemo(devices: unknown[] = []): Promise<Hub> {
  const config = loadConfig(undefined, {
    mqttPort: 0,
    wsPort: null,
    dataDir: temp.make('edgehub-data-'),
    demo: true,
  });
  const hub = new Hub({
    config: {
      ...config,
      http: { ...config.http, port: null },
      devices: config.devices.concat(devices.map((d) => deviceDefinitionSchema.parse(d))),
    },
    logger: new MemoryLogger(),
  });
  hubs.push(hub);
  await hub.start();
  return hub;
}

async function discoveryConfigs(hub: Hub): Promise<Map<string, Record<string, unknown>>> {
  const retained = await hub.broker.retained('homeassistant/#');
  return new Map(
    retained
      .filter((m) => m.topic.endsWith('/config') && m.payload.length > 0)
      .map((m) => [m.topic, JSON.parse(m.payload.toString()) as Record<string, unknown>]),
  );
}

describe('the demo', () => {
  it('announces its simulated greenhouse nodes to Home Assistant: a temperature sensor and a fan each', async () => {
    const hub = await startDemo();
    await vi.waitFor(async () => {
      const configs = await discoveryConfigs(hub);
      for (const node of ['gh-1', 'gh-2']) {
        const sensor = [...configs.values()].find((c) => c.unique_id === `edgehub_${node}_temperature`);
        expect(sensor).toMatchObject({ unit_of_measurement: '°C', device_class: 'temperature' });
        const fan = [...configs.values()].find((c) => c.unique_id === `edgehub_${node}_fan`);
        expect(String(fan?.command_topic)).toBe(`edgehub/set/${node}/fan`);
      }
    });
  });

  it('keeps a configured definition of a demo node instead of its own', async () => {
    const hub = await startDemo([
      { id: 'gh-1', name: 'Tomatoes', sensors: [{ metric: 'temperature', unit: '°C' }] },
    ]);
    await vi.waitFor(async () => {
      const configs = [...(await discoveryConfigs(hub)).values()];
      const names = configs.map((c) => (c.device as { name?: string } | undefined)?.name);
      expect(names).toContain('Tomatoes');
      expect(names).not.toContain('Greenhouse 1 (simulated)');
      expect(names).toContain('Greenhouse 2 (simulated)');
    });
  });
});
