import { afterEach, describe, expect, it } from 'vitest';
import { EdgehubError, SystemClock, VirtualClock, type Clock } from '../../kernel/index.js';
import { FirmataBoardSim } from '../../firmware-sim/index.js';
import { deviceDefinitionSchema } from '../definition.js';
import { adapterBench } from '../../test/support/adapter-bench.js';
import { Cleanups } from '../../test/support/cleanups.js';
import { FirmataAdapter } from './firmata-adapter.js';

const PATH = '/dev/serial/by-id/usb-Arduino_Uno_TEST-if00';
const PIN_MODE_OUTPUT = 1;
const PIN_MODE_PWM = 3;

const PINS = [
  { pin: 'A0', type: 'thermometer', metric: 'temperature', model: 'LM35' },
  { pin: 'A1', type: 'analog', metric: 'moisture', scale: [0, 100] },
  { pin: 2, type: 'button', metric: 'door', pullup: true },
  { pin: 13, type: 'led', actuator: 'led' },
  { pin: 9, type: 'pwm', actuator: 'lamp' },
  { pin: 7, type: 'relay', actuator: 'pump' },
];

const cleanups = new Cleanups();
afterEach(() => cleanups.run());

function setup(options: { clock?: Clock; pins?: unknown[]; firmata?: Record<string, unknown> } = {}) {
  const bench = adapterBench(options.clock ?? new SystemClock());
  const { sink, ports } = bench;
  const definition = deviceDefinitionSchema.parse({
    id: 'uno-1',
    adapter: 'firmata',
    actuators: [
      { name: 'led', kind: 'switch' },
      { name: 'lamp', kind: 'dimmer' },
      { name: 'pump', kind: 'relay' },
    ],
    firmata: { path: PATH, sample_every: '20ms', pins: options.pins ?? PINS, ...options.firmata },
  });
  const adapter = new FirmataAdapter(bench.deps([definition]), bench.options);
  cleanups.add(() => adapter.stop());
  /** Plugs a freshly reset board in at PATH. */
  const plugBoard = () => {
    const sim = new FirmataBoardSim({ clock: new SystemClock() });
    sim.attach(ports.plug(PATH).device);
    cleanups.add(() => sim.detach());
    return sim;
  };
  const online = (from = 0) => sink.waitFor((e) => e.kind === 'status' && e.status === 'online', from);
  return { ...bench, definition, adapter, plugBoard, online };
}

