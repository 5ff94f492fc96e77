import { afterEach, describe, expect, it } from 'vitest';
import type { Hub } from '../hub/index.js';
import { hubSaw, startDeviceHub } from './support/device-hub.js';
import { ClientPool, nextMessage } from './support/mqtt-client.js';
import { TempDirs } from './support/temp.js';

const CONFIG = `devices:
  - id: boiler
    actuators:
      - name: burner
        kind: relay
        safety: { min_on: 1m, fail_safe: off, interlock: [pump] }
      - { name: pump, kind: relay, safety: { fail_safe: off } }
`;

const temp = new TempDirs();
const pool = new ClientPool();
let hub: Hub | undefined;

afterEach(async () => {
  await pool.closeAll();
  await hub?.stop();
  temp.cleanup();
});

describe('actuator safety through the hub', () => {
  it('guards Home Assistant commands and sends the fail-safe state when the hub stops', async () => {
    const started = await startDeviceHub(temp, CONFIG);
    hub = started.hub;
    const device = await pool.connect(started.url, { clientId: 'boiler' });
    await device.subscribeAsync('actuators/boiler/+', { qos: 1 });
    const ha = await pool.connect(started.url, { clientId: 'home-assistant' });

    const on = nextMessage(device, 'actuators/boiler/burner');
    await ha.publishAsync('edgehub/set/boiler/burner', 'ON', { qos: 1 });
    expect(JSON.parse((await on).payload.toString())).toEqual({ on: true, origin: 'mqtt:home-assistant' });

    // The pump is interlocked with the burner and the burner's minimum on time holds: both refused.
    // The hub's command listener was registered first, so it has ruled once the broker handed both on.
    const handled = Promise.all([
      hubSaw(hub, 'edgehub/set/boiler/pump'),
      hubSaw(hub, 'edgehub/set/boiler/burner'),
    ]);
    await ha.publishAsync('edgehub/set/boiler/pump', 'ON', { qos: 1 });
    await ha.publishAsync('edgehub/set/boiler/burner', 'OFF', { qos: 1 });
    await handled;
    expect(hub.devices.stats()?.refused).toMatchObject({ interlock: 1, min_on: 1 });

    const burnerOff = nextMessage(device, 'actuators/boiler/burner');
    const pumpOff = nextMessage(device, 'actuators/boiler/pump');
    await hub.stop();
    expect(JSON.parse((await burnerOff).payload.toString())).toEqual({
      on: false,
      origin: 'fail-safe: hub stopping',
    });
    expect(JSON.parse((await pumpOff).payload.toString())).toEqual({
      on: false,
      origin: 'fail-safe: hub stopping',
    });
  });
});
