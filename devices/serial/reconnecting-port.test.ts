import { describe, expect, it } from 'vitest';
import { MemoryLogger, VirtualClock, type EdgehubError } from '../../kernel/index.js';
import { MemoryPorts, settle } from '../../test/support/memory-port.js';
import { DEFAULT_RECONNECT, ReconnectingPort } from './reconnecting-port.js';

const PATH = '/dev/ttyUSB0';

function setup() {
  const clock = new VirtualClock(0);
  const logger = new MemoryLogger();
  const ports = new MemoryPorts();
  const log: string[] = [];
  const failures: EdgehubError[] = [];
  const port = new ReconnectingPort({
    clock,
    logger,
    factory: ports.factory,
    port: { path: PATH, baudRate: 9600 },
    reconnect: DEFAULT_RECONNECT,
    name: 'serial:dev',
    onOpen: () => log.push(`open@${clock.now()}`),
    onLost: (reason) => log.push(`lost@${clock.now()}:${reason}`),
    onOpenFailed: (error) => {
      failures.push(error);
      log.push(`failed@${clock.now()}`);
    },
  });
  return { clock, logger, ports, log, failures, port };
}

describe('ReconnectingPort', () => {
  it('retries a missing port with exponential backoff on the clock until it appears', async () => {
    const { clock, ports, log, failures, port } = setup();
    await port.start();
    expect(failures[0]?.code).toBe('DEVICE_PORT_OPEN_FAILED');
    expect(clock.pending()).toEqual(['serial:dev:reopen']);
    for (const step of [500, 1000, 2000]) {
      clock.advance(step);
      await settle();
    }
    expect(log).toEqual(['failed@0', 'failed@500', 'failed@1500', 'failed@3500']);
    ports.plug(PATH);
    clock.advance(3999);
    await settle();
    expect(port.isOpen).toBe(false);
    clock.advance(1);
    await settle();
    expect(log.at(-1)).toBe('open@7500');
    expect(port.isOpen).toBe(true);
    expect(clock.pending()).toEqual([]);
    await port.stop();
  });

  it('logs an open failure once per outage, and again when the reason changes', async () => {
    const { clock, logger, ports, port } = setup();
    await port.start();
    for (let i = 0; i < 4; i++) {
      clock.advance(30_000);
      await settle();
    }
    ports.failWith(PATH, new Error(`Error: Permission denied, cannot open ${PATH}`));
    clock.advance(30_000);
    await settle();
    const errors = logger.entries.filter((e) => e.level === 'error');
    expect(errors).toHaveLength(2);
    expect(errors[0]?.msg).toContain('/dev/serial/by-id/');
    expect(errors[1]?.msg).toContain('dialout');
    expect(errors.every((e) => e.fields?.code === 'DEVICE_PORT_OPEN_FAILED')).toBe(true);
    await port.stop();
  });

  it('reopens an unplugged port after the first backoff step, starting again from 500 ms', async () => {
    const { clock, ports, log, port } = setup();
    ports.plug(PATH);
    await port.start();
    ports.unplug(PATH);
    await settle();
    expect(log).toEqual(['open@0', 'lost@0:the port closed']);
    expect(port.isOpen).toBe(false);
    ports.plug(PATH);
    clock.advance(500);
    await settle();
    expect(log.at(-1)).toBe('open@500');
    await port.stop();
  });

  it('stop closes the port, clears the timer and is idempotent', async () => {
    const { clock, ports, port } = setup();
    await port.start();
    expect(clock.pending()).toHaveLength(1);
    await port.stop();
    await port.stop();
    expect(clock.pending()).toEqual([]);
    const pair = ports.plug(PATH);
    await port.start();
    await port.stop();
    expect(pair.isUnplugged).toBe(true);
  });
});
