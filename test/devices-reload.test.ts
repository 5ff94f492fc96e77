import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { describe, expect, it } from 'vitest';
import type { Hub, HubEvents } from '../hub/index.js';
import type { MemoryLogger } from '../kernel/index.js';
import { startDeviceHub } from './support/device-hub.js';
import { useHubKit } from './support/hub-kit.js';
import { nextMessage } from './support/mqtt-client.js';
import { SignallingClock } from './support/signalling-clock.js';
import { writeFiles } from './support/temp.js';

/** A heater that must stay on ten minutes once on, and off to its fail-safe when the hub lets go. */
const HEATER = `devices:
  - id: gh-1
    name: Greenhouse 1
    sensors: [{ metric: temperature, unit: C, kind: temperature }]
    actuators:
      - { name: heater, kind: relay, safety: { min_on: 10m, fail_safe: 'off' } }
`;
const PUMP = `devices:
  - id: gh-2
    name: Greenhouse 2
    actuators:
      - { name: pump, kind: relay, safety: { min_on: 10m, fail_safe: 'off' } }
`;

const { temp, pool, keep } = useHubKit();

async function start(
  files: Record<string, string>,
  rules?: Record<string, string>,
): Promise<{
  hub: Hub;
  url: string;
  devicesDir: string;
  rulesDir: string;
  clock: SignallingClock;
  logger: MemoryLogger;
}> {
  const dir = temp.make('edgehub-reload-');
  const devicesDir = join(dir, 'devices');
  mkdirSync(devicesDir, { recursive: true });
  writeFiles(devicesDir, files);
  let config = `hub:\n  devices_dir: ${devicesDir}\n`;
  const rulesDir = join(dir, 'rules');
  if (rules) {
    mkdirSync(rulesDir);
    writeFiles(rulesDir, rules);
    config += `  rules_dir: ${rulesDir}\n`;
  }
  const clock = new SignallingClock(Date.parse('2026-06-01T08:00:00Z'));
  const started = await startDeviceHub(temp, config, { dir, clock });
  return { hub: keep(started.hub), url: started.url, devicesDir, rulesDir, clock, logger: started.logger };
}

function next<K extends keyof HubEvents>(hub: Hub, event: K): Promise<HubEvents[K]> {
  return new Promise((resolve) => {
    const owner = {};
    hub.bus.on(owner, event, (data) => {
      hub.bus.offOwner(owner);
      resolve(data);
    });
  });
}

/** The retained topics (non-empty) under `filters`: what a new subscriber is sent. */
async function retained(hub: Hub, filters: string[]): Promise<string[]> {
  const lists = await Promise.all(filters.map((f) => hub.broker.retained(f)));
  return lists
    .flat()
    .filter((m) => m.payload.length > 0)
    .map((m) => m.topic)
    .sort();
}

async function command(client: MqttClient, topic: string, payload: string): Promise<string> {
  const refusal = nextMessage(client, (t) => t.startsWith('edgehub/devices/') && t.endsWith('/refusal'));
  const marker = nextMessage(client, 'test/marker');
  await client.publishAsync(topic, payload, { qos: 1 });
  await client.publishAsync('test/marker', 'x', { qos: 1 });
  return Promise.race([refusal.then((m) => m.payload.toString()), marker.then(() => 'delivered')]);
}

