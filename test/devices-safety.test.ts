import { beforeEach, describe, expect, it } from 'vitest';
import {
  DeviceActuators,
  type AdapterKind,
  deviceListSchema,
  type DeviceAdapter,
  type DeviceCommandSet,
  type DeviceDefinition,
} from '../devices/index.js';
import { MemoryLogger, VirtualClock, type MqttMessage, type OutgoingMessage } from '../kernel/index.js';
import { compileRuleFiles, RuleEngine } from '../rules/index.js';
import { noPublisher, recordingPublisher, silentSource } from './support/broker-fakes.js';

/** An adapter that records what it was asked to send, at which clock time. */
class RecordingAdapter implements DeviceAdapter {
  readonly sent: { at: number; device: string; set: DeviceCommandSet; origin: string }[] = [];
  constructor(
    private readonly clock: VirtualClock,
    readonly kind: AdapterKind = 'mqtt',
  ) {}
  start(): Promise<void> {
    return Promise.resolve();
  }
  stop(): Promise<void> {
    return Promise.resolve();
  }
  command(device: DeviceDefinition, set: DeviceCommandSet, origin: string) {
    this.sent.push({ at: this.clock.now(), device: device.id, set, origin });
    return Promise.resolve({ accepted: true });
  }
}

const DEVICES = deviceListSchema.parse([
  {
    id: 'gh-1',
    stale_after: '1m',
    sensors: [{ metric: 'temperature', kind: 'temperature', unit: 'C' }],
    actuators: [
      {
        name: 'heater',
        kind: 'relay',
        safety: { min_on: '10s', min_off: '20s', depends_on: ['temperature'], interlock: ['vent'] },
      },
      { name: 'vent', kind: 'switch', safety: { max_rate: '3/1m' } },
      { name: 'lamp', kind: 'dimmer' },
    ],
  },
]);

const START = 1_700_000_000_000;
let clock: VirtualClock;
let logger: MemoryLogger;
let adapter: RecordingAdapter;
let actuators: DeviceActuators;
let published: OutgoingMessage[];

beforeEach(() => {
  clock = new VirtualClock(START);
  logger = new MemoryLogger();
  adapter = new RecordingAdapter(clock);
  published = [];
  actuators = new DeviceActuators({
    clock,
    logger,
    devices: DEVICES,
    adapters: new Map([['mqtt', adapter]]),
    publisher: recordingPublisher(published),
    source: silentSource,
  });
  actuators.start();
});

/** Keeps the heater's input fresh so staleness does not mix into timing tests. */
function reading(): void {
  actuators.noteReading('gh-1', 'temperature', 21, clock.now());
}

