import { describe, expect, it } from 'vitest';
import { MemoryLogger, VirtualClock, type OutgoingMessage } from '../kernel/index.js';
import type { AdapterDeps, DeviceAdapter, DeviceCommandSet } from './adapter.js';
import { deviceListSchema } from './definition.js';
import { DeviceRuntime } from './device-runtime.js';
import { recordingPublisher, silentSource } from '../test/support/broker-fakes.js';

/** A serial-like adapter: reports through the sink, answers commands with the new state. */
class LoopbackAdapter implements DeviceAdapter {
  readonly kind = 'serial' as const;
  constructor(private readonly deps: AdapterDeps) {}
  start(): Promise<void> {
    for (const d of this.deps.devices) this.deps.sink.status(d.id, 'online', this.deps.clock.now());
    this.deps.sink.reading('bench-1', 'temperature', 21.5, this.deps.clock.now());
    return Promise.resolve();
  }
  stop(): Promise<void> {
    return Promise.resolve();
  }
  command(device: { id: string }, set: DeviceCommandSet) {
    for (const [name, c] of Object.entries(set))
      this.deps.sink.state(device.id, name, c, this.deps.clock.now());
    return Promise.resolve({ accepted: true });
  }
}

function runtime(
  published: OutgoingMessage[],
  factories: ConstructorParameters<typeof DeviceRuntime>[0]['factories'],
) {
  return new DeviceRuntime({
    clock: new VirtualClock(1000),
    logger: new MemoryLogger(),
    publisher: recordingPublisher(published),
    source: silentSource,
    homeAssistant: { discovery: false, prefix: 'homeassistant', mode: 'entity' },
    ...(factories !== undefined && { factories }),
  });
}

const DEVICES = deviceListSchema.parse([
  {
    id: 'bench-1',
    adapter: 'serial',
    sensors: [{ metric: 'temperature' }],
    actuators: [{ name: 'lamp', kind: 'dimmer' }],
  },
]);

describe('DeviceRuntime', () => {
  it('refuses commands between prepare and start instead of letting them past the envelope', async () => {
    const published: OutgoingMessage[] = [];
    let release: () => void = () => undefined;
    const adapterStarted = new Promise<void>((resolve) => (release = resolve));
    const devices = runtime(published, {
      serial: (deps) => Object.assign(new LoopbackAdapter(deps), { start: () => adapterStarted }),
    });
    devices.prepare(DEVICES);
    // The broker listens from here on; the adapter is still starting.
    const starting = devices.start(DEVICES);
    expect(devices.guard('actuators/bench-1/lamp', '{"on":true}', 'mqtt:panel')).toMatchObject({
      accepted: false,
    });
    expect(await devices.command('bench-1', { lamp: 25 }, 'rule:dim')).toMatchObject({ accepted: false });
    expect(devices.stats()?.refused.starting).toBe(2);
    expect(
      published
        .filter((m) => m.topic === 'edgehub/devices/bench-1/refusal')
        .map((m) => (JSON.parse(String(m.payload)) as { refusal: string }).refusal),
    ).toEqual(['starting', 'starting']);
    // A topic that is no command topic is not the envelope's business.
    expect(devices.guard('sensors/bench-1/temperature', '21', 'mqtt:panel')).toBeUndefined();
    release();
    await starting;
    expect(devices.guard('actuators/bench-1/lamp', '{"on":true}', 'mqtt:panel')).toEqual({ accepted: true });
    await devices.stop();
  });

  it('publishes what a non-MQTT adapter reports under edgehub topics, and records its commands', async () => {
    const published: OutgoingMessage[] = [];
    const devices = runtime(published, { serial: (deps) => new LoopbackAdapter(deps) });
    await devices.start(DEVICES);
    expect(await devices.command('bench-1', { lamp: 25 }, 'rule:dim')).toEqual({ accepted: true });
    await devices.stop();
    expect(published.map((m) => [m.topic, String(m.payload), m.retain ?? false])).toEqual([
      ['devices/bench-1/availability', 'online', true],
      ['sensors/bench-1/temperature', '{"value":21.5,"at":1000}', false],
      ['actuators/bench-1/lamp', '{"on":true,"brightness":25,"origin":"rule:dim"}', false],
      ['actuators/bench-1/lamp/state', '{"on":true,"brightness":25}', true],
    ]);
  });

  it('refuses to start when no adapter of a kind in use is built in', async () => {
    const devices = runtime([], {});
    await expect(devices.start(DEVICES)).rejects.toMatchObject({ code: 'DEVICE_ADAPTER_MISSING' });
    expect(await devices.command('bench-1', { lamp: true }, 'x')).toMatchObject({ accepted: false });
  });
});
