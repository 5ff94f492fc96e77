import { deviceDefinitionSchema, type DeviceDefinition } from '../devices/index.js';
import type { Logger } from '../kernel/index.js';
import type { HubBus } from './events.js';

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

/**
 * With `demo`, readings and actuator states go to the log, so a newcomer sees the rules work.
 * Returns the function that stops it.
 */
export function reportDemoReadings(bus: HubBus, logger: Logger): () => void {
  const owner = { name: 'demo reporter' };
  bus.on(owner, 'device.reading', (r) => {
    // Numbers are readings, worth seeing each time; states (a fan's on/off) only when they change.
    if (typeof r.value !== 'number' && r.value === r.previous) return;
    const shown = typeof r.value === 'number' ? r.value.toFixed(1) : JSON.stringify(r.value);
    logger.info(`${r.deviceId} ${r.metric} = ${shown}`);
  });
  return () => bus.offOwner(owner);
}