describe('actuator safety envelope', () => {
  it('holds a relay toggled every second to its minimum on and off times', async () => {
    const results: boolean[] = [];
    for (let s = 0; s < 60; s++) {
      reading();
      const r = await actuators.command('gh-1', { heater: s % 2 === 0 }, 'rule:toggle');
      results.push(r.accepted);
      clock.advance(1000);
    }
    // Switchings: on at 0 s; the first off after 10 s on is at 11 s; the first on after 20 s off is
    // at 32 s (31 s asks for off); off again at 43 s.
    const switches = adapter.sent.map((c) => ({ t: (c.at - START) / 1000, on: c.set.heater?.on }));
    const changes = switches.filter((c, i) => i === 0 || c.on !== switches[i - 1]?.on);
    expect(changes).toEqual([
      { t: 0, on: true },
      { t: 11, on: false },
      { t: 32, on: true },
      { t: 43, on: false },
    ]);
    const stats = actuators.stats();
    expect(stats.refused.min_on + stats.refused.min_off).toBe(results.filter((a) => !a).length);
    expect(stats.refused.min_on).toBeGreaterThan(0);
    expect(stats.refused.min_off).toBeGreaterThan(0);
    const refusal = logger.entries.find((e) => e.msg.startsWith('command refused'));
    expect(refusal).toMatchObject({ level: 'warn', fields: { device: 'gh-1', origin: 'rule:toggle' } });
  });

  it('returns the reason of a refusal', async () => {
    reading();
    expect(await actuators.command('gh-1', { heater: 'on' }, 'cli')).toEqual({ accepted: true });
    clock.advance(3000);
    const r = await actuators.command('gh-1', { heater: 'off' }, 'cli');
    expect(r).toEqual({ accepted: false, reason: 'gh-1/heater must stay on 7000 ms more (min_on)' });
  });

  it('refuses the second of two interlocked actuators, both ways and within one command', async () => {
    reading();
    expect((await actuators.command('gh-1', { heater: true }, 'rule:a')).accepted).toBe(true);
    const second = await actuators.command('gh-1', { vent: true }, 'rule:b');
    expect(second.accepted).toBe(false);
    expect(second.reason).toContain('interlocked with gh-1/heater');
    clock.advance(10_000);
    reading();
    // Switching the heater off and the vent on in one command is fine; the reverse order of state is not.
    expect((await actuators.command('gh-1', { heater: false, vent: true }, 'rule:c')).accepted).toBe(true);
    clock.advance(30_000);
    reading();
    expect((await actuators.command('gh-1', { heater: true }, 'rule:d')).accepted).toBe(false);
    expect(actuators.stats().refused.interlock).toBe(2);
  });

  it('limits the switching rate over a sliding window', async () => {
    const accepted: number[] = [];
    let on = false;
    for (let s = 0; s < 120; s += 5) {
      const r = await actuators.command('gh-1', { vent: !on }, 'rule:flap');
      if (r.accepted) {
        accepted.push(s);
        on = !on;
      }
      clock.advance(5000);
    }
    // At most 3 switchings in any 60 s: 0, 5, 10 s, then from 60 s when the first leaves the window.
    expect(accepted).toEqual([0, 5, 10, 60, 65, 70]);
    expect(actuators.stats().refused.max_rate).toBe(24 - accepted.length);
  });

  it('forces the fail-safe state when an input goes stale, and holds it until the input is fresh', async () => {
    reading();
    await actuators.command('gh-1', { heater: true }, 'rule:heat');
    clock.advance(59_000);
    expect(adapter.sent).toHaveLength(1);
    clock.advance(1_000);
    await Promise.resolve();
    expect(adapter.sent.at(-1)).toMatchObject({
      set: { heater: { on: false } },
      origin: 'fail-safe: stale input',
    });
    expect(actuators.stats().failSafe).toBe(1);
    const held = await actuators.command('gh-1', { heater: true }, 'rule:heat');
    expect(held.accepted).toBe(false);
    expect(held.reason).toContain('gh-1/temperature is stale');
    expect(actuators.stats().refused.fail_safe).toBe(1);
    // Fresh again: the heater obeys once its minimum off time has passed.
    clock.advance(20_000);
    reading();
    expect((await actuators.command('gh-1', { heater: true }, 'rule:heat')).accepted).toBe(true);
  });

  it('sends every fail-safe state on stop, and refuses commands afterwards', async () => {
    reading();
    await actuators.command('gh-1', { heater: true }, 'rule:heat');
    await actuators.stop();
    expect(adapter.sent.at(-1)).toMatchObject({
      set: { heater: { on: false }, vent: { on: false } },
      origin: 'fail-safe: hub stopping',
    });
    expect((await actuators.command('gh-1', { lamp: 40 }, 'rule:x')).accepted).toBe(false);
    expect(clock.pending()).toEqual([]);
  });

  it('counts a state the device reports itself (a wall switch) as a switching', async () => {
    reading();
    actuators.noteReading('gh-1', 'heater', true, clock.now());
    clock.advance(2000);
    expect((await actuators.command('gh-1', { heater: false }, 'rule:x')).accepted).toBe(false);
  });

  it('refuses unknown devices, actuators and meaningless values, counting each', async () => {
    expect((await actuators.command('nope', { heater: true }, 'cli')).accepted).toBe(false);
    expect((await actuators.command('gh-1', { pump: true }, 'cli')).accepted).toBe(false);
    expect((await actuators.command('gh-1', { heater: 'maybe' }, 'cli')).accepted).toBe(false);
    expect((await actuators.command('gh-1', { vent: { brightness: 20 } }, 'cli')).accepted).toBe(false);
    expect(await actuators.command('gh-1', { lamp: 40 }, 'cli')).toEqual({ accepted: true });
    expect(adapter.sent.at(-1)?.set).toEqual({ lamp: { on: true, brightness: 40 } });
    expect(actuators.stats().refused).toMatchObject({ unknown_device: 1, unknown_actuator: 1, invalid: 2 });
    // Each refusal of a defined device's command is published on its refusal topic; an unknown device has none.
    expect(
      published.map((m) => [m.topic, (JSON.parse(String(m.payload)) as { refusal: string }).refusal]),
    ).toEqual([
      ['edgehub/devices/gh-1/refusal', 'unknown_actuator'],
      ['edgehub/devices/gh-1/refusal', 'invalid'],
      ['edgehub/devices/gh-1/refusal', 'invalid'],
    ]);
  });
});

