import { deviceDefinitionSchema, type DeviceDefinition } from '../devices/index.js';

/** Greenhouse nodes the demo fleet simulates (`gh-1` …), as `edgehub sim` starts them by default. */
const DEMO_NODES = 2;

/**
 * The definitions the hub runs with under `demo`: the configured ones, plus a definition for each
 * simulated greenhouse node the config does not define itself: a temperature sensor (°C, stale
 * after a minute without a reading) and a fan. Defined devices are what the registry checks rules
 * against and what Home Assistant discovery announces, so a newcomer who points Home Assistant at the
 * demo sees the two nodes.
 */
export function withDemoDevices(defined: readonly DeviceDefinition[]): DeviceDefinition[] {
  const taken = new Set(defined.map((d) => d.id));
  const demo: DeviceDefinition[] = [];
  for (let n = 1; n <= DEMO_NODES; n++) {
    const id = `gh-${n}`;
    if (taken.has(id)) continue;
    demo.push(
      deviceDefinitionSchema.parse({
        id,
        name: `Greenhouse ${n} (simulated)`,
        model: 'edgehub sim',
        stale_after: '1m',
        sensors: [{ metric: 'temperature', unit: '°C', kind: 'temperature' }],
        actuators: [{ name: 'fan', kind: 'switch' }],
      }),
    );
  }
  return [...defined, ...demo];
}
