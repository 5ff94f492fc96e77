import { describe, expect, it } from 'vitest';
import { EdgehubError, VirtualClock } from '../../kernel/index.js';
import { deviceDefinitionSchema, type DeviceDefinition } from '../definition.js';
import { adapterBench } from '../../test/support/adapter-bench.js';
import { settle } from '../../test/support/memory-port.js';
import { SerialAdapter } from './serial-adapter.js';

const PATH = '/dev/serial/by-id/usb-edgehub-test-if00';

function setup(serial: Record<string, unknown> = { path: PATH, baud: 115200 }) {
  const bench = adapterBench(new VirtualClock(1_000));
  const definition = deviceDefinitionSchema.parse({
    id: 'bench-1',
    adapter: 'serial',
    actuators: [
      { name: 'relay', kind: 'relay' },
      { name: 'lamp', kind: 'dimmer' },
    ],
    serial,
  });
  const adapter = new SerialAdapter(bench.deps([definition]), bench.options);
  return { ...bench, definition, adapter };
}

/** What the device end of a pair receives, as text. */
function collect(stream: NodeJS.ReadableStream): { text: () => string } {
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  return { text: () => text };
}

describe('SerialAdapter', () => {
  it('turns JSON lines into readings and actuator states, however the bytes are chunked', async () => {
    const { sink, ports, adapter } = setup();
    const pair = ports.plug(PATH);
    await adapter.start();
    expect(sink.statuses('bench-1')).toEqual(['online']);
    pair.device.write('{"temperature": 21');
    pair.device.write('.5, "humidity": 40, "door": true}\r\n{"relay": true, "lamp": {"on": true, "bri');
    pair.device.write('ghtness": 40}}\n');
    await sink.waitFor((e) => e.kind === 'state' && e.actuator === 'lamp');
    expect(sink.events.slice(1).map(({ at: _at, ...e }) => e)).toEqual([
      { kind: 'reading', deviceId: 'bench-1', metric: 'temperature', value: 21.5 },
      { kind: 'reading', deviceId: 'bench-1', metric: 'humidity', value: 40 },
      { kind: 'reading', deviceId: 'bench-1', metric: 'door', value: true },
      { kind: 'state', deviceId: 'bench-1', actuator: 'relay', state: { on: true } },
      { kind: 'state', deviceId: 'bench-1', actuator: 'lamp', state: { on: true, brightness: 40 } },
    ]);
    expect(sink.events[1]?.at).toBe(1_000);
    await adapter.stop();
  });

  it('ignores lines that are not JSON objects and keys that are not topic levels', async () => {
    const { sink, ports, adapter, logger } = setup();
    const pair = ports.plug(PATH);
    await adapter.start();
    pair.device.write('booting v1.2\n[1,2]\n{"a/b": 1, "#": 2, "ok": 3}\n');
    await sink.waitFor((e) => e.kind === 'reading');
    expect(sink.readings('bench-1', 'ok')).toEqual([3]);
    expect(sink.events.filter((e) => e.kind === 'reading')).toHaveLength(1);
    expect(adapter.stats('bench-1')?.malformed).toBe(2);
    expect(logger.entries.filter((e) => e.level === 'warn')).toHaveLength(1);
    await adapter.stop();
  });

  it('writes commands as {"set": ...} JSON lines', async () => {
    const { ports, adapter, definition } = setup();
    const pair = ports.plug(PATH);
    const device = collect(pair.device);
    await adapter.start();
    const result = await adapter.command(definition, {
      relay: { on: true },
      lamp: { on: true, brightness: 25 },
    });
    expect(result).toEqual({ accepted: true });
    await settle();
    expect(device.text()).toBe('{"set":{"relay":true,"lamp":{"on":true,"brightness":25}}}\n');
    await adapter.stop();
  });

  it('refuses a command while the port is closed, naming the path', async () => {
    const { adapter, definition } = setup();
    await adapter.start();
    const result = await adapter.command(definition, { relay: { on: true } });
    expect(result.accepted).toBe(false);
    expect(result.reason).toContain(PATH);
    await adapter.stop();
  });

  it('reports offline while unplugged, reconnects with backoff, and drops a line cut by the unplug', async () => {
    const { clock, sink, ports, adapter } = setup();
    let pair = ports.plug(PATH);
    await adapter.start();
    pair.device.write('{"n": 1}\n{"n": 2}\n{"n": 3}\n{"n": 4');
    await sink.waitFor((e) => e.kind === 'reading' && e.value === 3);
    ports.unplug(PATH);
    await sink.waitFor((e) => e.kind === 'status' && e.status === 'offline');
    expect(adapter.isOpen('bench-1')).toBe(false);
    clock.advance(500); // nothing plugged in yet: the retry fails, the next waits 1 s
    await settle();
    pair = ports.plug(PATH);
    const mark = sink.mark;
    clock.advance(1_000);
    await sink.waitFor((e) => e.kind === 'status' && e.status === 'online', mark);
    pair.device.write('0}\n{"n": 5}\n');
    await sink.waitFor((e) => e.kind === 'reading' && e.value === 5);
    // `{"n": 4` died with the first port; `0}` is not glued onto it to make a bogus 40.
    expect(sink.readings('bench-1', 'n')).toEqual([1, 2, 3, 5]);
    expect(sink.statuses('bench-1')).toEqual(['online', 'offline', 'online']);
    expect(adapter.stats('bench-1')).toMatchObject({ droppedPartialBytes: 7, malformed: 1 });
    await adapter.stop();
  });

  it('keeps running when the port cannot be opened (EACCES), with one clear error', async () => {
    const { sink, ports, adapter, logger } = setup();
    ports.failWith(
      PATH,
      Object.assign(new Error(`Permission denied, cannot open ${PATH}`), { code: 'EACCES' }),
    );
    await adapter.start();
    expect(sink.statuses('bench-1')).toEqual(['offline']);
    const errors = logger.entries.filter((e) => e.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]?.fields?.code).toBe('DEVICE_PORT_OPEN_FAILED');
    expect(errors[0]?.msg).toContain(PATH);
    expect(errors[0]?.msg).toContain('dialout');
    await adapter.stop();
  });

  it('validates settings it is handed unchecked, with CONFIG_INVALID naming the device and key', () => {
    const construct = (serial: unknown): unknown => {
      // As a caller that skipped the device schema would hand them over.
      const definition = { ...deviceDefinitionSchema.parse({ id: 'bench-1' }), serial } as DeviceDefinition;
      try {
        new SerialAdapter(adapterBench(new VirtualClock()).deps([definition]));
      } catch (err) {
        return err;
      }
      return undefined;
    };
    const err = construct({ baud: 9600 });
    expect(err).toBeInstanceOf(EdgehubError);
    expect((err as EdgehubError).code).toBe('CONFIG_INVALID');
    expect((err as EdgehubError).message).toContain('device bench-1: serial.path');
    expect((construct({ path: PATH, baud: 'fast' }) as EdgehubError).message).toContain('serial.baud');
  });
});