describe('guarded command topics', () => {
  it('routes edgehub/set/<device>/<actuator> through the envelope', async () => {
    let listener: ((m: MqttMessage) => void) | undefined;
    const guarded = new DeviceActuators({
      clock,
      logger,
      devices: DEVICES,
      adapters: new Map([['mqtt', adapter]]),
      publisher: noPublisher,
      source: { onMessage: (_o, fn) => (listener = fn), offOwner: () => (listener = undefined) },
    });
    guarded.start();
    const msg = (topic: string, payload: string): MqttMessage => ({
      topic,
      payload: Buffer.from(payload),
      qos: 0,
      retain: false,
      clientId: 'home-assistant',
      receivedAt: clock.now(),
    });
    listener?.(msg('edgehub/set/gh-1/lamp/brightness', '55'));
    listener?.(msg('edgehub/set/gh-1/vent', 'ON'));
    await Promise.resolve();
    expect(adapter.sent.map((s) => [s.set, s.origin])).toEqual([
      [{ lamp: { on: true, brightness: 55 } }, 'mqtt:home-assistant'],
      [{ vent: { on: true } }, 'mqtt:home-assistant'],
    ]);
    await guarded.stop();
  });

  it('sends a publish on actuators/<board>/<actuator> to a serial board through its adapter, once accepted', async () => {
    const serial = new RecordingAdapter(clock, 'serial');
    const boards = deviceListSchema.parse([
      {
        id: 'bench-1',
        adapter: 'serial',
        serial: { path: '/dev/ttyUSB0' },
        actuators: [{ name: 'pump', kind: 'relay', safety: { min_on: '1m' } }],
      },
    ]);
    const records: OutgoingMessage[] = [];
    const guarded = new DeviceActuators({
      clock,
      logger,
      devices: boards,
      adapters: new Map([['serial', serial]]),
      publisher: recordingPublisher(records),
      source: silentSource,
    });
    guarded.start();
    expect(guarded.guard('actuators/bench-1/pump', 'ON', 'mqtt:panel')).toEqual({ accepted: true });
    expect(guarded.guard('actuators/bench-1/pump', 'OFF', 'mqtt:panel')).toMatchObject({ accepted: false });
    expect(guarded.guard('sensors/bench-1/pump', 'OFF', 'mqtt:panel')).toBeUndefined();
    await Promise.resolve();
    expect(serial.sent.map((s) => [s.device, s.set, s.origin])).toEqual([
      ['bench-1', { pump: { on: true } }, 'mqtt:panel'],
    ]);
    // The accepted publish is its own record; only the refusal is published by the hub.
    expect(records.map((m) => m.topic)).toEqual(['edgehub/devices/bench-1/refusal']);
    await guarded.stop();
  });
});

describe('a rule driving an actuator', () => {
  it('is held to the minimum times however often its command action fires', async () => {
    const loaded = compileRuleFiles(
      [
        {
          file: 'toggle.yaml',
          text: `rules:
  - id: toggle-heater
    mode: queued
    when:
      mqtt: tick
    then:
      - command: { device: gh-1, set: { heater: "{{ payload.on }}" } }
`,
        },
      ],
      { devices: ['gh-1'] },
    );
    if (!loaded.ok) throw new Error(loaded.errors.map((e) => e.message).join('\n'));
    const engine = new RuleEngine({
      clock,
      logger,
      publisher: noPublisher,
      actuators,
      loopBreaker: null,
      timezone: 'UTC',
    });
    engine.load(loaded.set);
    for (let s = 0; s < 60; s++) {
      reading();
      engine.handle({
        topic: 'tick',
        payload: Buffer.from(JSON.stringify({ on: s % 2 === 0 })),
        qos: 0,
        retain: false,
        clientId: 'ticker',
        receivedAt: clock.now(),
      });
      await engine.whenIdle();
      clock.advance(1000);
    }
    engine.stop();
    const changes = adapter.sent
      .map((c) => ({ t: (c.at - START) / 1000, on: c.set.heater?.on, origin: c.origin }))
      .filter((c, i, all) => i === 0 || c.on !== all[i - 1]?.on);
    expect(changes.map((c) => [c.t, c.on])).toEqual([
      [0, true],
      [11, false],
      [32, true],
      [43, false],
    ]);
    expect(changes[0]?.origin).toContain('toggle-heater');
    const refused = actuators.stats().refused;
    expect(refused.min_on + refused.min_off).toBe(60 - adapter.sent.length);
  });
});
