import { afterEach, describe, expect, it } from 'vitest';
import { runFleetCommand, seededRandom, type FleetRun } from '../firmware-sim/index.js';
import { parseFleetFile, fleetSpecs } from '../firmware-sim/fleet-file.js';
import type { Hub } from '../hub/index.js';
import { EdgehubErrors, MemoryLogger, VirtualClock } from '../kernel/index.js';
import { startDeviceHub } from './support/device-hub.js';
import { TempDirs, writeFiles } from './support/temp.js';

const FLEET = `# one of each profile
- { profile: temperature-humidity, count: 2, id_prefix: th, interval: 10s }
- { profile: motion, id_prefix: pir, interval: 10s }
- { profile: door, interval: 10s }
- { profile: light-level, id_prefix: lux, interval: 10s }
- { profile: smart-plug, id_prefix: plug, interval: 10s }
- { profile: dimmable-light, id_prefix: lamp, interval: 10s }
`;

const temp = new TempDirs();
let hub: Hub | undefined;
let run: FleetRun | undefined;

afterEach(async () => {
  await run?.stop();
  await hub?.stop();
  run = hub = undefined;
  temp.cleanup();
});

describe('fleet files', () => {
  it('expands groups into devices <prefix>-<n>', () => {
    const specs = fleetSpecs(parseFleetFile('fleet.yaml', FLEET));
    expect(specs.map((s) => s.id)).toEqual(['th-1', 'th-2', 'pir-1', 'door-1', 'lux-1', 'plug-1', 'lamp-1']);
    expect(specs[0]).toMatchObject({ profile: 'temperature-humidity', intervalMs: 10_000 });
  });

  it('reports every problem at file:line:col with its key path', () => {
    let errors: string[] = [];
    try {
      parseFleetFile(
        'fleet.yaml',
        `- { profile: toaster, count: 2 }
- profile: motion
  count: 0
  interval: often
- { profile: door, id_prefix: a/b }
- { profile: door, colour: red }
`,
      );
    } catch (err) {
      if (!(err instanceof EdgehubErrors)) throw err;
      errors = err.errors.map((e) => `${e.code} ${e.location?.line}:${e.location?.col} ${e.location?.path}`);
    }
    expect(errors).toEqual([
      'FLEET_INVALID 1:14 [0].profile',
      'FLEET_INVALID 3:10 [1].count',
      'FLEET_INVALID 4:13 [1].interval',
      'FLEET_INVALID 5:31 [2].id_prefix',
      'FLEET_INVALID 6:28 [3].colour',
    ]);
  });

  it('runs a fleet of mixed profiles against the hub: every device online, readings and commands flowing', async () => {
    const started = await startDeviceHub(
      temp,
      `devices:
  - id: plug-1
    sensors: [{ metric: power, unit: W, kind: power }]
    actuators: [{ name: relay, kind: relay }]
  - id: lamp-1
    actuators: [{ name: light, kind: dimmer }]
`,
    );
    hub = started.hub;
    const dir = temp.make();
    writeFiles(dir, { 'fleet.yaml': FLEET });
    const clock = new VirtualClock(Date.UTC(2026, 5, 1, 12));
    const summary: string[] = [];
    const allOnline = new Promise<void>((resolve) => {
      const seen = new Set<string>();
      hub?.bus.on(seen, 'device.status', (c) => {
        if (c.status === 'online') seen.add(c.deviceId);
        if (seen.size === 7) resolve();
      });
    });
    run = await runFleetCommand(
      {
        url: started.url,
        file: `${dir}/fleet.yaml`,
        speed: 60,
        summary: { write: (t) => summary.push(t) },
        testing: { clock, random: seededRandom(7) },
      },
      new MemoryLogger(),
    );
    await allOnline;
    expect(run.fleet.devices.every((d) => d.state === 'online')).toBe(true);

    // 60x speed: 10 s intervals of simulated time are 1/6 s of this (virtual) clock.
    const readings = new Promise<void>((resolve) => {
      const wanted = new Set(['th-1/temperature', 'th-2/humidity', 'lux-1/illuminance', 'plug-1/power']);
      hub?.bus.on(wanted, 'device.reading', (r) => {
        wanted.delete(`${r.deviceId}/${r.metric}`);
        if (wanted.size === 0) resolve();
      });
    });
    clock.advance(200);
    await readings;
    expect(hub.registry.get('lux-1')?.state.illuminance).toBeGreaterThan(1000);
    expect(hub.registry.get('th-1')?.state.humidity).toBeGreaterThan(0);

    const echoed = new Promise<void>((resolve) => {
      const owner = {};
      hub?.bus.on(owner, 'device.reading', (r) => {
        if (r.deviceId === 'lamp-1' && r.metric === 'light' && r.value === true) resolve();
      });
    });
    expect((await hub.devices.command('lamp-1', { light: 30 }, 'test')).accepted).toBe(true);
    await echoed;

    clock.advance(1000);
    expect(summary.at(-1)).toMatch(/^sim: 7\/7 online, \d+\.\d readings\/s, 1 commands, speed 60x\n$/);
  });
});
