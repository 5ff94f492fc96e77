import type { MqttClient } from 'mqtt';
import { describe, expect, it } from 'vitest';
import type { Hub } from '../hub/index.js';
import { startDeviceHub } from './support/device-hub.js';
import { useHubKit } from './support/hub-kit.js';
import { nextMessage } from './support/mqtt-client.js';
import { writeFiles } from './support/temp.js';

/** Every actuator must stay on for ten minutes once switched on: an early off is refused. */
const DEVICES = `devices:
  - id: gh-1
    actuators:
      - { name: heater, kind: relay, safety: { min_on: 10m } }
  - id: plug-1
    convention: tasmota
    topic: plug_A
    actuators:
      - { name: relay, kind: relay, safety: { min_on: 10m } }
  - id: lamp
    convention: zigbee2mqtt
    actuators:
      - { name: light, kind: dimmer, safety: { min_on: 10m } }
`;

const { temp, pool, keep } = useHubKit();
let hub: Hub | undefined;

async function start(extra = ''): Promise<{ url: string; device: MqttClient; sender: MqttClient }> {
  const started = await startDeviceHub(temp, DEVICES + extra);
  hub = keep(started.hub);
  const device = await pool.connect(started.url, { clientId: 'devices' });
  await device.subscribeAsync(['actuators/#', 'cmnd/#', 'zigbee2mqtt/#', 'edgehub/devices/+/refusal']);
  const sender = await pool.connect(started.url, { clientId: 'wall-panel' });
  return { url: started.url, device, sender };
}

/**
 * Everything `client` receives until the marker arrives; the marker, published after the messages
 * under test by the same sender, proves the broker is past them.
 */
async function receivedBefore(client: MqttClient, send: () => Promise<unknown>): Promise<string[]> {
  const got: string[] = [];
  const onMessage = (topic: string, payload: Buffer): void => void got.push(`${topic} ${payload.toString()}`);
  client.on('message', onMessage);
  const marker = nextMessage(client, 'actuators/marker/done');
  await send();
  await marker;
  client.removeListener('message', onMessage);
  return got.filter((line) => !line.startsWith('actuators/marker/done'));
}

describe('a plain MQTT publish to an actuator', () => {
  it('passes the safety envelope: an early off is not delivered, and the refusal is published and counted', async () => {
    const { device, sender } = await start();
    const got = await receivedBefore(device, async () => {
      await sender.publishAsync('actuators/gh-1/heater', '{"on": true}', { qos: 1 });
      await sender.publishAsync('actuators/gh-1/heater', 'OFF', { qos: 1 });
      await sender.publishAsync('actuators/marker/done', '', { qos: 1 });
    });
    expect(got.filter((m) => m.startsWith('actuators/gh-1/heater'))).toEqual([
      'actuators/gh-1/heater {"on": true}',
    ]);
    const refusal = got.find((m) => m.startsWith('edgehub/devices/gh-1/refusal'));
    expect(JSON.parse(refusal?.split(' ').slice(1).join(' ') ?? 'null')).toMatchObject({
      refusal: 'min_on',
      origin: 'mqtt:wall-panel',
    });
    expect(hub?.devices.stats()?.refused.min_on).toBe(1);
    expect(hub?.broker.stats().commandsRefused).toBe(1);
  });

  it('tells an MQTT 5 sender why on the PUBACK', async () => {
    const { url } = await start();
    const sender = await pool.connect(url, { protocolVersion: 5, clientId: 'v5-panel' });
    await sender.publishAsync('actuators/gh-1/heater', 'ON', { qos: 1 });
    const puback = new Promise<{ reasonCode: number | undefined; reasonString: string | undefined }>(
      (resolve) => {
        sender.on('packetreceive', (packet) => {
          if (packet.cmd === 'puback')
            resolve({ reasonCode: packet.reasonCode, reasonString: packet.properties?.reasonString });
        });
      },
    );
    // mqtt.js reports a refusing PUBACK as an error to the callback; the packet carries the code.
    sender.publish('actuators/gh-1/heater', 'OFF', { qos: 1 }, () => undefined);
    const { reasonCode, reasonString } = await puback;
    expect(reasonCode).toBe(0x83);
    expect(reasonString).toContain('heater');
  });

  it("guards a Tasmota plug's cmnd topic and a zigbee2mqtt lamp's set topic alike", async () => {
    const { device, sender } = await start();
    const got = await receivedBefore(device, async () => {
      await sender.publishAsync('cmnd/plug_A/POWER', 'ON', { qos: 1 });
      await sender.publishAsync('cmnd/plug_A/power', 'OFF', { qos: 1 });
      await sender.publishAsync('zigbee2mqtt/lamp/set', '{"state": "ON", "brightness": 127}', { qos: 1 });
      await sender.publishAsync('zigbee2mqtt/lamp/set', '{"state": "OFF"}', { qos: 1 });
      // No on/off in it: a colour change is not the envelope's business.
      await sender.publishAsync('zigbee2mqtt/lamp/set', '{"color_temp": 300}', { qos: 1 });
      await sender.publishAsync('actuators/marker/done', '', { qos: 1 });
    });
    expect(got.filter((m) => !m.startsWith('edgehub/'))).toEqual([
      'cmnd/plug_A/POWER ON',
      'zigbee2mqtt/lamp/set {"state": "ON", "brightness": 127}',
      'zigbee2mqtt/lamp/set {"color_temp": 300}',
    ]);
    expect(hub?.devices.stats()?.refused.min_on).toBe(2);
  });

  it('refuses what is no command for the actuator, and says why', async () => {
    const { device, sender } = await start();
    const got = await receivedBefore(device, async () => {
      await sender.publishAsync('actuators/gh-1/heater', 'toggle-ish', { qos: 1 });
      await sender.publishAsync('actuators/marker/done', '', { qos: 1 });
    });
    expect(got.filter((m) => m.startsWith('actuators/gh-1'))).toEqual([]);
    expect(got.some((m) => m.startsWith('edgehub/devices/gh-1/refusal') && m.includes('"invalid"'))).toBe(
      true,
    );
  });
});

describe("a rule's publish to an actuator", () => {
  it('passes the same envelope, and the run fails with the reason', async () => {
    const rules = temp.make('edgehub-rules-');
    writeFiles(rules, {
      'heater.yaml': `rules:
  - id: heater-by-hand
    when: { mqtt: panel/heater }
    then:
      - publish: { topic: actuators/gh-1/heater, payload: '{{ payload }}' }
`,
    });
    const { device, sender } = await start(`hub:\n  rules_dir: ${rules}\n`);
    const got = await receivedBefore(device, async () => {
      const refused = nextMessage(device, 'edgehub/devices/gh-1/refusal');
      await sender.publishAsync('panel/heater', 'ON', { qos: 1 });
      await sender.publishAsync('panel/heater', 'OFF', { qos: 1 });
      // The refusal goes out where the rule's publish would have: anything delivered came before.
      await refused;
      await sender.publishAsync('actuators/marker/done', '', { qos: 1 });
    });
    expect(got.filter((m) => m.startsWith('actuators/gh-1/heater'))).toEqual(['actuators/gh-1/heater ON']);
    const refusal = got.find((m) => m.startsWith('edgehub/devices/gh-1/refusal'));
    expect(refusal).toContain('"origin":"rule:heater-by-hand"');
    expect(hub?.devices.stats()?.refused.min_on).toBe(1);
  });
});