describe('the devices directory, reloaded while the hub runs', () => {
  it('puts a new file in force once its writes are over: the device is guarded, announced and listed', async () => {
    const { hub, url, devicesDir, clock } = await start({ 'gh-1.yaml': HEATER });
    const panel = await pool.connect(url, { clientId: 'wall-panel' });
    await panel.subscribeAsync(['edgehub/devices/+/refusal', 'test/marker']);
    expect(await command(panel, 'actuators/gh-2/pump', 'ON')).toBe('delivered');

    const armed = clock.nextTimer('devices.reload-debounce');
    writeFiles(devicesDir, { 'gh-2.yaml': PUMP });
    await armed;
    const loaded = next(hub, 'devices.loaded');
    clock.advance(200);
    expect(await loaded).toMatchObject({ count: 2, added: ['gh-2'], removed: [], changed: [] });

    expect(hub.registry.get('gh-2')).toMatchObject({ declared: true, name: 'Greenhouse 2' });
    // The new pump is held to its envelope like any device defined at start.
    expect(await command(panel, 'actuators/gh-2/pump', 'ON')).toBe('delivered');
    expect(JSON.parse(await command(panel, 'actuators/gh-2/pump', 'OFF'))).toMatchObject({
      refusal: 'min_on',
      origin: 'mqtt:wall-panel',
    });
    expect(await retained(hub, ['homeassistant/+/gh-2/#', 'edgehub/devices/gh-2/availability'])).toEqual([
      'edgehub/devices/gh-2/availability',
      'homeassistant/switch/gh-2/pump/config',
    ]);
  });

  it('keeps the running definitions when a file breaks, and says where', async () => {
    const { hub, url, devicesDir, logger } = await start({ 'gh-1.yaml': HEATER });
    writeFiles(devicesDir, {
      'gh-2.yaml': `devices:\n  - id: gh-2\n    actuators:\n      - { name: pump, kind: valve }\n`,
    });
    const rejected = next(hub, 'devices.rejected');
    expect(await hub.reloadDevices()).toBe(false);
    expect((await rejected).errors).toEqual([
      expect.stringMatching(
        new RegExp(`^${join(devicesDir, 'gh-2.yaml')}:4:29 \\(devices\\[0\\]\\.actuators\\[0\\]\\.kind\\)`),
      ),
    ]);
    expect(logger.entries).toContainEqual(
      expect.objectContaining({
        level: 'error',
        msg: 'devices not reloaded; the running definitions stay in force',
      }),
    );
    expect(hub.registry.definitions.map((d) => d.id)).toEqual(['gh-1']);
    expect(hub.registry.get('gh-2')).toBeUndefined();

    // The device in force is still guarded.
    const panel = await pool.connect(url, { clientId: 'wall-panel' });
    await panel.subscribeAsync(['edgehub/devices/+/refusal', 'test/marker']);
    expect(await command(panel, 'actuators/gh-1/heater', 'ON')).toBe('delivered');
    expect(JSON.parse(await command(panel, 'actuators/gh-1/heater', 'OFF'))).toMatchObject({
      refusal: 'min_on',
    });
  });

  it('keeps the running definitions when the devices directory vanishes, and says which', async () => {
    const { hub, devicesDir } = await start({ 'gh-1.yaml': HEATER });
    rmSync(devicesDir, { recursive: true, force: true });
    const rejected = next(hub, 'devices.rejected');
    expect(await hub.reloadDevices()).toBe(false);
    expect((await rejected).errors).toEqual([
      expect.stringContaining(`cannot read devices directory ${devicesDir}`),
    ]);
    expect(hub.registry.definitions.map((d) => d.id)).toEqual(['gh-1']);
  });

  it('keeps what the envelope knows of a device still defined across a reload', async () => {
    const { hub, url, devicesDir } = await start({ 'gh-1.yaml': HEATER });
    const panel = await pool.connect(url, { clientId: 'wall-panel' });
    await panel.subscribeAsync(['edgehub/devices/+/refusal', 'test/marker']);
    expect(await command(panel, 'actuators/gh-1/heater', 'ON')).toBe('delivered');

    // The heater's name changes and a device is added: the heater switched on a moment ago.
    writeFiles(devicesDir, { 'gh-1.yaml': HEATER.replace('Greenhouse 1', 'North house'), 'gh-2.yaml': PUMP });
    expect(await hub.reloadDevices()).toBe(true);
    expect(hub.registry.get('gh-1')?.name).toBe('North house');
    expect(JSON.parse(await command(panel, 'actuators/gh-1/heater', 'OFF'))).toMatchObject({
      refusal: 'min_on',
    });
  });

  it('sends a removed actuator its fail-safe state, then clears its discovery configs and availability', async () => {
    const { hub, url, devicesDir } = await start({ 'gh-1.yaml': HEATER, 'gh-2.yaml': PUMP });
    const before = await retained(hub, ['homeassistant/#', 'edgehub/devices/+/availability']);
    expect(before.filter((t) => t.includes('gh-2'))).toEqual([
      'edgehub/devices/gh-2/availability',
      'homeassistant/switch/gh-2/pump/config',
    ]);
    const device = await pool.connect(url, { clientId: 'gh-2' });
    await device.subscribeAsync('actuators/gh-2/pump');
    const panel = await pool.connect(url, { clientId: 'wall-panel' });
    await panel.subscribeAsync(['edgehub/devices/+/refusal', 'test/marker']);
    expect(await command(panel, 'actuators/gh-2/pump', 'ON')).toBe('delivered');

    const failSafe = nextMessage(device, 'actuators/gh-2/pump', (p) => p.toString().includes('false'));
    rmSync(join(devicesDir, 'gh-2.yaml'));
    expect(await hub.reloadDevices()).toBe(true);
    expect(JSON.parse((await failSafe).payload.toString())).toMatchObject({
      on: false,
      origin: 'fail-safe: definition removed',
    });

    const after = await retained(hub, ['homeassistant/#', 'edgehub/devices/+/availability']);
    expect(after.filter((t) => t.includes('gh-2'))).toEqual([]);
    expect(after).toContain('homeassistant/switch/gh-1/heater/config');
    expect(hub.registry.get('gh-2')).toBeUndefined();
    // No longer defined: a command to it is an ordinary message again, passed on unguarded.
    expect(await command(panel, 'actuators/gh-2/pump', 'OFF')).toBe('delivered');
  });

  it('checks the rules again against the new devices: a rule naming a device added later loads', async () => {
    const pumpRule = `rules:
  - id: water
    when: { device: gh-2, metric: moisture, below: 20 }
    then:
      - command: { device: gh-2, set: { pump: true } }
`;
    const { hub, devicesDir, rulesDir } = await start(
      { 'gh-1.yaml': HEATER },
      { 'base.yaml': 'rules: []\n' },
    );
    // Written before its device: refused as naming an undeclared device.
    writeFiles(rulesDir, { 'water.yaml': pumpRule });
    await hub.reloadRules();
    expect(hub.rules.ruleSet.rules.map((r) => r.id)).toEqual([]);

    writeFiles(devicesDir, {
      'gh-2.yaml': PUMP.replace('    actuators:', '    sensors: [{ metric: moisture }]\n    actuators:'),
    });
    expect(await hub.reloadDevices()).toBe(true);
    expect(hub.rules.ruleSet.rules.map((r) => r.id)).toEqual(['water']);
  });
});