describe('FirmataAdapter', () => {
  it('reads a thermometer, a scaled analog input and a button through johnny-five', async () => {
    const { sink, adapter, plugBoard, online } = setup();
    const sim = plugBoard();
    sim.setVoltage('A0', 0.25); // LM35: 10 mV/°C
    sim.setAnalog('A1', 512);
    await adapter.start();
    await online();
    const temperature = await sink.waitFor((e) => e.kind === 'reading' && e.metric === 'temperature');
    expect(temperature).toMatchObject({ deviceId: 'uno-1', value: 24.9 }); // 51 of 1023 steps of 5 V
    const moisture = await sink.waitFor((e) => e.kind === 'reading' && e.metric === 'moisture');
    expect(moisture.kind === 'reading' && moisture.value).toBe(50.05);
    sim.setVoltage('A0', 0.31);
    await sink.waitFor((e) => e.kind === 'reading' && e.metric === 'temperature' && e.value === 30.8); // 63 steps
    sim.setDigital(2, false); // pressed: the button pulls the pin to ground
    await sink.waitFor((e) => e.kind === 'reading' && e.metric === 'door' && e.value === true);
    sim.setDigital(2, undefined);
    await sink.waitFor((e) => e.kind === 'reading' && e.metric === 'door' && e.value === false);
    // Unchanged samples are not published again within report_every.
    expect(new Set(sink.readings('uno-1', 'moisture')).size).toBe(sink.readings('uno-1', 'moisture').length);
  });

  it('drives an LED, a PWM output and a relay, and reports their states', async () => {
    const { sink, adapter, definition, plugBoard, online } = setup();
    const sim = plugBoard();
    await adapter.start();
    await online();
    const result = await adapter.command(definition, {
      led: { on: true },
      lamp: { on: true, brightness: 50 },
      pump: { on: true },
    });
    expect(result).toEqual({ accepted: true });
    expect(await sim.waitForPin(13, (p) => p.value === 1)).toMatchObject({ mode: PIN_MODE_OUTPUT });
    expect((await sim.waitForPin(9, (p) => p.value > 0)).mode).toBe(PIN_MODE_PWM);
    expect(sim.pin(9).value).toBeGreaterThanOrEqual(127);
    expect(sim.pin(9).value).toBeLessThanOrEqual(128);
    await sim.waitForPin(7, (p) => p.value === 1 && p.mode === PIN_MODE_OUTPUT);
    expect(sink.events).toContainEqual(
      expect.objectContaining({ kind: 'state', actuator: 'lamp', state: { on: true, brightness: 50 } }),
    );
    await adapter.command(definition, { led: { on: false } });
    await sim.waitForPin(13, (p) => p.value === 0);
  });

  it('refuses commands for actuators no pin drives, and while the board is away', async () => {
    const { sink, adapter, definition, plugBoard, online, ports } = setup();
    plugBoard();
    await adapter.start();
    await online();
    expect(await adapter.command(definition, { fan: { on: true } })).toMatchObject({ accepted: false });
    ports.unplug(PATH);
    await sink.waitFor((e) => e.kind === 'status' && e.status === 'offline');
    const refused = await adapter.command(definition, { led: { on: true } });
    expect(refused.accepted).toBe(false);
    expect(refused.reason).toContain('not connected');
  });

  it('goes offline when unplugged and, plugged back in, restores the commanded outputs', async () => {
    const { sink, adapter, definition, plugBoard, online, ports } = setup({
      firmata: { reconnect: { initial: '10ms', max: '40ms' } },
    });
    plugBoard();
    await adapter.start();
    await online();
    await adapter.command(definition, { led: { on: true } });
    ports.unplug(PATH);
    await sink.waitFor((e) => e.kind === 'status' && e.status === 'offline');
    const mark = sink.mark;
    const fresh = plugBoard(); // a reset board: every output low
    await online(mark);
    await fresh.waitForPin(13, (p) => p.value === 1);
    expect(sink.statuses('uno-1')).toEqual(['online', 'offline', 'online']);
  });

  it('closes and retries a port where no Firmata board answers', async () => {
    const clock = new VirtualClock(0);
    const { logger, adapter, ports } = setup({ clock });
    ports.plug(PATH); // nothing on the other end answers
    await adapter.start();
    expect(clock.pending()).toEqual(['firmata:uno-1:handshake']);
    clock.advance(10_000);
    const error = logger.entries.find((e) => e.level === 'error');
    expect(error?.msg).toContain(`no Firmata answer from ${PATH}`);
    expect(error?.fields?.code).toBe('DEVICE_PORT_OPEN_FAILED');
    expect(clock.pending()).toEqual(['firmata:uno-1:reopen']);
  });

  it('skips a pin the board cannot serve, with a message that says why', async () => {
    const { logger, adapter, plugBoard, online } = setup({
      pins: [{ pin: 13, type: 'pwm', actuator: 'lamp' }],
    });
    plugBoard();
    await adapter.start();
    await online();
    expect(logger.entries.find((e) => e.level === 'error')?.fields).toMatchObject({
      device: 'uno-1',
      pin: 13,
      type: 'pwm',
      problem: 'the pin has no PWM',
    });
  });

  it('rejects a pin declared twice, naming the key path', () => {
    const result = deviceDefinitionSchema.safeParse({
      id: 'uno-1',
      adapter: 'firmata',
      actuators: [{ name: 'led' }, { name: 'pump' }],
      firmata: { path: PATH, pins: [PINS[3], { pin: 13, type: 'relay', actuator: 'pump' }] },
    });
    expect(result.error?.issues).toContainEqual(
      expect.objectContaining({ path: ['firmata', 'pins', 1, 'pin'], message: 'pin 13 is used twice' }),
    );
  });

  it('asks for actuator pins to be declared under actuators:', () => {
    const undeclared = deviceDefinitionSchema.safeParse({
      id: 'uno-1',
      adapter: 'firmata',
      firmata: { path: PATH, pins: [PINS[3]] },
    });
    expect(undeclared.error?.issues[0]?.path).toEqual(['firmata', 'pins', 0, 'actuator']);
  });

  it('validates settings it is handed unchecked, with CONFIG_INVALID', () => {
    const definition = { ...deviceDefinitionSchema.parse({ id: 'uno-1' }), adapter: 'firmata' as const };
    let error: unknown;
    try {
      new FirmataAdapter(adapterBench(new SystemClock()).deps([definition]));
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(EdgehubError);
    expect((error as EdgehubError).code).toBe('CONFIG_INVALID');
  });
});
