import { describe, expect, it } from 'vitest';
import { MemoryPortPair, settle } from '../../test/support/memory-port.js';
import { VirtualClock } from '../../kernel/index.js';
import { JsonLineDeviceSim } from './json-line-device-sim.js';

function setup() {
  const clock = new VirtualClock(0);
  const pair = new MemoryPortPair();
  const device = new JsonLineDeviceSim(
    { clock },
    {
      sensors: { temperature: (now) => 20 + now / 1000, humidity: 55.555 },
      intervalMs: 1000,
      actuators: ['relay'],
    },
  );
  device.attach(pair.device);
  let text = '';
  pair.host.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const lines = async () => {
    await settle();
    const out = text.split('\n').filter((l) => l !== '');
    text = '';
    return out;
  };
  return { clock, pair, device, lines };
}

describe('JsonLineDeviceSim', () => {
  it('sends a line of readings every interval of clock time', async () => {
    const { clock, device, lines } = setup();
    device.start();
    clock.advance(2000);
    expect(await lines()).toEqual([
      '{"temperature":21,"humidity":55.56}',
      '{"temperature":22,"humidity":55.56}',
    ]);
    device.stop();
    clock.advance(5000);
    expect(await lines()).toEqual([]);
  });

  it('applies {"set": ...} command lines, even split across chunks, and echoes the new states', async () => {
    const { pair, device, lines } = setup();
    pair.host.write('{"set": {"relay": tr');
    pair.host.write('ue, "unknown": true}}\n');
    expect(await device.waitForActuator('relay', (s) => s.on)).toEqual({ on: true });
    expect(await lines()).toEqual(['{"relay":true}']);
    pair.host.write('not json\n{"set": {"relay": {"on": false, "brightness": 10}}}\n');
    expect(await lines()).toEqual(['{"relay":{"on":false,"brightness":10}}']);
  });

  it('writes nothing once unplugged: those lines are lost, as on real firmware', async () => {
    const { pair, device } = setup();
    pair.unplug();
    await settle();
    expect(device.sendReadings()).toBe(false);
  });
});
