import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EdgehubError, MemoryLogger, VirtualClock } from '../kernel/index.js';
import { nextEvent, Observer, TestBroker } from '../test/support/test-broker.js';
import { defaultDemoFleet, Fleet, type SimSpec } from './fleet.js';
import { seededRandom } from './random.js';

describe('defaultDemoFleet', () => {
  it('pairs a swinging sensor and a fan on each greenhouse node, out of step', () => {
    expect(defaultDemoFleet()).toEqual([
      { kind: 'temperature', id: 'gh-1', intervalMs: 2000, profile: 'demo-swing', phaseMs: 0 },
      { kind: 'fan', id: 'gh-1' },
      { kind: 'temperature', id: 'gh-2', intervalMs: 2000, profile: 'demo-swing', phaseMs: 30_000 },
      { kind: 'fan', id: 'gh-2' },
    ]);
    expect(defaultDemoFleet({ devices: 3, intervalMs: 500 }).filter((s) => s.kind === 'fan')).toHaveLength(3);
  });
});

describe('Fleet', () => {
  const deps = () => ({ clock: new VirtualClock(0), logger: new MemoryLogger() });

  function configError(specs: SimSpec[]): unknown {
    try {
      new Fleet({ url: 'mqtt://127.0.0.1:1', specs }, deps());
    } catch (err) {
      return err;
    }
    return undefined;
  }

  it('rejects two parts of one kind on a device, and ids that are not plain names', () => {
    for (const specs of [
      [
        { kind: 'temperature', id: 'gh-1' },
        { kind: 'temperature', id: 'gh-1' },
      ],
      [{ kind: 'fan', id: 'gh/1' }],
      [{ kind: 'fan', id: 'gh-+' }],
      [{ kind: 'fan', id: '' }],
    ] satisfies SimSpec[][]) {
      const err = configError(specs);
      expect(err).toBeInstanceOf(EdgehubError);
      expect((err as EdgehubError).code).toBe('CONFIG_INVALID');
    }
  });

  describe('against a broker', () => {
    let broker: TestBroker;
    let observer: Observer;
    let clock: VirtualClock;
    let fleet: Fleet;

    beforeEach(async () => {
      broker = await TestBroker.start();
      observer = await Observer.connect(broker.url, [
        'sensors/+/temperature',
        'actuators/+/fan/state',
        'devices/+/availability',
      ]);
      clock = new VirtualClock(0);
      fleet = new Fleet(
        { url: broker.url, specs: defaultDemoFleet(), protocolVersion: 5 },
        { clock, logger: new MemoryLogger(), random: seededRandom(11) },
      );
      const online = fleet.devices.map((d) => nextEvent(d.events, 'online'));
      await fleet.start();
      await Promise.all(online);
    });

    afterEach(async () => {
      await fleet.stop();
      await observer.close();
      await broker.close();
    });

    it('runs one MQTT client per device, carrying its sensor and its fan', async () => {
      expect(fleet.devices.map((d) => d.id)).toEqual(['gh-1', 'gh-2']);
      // Two devices and the observer.
      expect(broker.aedes.connectedClients).toBe(3);
      for (const id of ['gh-1', 'gh-2']) {
        expect((await observer.take(`devices/${id}/availability`)).text).toBe('online');
        expect(await observer.takeJson(`actuators/${id}/fan/state`)).toEqual({ on: false });
      }
      clock.advance(2000);
      expect(await observer.takeJson('sensors/gh-1/temperature')).toMatchObject({ seq: 1, unit: 'C' });
      expect(await observer.takeJson('sensors/gh-2/temperature')).toMatchObject({ seq: 1, unit: 'C' });

      await observer.publish('actuators/gh-2/fan', '{"on": true, "seq": 3}');
      expect(await observer.takeJson('actuators/gh-2/fan/state')).toEqual({ on: true, seq: 3 });
      expect(fleet.fan('gh-2')?.on).toBe(true);
      expect(fleet.fan('gh-1')?.on).toBe(false);
    });

    it('lets a demo force a reading over the threshold', async () => {
      fleet.temperature('gh-1')?.setValue(35);
      clock.advance(2000);
      expect(await observer.takeJson('sensors/gh-1/temperature')).toMatchObject({ value: 35 });
    });

    it('stops every device, each leaving offline behind', async () => {
      await observer.take('devices/gh-1/availability');
      await observer.take('devices/gh-2/availability');
      await fleet.stop();
      await fleet.stop();
      expect((await observer.take('devices/gh-1/availability')).text).toBe('offline');
      expect((await observer.take('devices/gh-2/availability')).text).toBe('offline');
      expect(clock.pending()).toEqual([]);
    });
  });
});
