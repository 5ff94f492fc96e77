import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FirmataBoardSim } from '../firmware-sim/index.js';
import { SystemClock, type MqttMessage } from '../kernel/index.js';
import { hubMessage, startDeviceHub } from './support/device-hub.js';
import { requireSocat } from './support/socat.js';
import { Cleanups } from './support/cleanups.js';
import { plugSim } from './support/plug-sim.js';
import { TempDirs, writeFiles } from './support/temp.js';

/** Switches the LED on when the LM35 reads above 30 °C, through the guarded command topic. */
const LED_RULE = `rules:
  - id: led-on-when-hot
    when:
      mqtt: sensors/uno-1/temperature
    if: payload.value > 30
    then:
      - publish:
          topic: edgehub/set/uno-1/led
          payload: { on: true }
`;

function configYaml(rulesDir: string, path: string): string {
  return `hub:
  rules_dir: ${rulesDir}
http: { port: null }
devices:
  - id: uno-1
    adapter: firmata
    sensors:
      - { metric: temperature, unit: °C, kind: temperature }
    actuators:
      - { name: led, kind: switch }
    firmata:
      path: ${path}
      sample_every: 50ms
      reconnect: { initial: 20ms, max: 200ms }
      pins:
        - { pin: A0, type: thermometer, model: LM35, metric: temperature }
        - { pin: 13, type: led, actuator: led }
`;
}

const temperature = (m: MqttMessage): number | undefined =>
  m.topic === 'sensors/uno-1/temperature'
    ? (JSON.parse(m.payload.toString()) as { value: number }).value
    : undefined;

const temp = new TempDirs();
const cleanups = new Cleanups();
afterEach(async () => {
  await cleanups.run();
  temp.cleanup();
});

requireSocat();

describe('Firmata board on a pseudo-terminal', () => {
  it('a reading crosses a threshold, a rule fires, and the board LED goes high', async () => {
    const dir = temp.make('edgehub-firmata-');
    const sim = new FirmataBoardSim({ clock: new SystemClock() });
    sim.setVoltage('A0', 0.25); // LM35, 10 mV/°C: about 25 °C
    const links = { hostLink: join(dir, 'uno'), deviceLink: join(dir, 'uno.sim') };
    const pty = await plugSim(cleanups, links, sim);
    writeFiles(dir, { 'led.yaml': LED_RULE });

    const started = startDeviceHub(temp, configYaml(dir, pty.hostPath));
    const { hub } = await started;
    cleanups.add(() => hub.stop());
    const cool = await hubMessage(hub, (m) => temperature(m) !== undefined);
    expect(temperature(cool)).toBe(24.9);
    expect(sim.pin(13).value).toBe(0);

    const ledState = hubMessage(
      hub,
      (m) => m.topic === 'actuators/uno-1/led/state' && m.payload.includes('true'),
    );
    sim.setVoltage('A0', 0.35); // about 35 °C
    await hubMessage(hub, (m) => (temperature(m) ?? 0) > 30);
    expect(await sim.waitForPin(13, (p) => p.value === 1)).toEqual({ pin: 13, mode: 1, value: 1 });
    expect(JSON.parse((await ledState).payload.toString())).toEqual({ on: true });
  });

  it('unplugged and plugged back in, the board is reconnected and its LED restored', async () => {
    const dir = temp.make('edgehub-firmata-');
    const links = { hostLink: join(dir, 'uno'), deviceLink: join(dir, 'uno.sim') };
    const sim = new FirmataBoardSim({ clock: new SystemClock() });
    const first = await plugSim(cleanups, links, sim);
    const { hub } = await startDeviceHub(temp, configYaml(dir, links.hostLink));
    cleanups.add(() => hub.stop());
    await hubMessage(
      hub,
      (m) => m.topic === 'devices/uno-1/availability' && m.payload.toString() === 'online',
    );
    expect(await hub.devices.command('uno-1', { led: true }, 'test')).toEqual({ accepted: true });
    await sim.waitForPin(13, (p) => p.value === 1);

    const offline = hubMessage(
      hub,
      (m) => m.topic === 'devices/uno-1/availability' && m.payload.toString() === 'offline',
    );
    await first.stop(); // the USB cable is pulled: both pty nodes disappear
    await offline;

    const online = hubMessage(
      hub,
      (m) => m.topic === 'devices/uno-1/availability' && m.payload.toString() === 'online',
    );
    const rebooted = new FirmataBoardSim({ clock: new SystemClock() }); // a reset board: LED off
    await plugSim(cleanups, links, rebooted);
    await online;
    await rebooted.waitForPin(13, (p) => p.value === 1);
  });
});
