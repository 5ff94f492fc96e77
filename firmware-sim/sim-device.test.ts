import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryLogger, VirtualClock } from '../kernel/index.js';
import { Cleanups } from '../test/support/cleanups.js';
import { nextEvent, Observer, startOnline, TestBroker } from '../test/support/test-broker.js';
import { SimDevice, type SimDeviceOptions } from './sim-device.js';

describe('SimDevice', () => {
  let broker: TestBroker;
  let clock: VirtualClock;
  let logger: MemoryLogger;
  const cleanups = new Cleanups();

  beforeEach(async () => {
    broker = await TestBroker.start();
    clock = new VirtualClock(Date.UTC(2025, 5, 1));
    logger = new MemoryLogger();
  });

  afterEach(async () => {
    await cleanups.run();
    await broker.close();
  });

  function device(options: Partial<SimDeviceOptions> = {}): SimDevice {
    const d = new SimDevice(
      { id: 'gh-1', url: broker.url, ...options },
      { clock, logger, random: () => 0.5 },
    );
    cleanups.add(() => d.stop());
    return d;
  }

  async function observe(topics: string[]): Promise<Observer> {
    const observer = await Observer.connect(broker.url, topics);
    cleanups.add(() => observer.close());
    return observer;
  }

  it.each([4, 5] as const)(
    'connects with protocol %i and announces itself online, retained',
    async (version) => {
      const versions: number[] = [];
      broker.aedes.on('client', (client) => versions.push(client.version));
      const d = device({ protocolVersion: version });
      await startOnline(d);
      expect(d.state).toBe('online');
      expect(versions).toEqual([version]);
      // A late subscriber still learns the device is up.
      const observer = await observe(['devices/gh-1/availability']);
      expect(await observer.take('devices/gh-1/availability')).toEqual({
        topic: 'devices/gh-1/availability',
        text: 'online',
        retain: true,
      });
    },
  );

  it('is marked offline by its last will when the socket dies', async () => {
    const observer = await observe(['devices/gh-1/availability']);
    const d = device();
    await startOnline(d);
    expect((await observer.take('devices/gh-1/availability')).text).toBe('online');
    const offline = nextEvent(d.events, 'offline');
    d.dropConnection();
    expect((await observer.take('devices/gh-1/availability')).text).toBe('offline');
    expect(await offline).toEqual({ deviceId: 'gh-1', reason: 'connection closed' });
    expect(clock.pending()).toEqual(['sim:gh-1:reconnect']);
  });

  it('stops cleanly: offline published, timers cleared, stop idempotent', async () => {
    const observer = await observe(['devices/gh-1/availability']);
    const d = device();
    await startOnline(d);
    expect((await observer.take('devices/gh-1/availability')).text).toBe('online');
    await Promise.all([d.stop(), d.stop()]);
    await d.stop();
    expect(d.state).toBe('stopped');
    expect((await observer.take('devices/gh-1/availability')).text).toBe('offline');
    expect(clock.pending()).toEqual([]);
  });

  it('stops without a broker and without waiting for one', async () => {
    await broker.goAway();
    const d = device();
    const scheduled = nextEvent(d.events, 'reconnectScheduled');
    await d.start();
    expect(await scheduled).toEqual({ deviceId: 'gh-1', attempt: 1, delayMs: 500 });
    await d.stop();
    expect(clock.pending()).toEqual([]);
    await broker.comeBack();
  });

  it('reconnects with doubling delays capped at 30 s, and starts over once connected', async () => {
    const d = device();
    await startOnline(d);

    let scheduled = nextEvent(d.events, 'reconnectScheduled');
    await broker.goAway();
    const delays: number[] = [];
    for (;;) {
      const { attempt, delayMs } = await scheduled;
      expect(attempt).toBe(delays.length + 1);
      delays.push(delayMs);
      if (delays.length === 8) break;
      scheduled = nextEvent(d.events, 'reconnectScheduled');
      // Nothing happens before the delay is over...
      clock.advance(delayMs - 1);
      expect(d.state).toBe('waiting');
      // ...then one attempt, refused by the closed port.
      clock.advance(1);
      expect(d.state).toBe('connecting');
    }
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 16000, 30000, 30000]);

    await broker.comeBack();
    const online = nextEvent(d.events, 'online');
    clock.advance(30_000);
    await online;
    expect(d.state).toBe('online');

    scheduled = nextEvent(d.events, 'reconnectScheduled');
    d.dropConnection();
    expect((await scheduled).delayMs).toBe(500);
  });

  it('keeps retrying when the broker is down at start', async () => {
    await broker.goAway();
    const d = device();
    let scheduled = nextEvent(d.events, 'reconnectScheduled');
    await d.start();
    expect((await scheduled).delayMs).toBe(500);
    scheduled = nextEvent(d.events, 'reconnectScheduled');
    clock.advance(500);
    expect((await scheduled).delayMs).toBe(1000);
    await broker.comeBack();
    const online = nextEvent(d.events, 'online');
    clock.advance(1000);
    await online;
    // Only the first refusal is worth a warning; the rest would flood the log during an outage.
    expect(
      logger.entries.filter((e) => e.msg === 'mqtt error' && e.level === 'warn').length,
    ).toBeLessThanOrEqual(2);
  });
});
