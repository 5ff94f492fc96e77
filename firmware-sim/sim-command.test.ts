import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EdgehubError, MemoryLogger, VirtualClock } from '../kernel/index.js';
import { Observer, TestBroker } from '../test/support/test-broker.js';
import { runSimCommand, type SimCommandOptions } from './sim-command.js';

describe('runSimCommand', () => {
  let broker: TestBroker;
  let observer: Observer;

  beforeEach(async () => {
    broker = await TestBroker.start();
    observer = await Observer.connect(broker.url, ['devices/+/availability', 'sensors/+/temperature']);
  });

  afterEach(async () => {
    await observer.close();
    await broker.close();
  });

  it('runs the demo greenhouse nodes against a broker until stopped', async () => {
    const clock = new VirtualClock(0);
    const logger = new MemoryLogger();
    const sim = await runSimCommand(
      { url: broker.url, devices: 3, intervalMs: 1000, protocol: 5, testing: { clock } },
      logger,
    );
    for (const id of ['gh-1', 'gh-2', 'gh-3']) {
      expect((await observer.take(`devices/${id}/availability`)).text).toBe('online');
    }
    clock.advance(1000);
    for (const id of ['gh-1', 'gh-2', 'gh-3']) {
      expect(await observer.takeJson(`sensors/${id}/temperature`)).toMatchObject({ seq: 1, unit: 'C' });
    }
    await sim.stop();
    for (const id of ['gh-1', 'gh-2', 'gh-3']) {
      expect((await observer.take(`devices/${id}/availability`)).text).toBe('offline');
    }
    expect(logger.entries.some((e) => e.msg === 'simulated devices started')).toBe(true);
  });

  it.each([
    { url: 'not a url' },
    { url: 'http://127.0.0.1:1883' },
    { url: 'mqtt://127.0.0.1:1883', devices: 0 },
    { url: 'mqtt://127.0.0.1:1883', devices: 2.5 },
    { url: 'mqtt://127.0.0.1:1883', intervalMs: 1 },
  ] satisfies SimCommandOptions[])('refuses %j as a usage error', async (opts) => {
    const err: unknown = await runSimCommand(opts, new MemoryLogger()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EdgehubError);
    expect((err as EdgehubError).code).toBe('USAGE');
  });
});
