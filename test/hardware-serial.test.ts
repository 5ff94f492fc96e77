import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { JsonLineDeviceSim } from '../firmware-sim/index.js';
import type { Hub } from '../hub/index.js';
import { SystemClock, type MqttMessage } from '../kernel/index.js';
import { hubMessage, startDeviceHub } from './support/device-hub.js';
import { requireSocat } from './support/socat.js';
import { Cleanups } from './support/cleanups.js';
import { plugSim } from './support/plug-sim.js';
import { TempDirs } from './support/temp.js';

function configYaml(path: string): string {
  return `http: { port: null }
devices:
  - id: bench-1
    adapter: serial
    actuators:
      - { name: relay, kind: relay }
    serial:
      path: ${path}
      baud: 115200
      reconnect: { initial: 20ms, max: 200ms }
`;
}

/** Resolves once the device is online: it may have come online while the hub started. */
async function online(hub: Hub): Promise<void> {
  const next = hubMessage(hub, availability('online'));
  if (hub.registry.get('bench-1')?.status !== 'online') await next;
}

const availability = (status: string) => (m: MqttMessage) =>
  m.topic === 'devices/bench-1/availability' && m.payload.toString() === status;
const reading = (value: number) => (m: MqttMessage) =>
  m.topic === 'sensors/bench-1/n' && (JSON.parse(m.payload.toString()) as { value: unknown }).value === value;

const temp = new TempDirs();
const cleanups = new Cleanups();
afterEach(async () => {
  await cleanups.run();
  temp.cleanup();
});

requireSocat();

describe('serial JSON-lines device on a pseudo-terminal', () => {
  it('is reconnected after an unplug and loses no complete line; a cut line is dropped, not merged', async () => {
    const dir = temp.make('edgehub-serial-');
    const links = { hostLink: join(dir, 'ttyUSB0'), deviceLink: join(dir, 'ttyUSB0.sim') };
    const device = new JsonLineDeviceSim({ clock: new SystemClock() }, { actuators: ['relay'] });
    const pty = await plugSim(cleanups, links, device, 115200);
    const { hub, logger } = await startDeviceHub(temp, configYaml(links.hostLink));
    cleanups.add(() => hub.stop());
    const readings: unknown[] = [];
    hub.broker.onMessage(readings, (m) => {
      if (m.topic === 'sensors/bench-1/n')
        readings.push((JSON.parse(m.payload.toString()) as { value: unknown }).value);
    });
    await online(hub);

    // Five complete lines, then one the unplug cuts in half, in one write as a UART would send them.
    const fifth = hubMessage(hub, reading(5));
    device.writeRaw('{"n": 1}\n{"n": 2}\n{"n": 3}\n{"n": 4}\n{"n": 5}\n{"n": 99');
    await fifth;
    const offline = hubMessage(hub, availability('offline'));
    await pty.stop();
    await offline;
    device.writeLine({ n: 50 }); // written while unplugged: lost on the device side

    const back = hubMessage(hub, availability('online'));
    await plugSim(cleanups, links, device, 115200);
    await back;
    const sixth = hubMessage(hub, reading(6));
    // Glued onto the cut line this would read {"n": 990}.
    device.writeRaw('0}\n{"n": 6}\n');
    await sixth;
    expect(readings).toEqual([1, 2, 3, 4, 5, 6]);
    expect(logger.entries).toContainEqual(
      expect.objectContaining({
        msg: 'partial line dropped with the lost port',
        fields: { device: 'bench-1', bytes: 8 },
      }),
    );
  });

  it('sends commands as JSON lines and publishes the state the device echoes', async () => {
    const dir = temp.make('edgehub-serial-');
    const links = { hostLink: join(dir, 'ttyACM0'), deviceLink: join(dir, 'ttyACM0.sim') };
    const device = new JsonLineDeviceSim({ clock: new SystemClock() }, { actuators: ['relay'] });
    await plugSim(cleanups, links, device, 115200);
    const { hub } = await startDeviceHub(temp, configYaml(links.hostLink));
    cleanups.add(() => hub.stop());
    await online(hub);
    const echoed = hubMessage(hub, (m) => m.topic === 'actuators/bench-1/relay/state');
    expect(await hub.devices.command('bench-1', { relay: 'ON' }, 'test')).toEqual({ accepted: true });
    expect(await device.waitForActuator('relay', (s) => s.on)).toEqual({ on: true });
    expect(JSON.parse((await echoed).payload.toString())).toEqual({ on: true });
  });

  it('keeps the hub running when the port does not exist, with one message naming path and fix', async () => {
    const dir = temp.make('edgehub-serial-');
    const missing = join(dir, 'ttyUSB9');
    const { hub, logger } = await startDeviceHub(temp, configYaml(missing));
    cleanups.add(() => hub.stop());
    const error = logger.entries.find((e) => e.level === 'error');
    expect(error?.fields?.code).toBe('DEVICE_PORT_OPEN_FAILED');
    expect(error?.msg).toContain(missing);
    expect(error?.msg).toContain('/dev/serial/by-id/');
    expect(hub.broker.mqttAddress).toBeDefined();
  });
});
