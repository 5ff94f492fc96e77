import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryLogger, VirtualClock } from '../kernel/index.js';
import { nextEvent, Observer, startOnline, TestBroker } from '../test/support/test-broker.js';
import { seededRandom } from './random.js';
import { SimDevice } from './sim-device.js';
import { TemperatureSensor, type TemperatureSensorOptions } from './temperature-sensor.js';

const TOPIC = 'sensors/gh-1/temperature';
const T0 = Date.UTC(2025, 5, 1, 12);

describe('TemperatureSensor', () => {
  let broker: TestBroker;
  let observer: Observer;
  let clock: VirtualClock;
  let device: SimDevice | undefined;

  beforeEach(async () => {
    broker = await TestBroker.start();
    observer = await Observer.connect(broker.url, [TOPIC]);
    clock = new VirtualClock(T0);
  });

  afterEach(async () => {
    await device?.stop();
    await observer.close();
    await broker.close();
  });

  async function online(options: TemperatureSensorOptions): Promise<TemperatureSensor> {
    const sensor = new TemperatureSensor(options);
    device = new SimDevice(
      { id: 'gh-1', url: broker.url, parts: [sensor] },
      { clock, logger: new MemoryLogger(), random: seededRandom(5) },
    );
    await startOnline(device);
    return sensor;
  }

  it('publishes {value, seq, unit} every interval with increasing seq', async () => {
    // 20 °C plus 0.0123 °C per second of clock time: shows the timing and the 0.1 °C rounding.
    await online({ intervalMs: 1000, signal: (t) => 20 + ((t - T0) / 1000) * 0.0123 });
    expect(clock.pending()).toEqual(['sim:gh-1:temperature']);
    const readings: unknown[] = [];
    for (let i = 0; i < 3; i++) {
      clock.advance(1000);
      readings.push(await observer.takeJson(TOPIC));
    }
    expect(readings).toEqual([
      { value: 20, seq: 1, unit: 'C' },
      { value: 20, seq: 2, unit: 'C' },
      { value: 20, seq: 3, unit: 'C' },
    ]);
    clock.advance(7000);
    const later: unknown[] = [];
    for (let i = 0; i < 7; i++) later.push(await observer.takeJson(TOPIC));
    expect(later.at(-1)).toEqual({ value: 20.1, seq: 10, unit: 'C' });
  });

  it('publishes a realistic greenhouse series from a seeded source', async () => {
    await online({ intervalMs: 60_000 });
    let lastSeq = 0;
    for (let i = 0; i < 5; i++) {
      clock.advance(60_000);
      const reading = (await observer.takeJson(TOPIC)) as { value: number; seq: number; unit: string };
      expect(reading.seq).toBeGreaterThan(lastSeq);
      lastSeq = reading.seq;
      expect(reading.unit).toBe('C');
      expect(reading.value).toBeGreaterThan(10);
      expect(reading.value).toBeLessThan(35);
      expect(Math.round(reading.value * 10) / 10).toBe(reading.value);
    }
  });

  it('holds a forced value until released', async () => {
    const sensor = await online({ intervalMs: 1000, signal: () => 25 });
    sensor.setValue(31.5);
    clock.advance(1000);
    expect(await observer.takeJson(TOPIC)).toMatchObject({ value: 31.5, seq: 1 });
    clock.advance(1000);
    expect(await observer.takeJson(TOPIC)).toMatchObject({ value: 31.5, seq: 2 });
    sensor.setValue(undefined);
    clock.advance(1000);
    expect(await observer.takeJson(TOPIC)).toMatchObject({ value: 25, seq: 3 });
    expect(sensor.lastReading).toEqual({ value: 25, seq: 3, unit: 'C' });
  });

  it('drops samples taken while offline, leaving a gap in seq', async () => {
    await online({ intervalMs: 1000, signal: () => 21 });
    clock.advance(1000);
    expect(await observer.takeJson(TOPIC)).toMatchObject({ seq: 1 });
    const d = device as SimDevice;
    const scheduled = nextEvent(d.events, 'reconnectScheduled');
    d.dropConnection();
    // 500 ms ± 20 % jitter from the seeded source.
    const { delayMs } = await scheduled;
    expect(delayMs).toBeGreaterThanOrEqual(400);
    expect(delayMs).toBeLessThanOrEqual(600);
    const up = nextEvent(d.events, 'online');
    // The reconnect fires first; the sample at +1000 ms finds the connection not yet back.
    clock.advance(1000);
    await up;
    clock.advance(1000);
    expect(await observer.takeJson(TOPIC)).toMatchObject({ seq: 3 });
  });

  it('stops sampling when its device stops', async () => {
    await online({ intervalMs: 1000 });
    await device?.stop();
    expect(clock.pending()).toEqual([]);
  });
});
