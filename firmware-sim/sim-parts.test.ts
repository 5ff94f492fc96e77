import { describe, expect, it } from 'vitest';
import { MemoryLogger, VirtualClock, type Clock } from '../kernel/index.js';
import { activityRate, humiditySignal, lightLevelSignal } from './ambient-signals.js';
import { EventSensor } from './event-sensor.js';
import { seededRandom } from './random.js';
import { ScaledClock } from './scaled-clock.js';
import type { SimDevicePort } from './sim-device.js';
import { parseLoadCommand, SwitchedLoad } from './switched-load.js';

const HOUR_MS = 3_600_000;
const NOON = Date.UTC(2026, 5, 1, 12);

/** A message a part published through {@link fakePort}. */
interface Sent {
  topic: string;
  payload: string;
  retain: boolean;
}

function fakePort(clock: Clock, sent: Sent[]): SimDevicePort {
  return {
    deviceId: 'dev-1',
    clock,
    logger: new MemoryLogger(),
    random: seededRandom(3),
    isOnline: () => true,
    publish: (topic, payload, options) => {
      sent.push({ topic, payload, retain: options?.retain ?? false });
      return true;
    },
  };
}

describe('ScaledClock', () => {
  it('runs now() and timers speed times faster than its base clock', () => {
    const base = new VirtualClock(NOON);
    const fast = new ScaledClock(base, 60);
    let fired = 0;
    const handle = fast.setTimer('t', 60_000, () => fired++);
    expect(handle.dueAt).toBe(NOON + 60_000);
    base.advance(999);
    expect(fired).toBe(0);
    base.advance(1);
    expect(fired).toBe(1);
    expect(fast.now()).toBe(NOON + 60_000);
    fast.clearTimer(fast.setTimer('u', 1000, () => fired++));
    base.advance(1000);
    expect(fired).toBe(1);
    expect(() => new ScaledClock(base, 0)).toThrow(RangeError);
  });
});

describe('ambient signals', () => {
  it('keeps humidity within 0–100 %, higher at night than in the afternoon', () => {
    const rh = humiditySignal(seededRandom(1));
    const samples = Array.from({ length: 48 }, (_, i) => rh(NOON + i * 0.5 * HOUR_MS));
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...samples)).toBeLessThanOrEqual(100);
    const night = humiditySignal(seededRandom(2))(Date.UTC(2026, 5, 1, 3));
    const afternoon = humiditySignal(seededRandom(2))(Date.UTC(2026, 5, 1, 14));
    expect(night).toBeGreaterThan(afternoon);
  });

  it('gives daylight lux at noon and almost none at night', () => {
    const lux = lightLevelSignal(seededRandom(1));
    expect(lux(NOON)).toBeGreaterThan(5000);
    expect(lux(NOON + 12 * HOUR_MS)).toBeLessThan(5);
    expect(activityRate(Date.UTC(2026, 5, 1, 8), 10)).toBeCloseTo(10);
    expect(activityRate(Date.UTC(2026, 5, 1, 3), 10)).toBeLessThan(0.5);
  });
});

describe('EventSensor', () => {
  it('publishes changes and heartbeats, and releases after its active time', () => {
    const clock = new VirtualClock(Date.UTC(2026, 5, 1, 3));
    const sent: Sent[] = [];
    const door = new EventSensor({
      metric: 'door',
      peakPerHour: 0.0001,
      activeMs: { min: 10_000, max: 10_000 },
      heartbeatMs: 60_000,
    });
    door.attach(fakePort(clock, sent));
    door.trigger();
    expect(sent.map((m) => JSON.parse(m.payload) as unknown)).toEqual([{ value: true, seq: 1 }]);
    clock.advance(10_000);
    expect(door.isActive).toBe(false);
    clock.advance(50_000);
    expect(sent.map((m) => (JSON.parse(m.payload) as { value: boolean }).value)).toEqual([
      true,
      false,
      false,
    ]);
    expect(sent.every((m) => m.topic === 'sensors/dev-1/door' && !m.retain)).toBe(true);
    door.detach();
    expect(clock.pending()).toEqual([]);
  });

  it('produces events at roughly the time-of-day rate', () => {
    const clock = new VirtualClock(Date.UTC(2026, 5, 1, 7, 30));
    const sent: Sent[] = [];
    const pir = new EventSensor({
      metric: 'motion',
      peakPerHour: 60,
      activeMs: { min: 1000, max: 1000 },
      heartbeatMs: HOUR_MS,
    });
    pir.attach(fakePort(clock, sent));
    clock.advance(HOUR_MS);
    const starts = sent.filter((m) => (JSON.parse(m.payload) as { value: boolean }).value).length;
    // About 60/h near 08:00 (the rate is 60·exp(-((h-8)/1.5)²) over 07:30–08:30, so ≈ 58).
    expect(starts).toBeGreaterThan(35);
    expect(starts).toBeLessThan(85);
    pir.detach();
  });
});

describe('SwitchedLoad', () => {
  it('reads commands in every shape edgehub and its users send', () => {
    expect(parseLoadCommand(Buffer.from('{"on":true,"origin":"rule:x","seq":4}'), false)).toEqual({
      on: true,
      seq: 4,
    });
    expect(parseLoadCommand(Buffer.from('{"on":true,"brightness":40}'), true)).toEqual({
      on: true,
      brightness: 40,
    });
    expect(parseLoadCommand(Buffer.from('{"state":"OFF"}'), true)).toEqual({ on: false });
    expect(parseLoadCommand(Buffer.from('70'), true)).toEqual({ on: true, brightness: 70 });
    expect(parseLoadCommand(Buffer.from('70'), false)).toBeNull();
    expect(parseLoadCommand(Buffer.from('off'), false)).toEqual({ on: false });
    expect(parseLoadCommand(Buffer.from('dim please'), true)).toBeNull();
  });

  it('echoes every command as retained state, keeping the brightness of a dimmable light', () => {
    const sent: Sent[] = [];
    const light = new SwitchedLoad({ name: 'light', dimmable: true });
    light.attach(fakePort(new VirtualClock(0), sent));
    light.onMessage('actuators/dev-1/light', Buffer.from('{"on":true,"brightness":30}'));
    light.onMessage('actuators/dev-1/light', Buffer.from('OFF'));
    light.onMessage('actuators/dev-1/light', Buffer.from('{"on":true,"seq":9}'));
    expect(sent.map((m) => [m.topic, m.payload, m.retain])).toEqual([
      ['actuators/dev-1/light/state', '{"on":true,"brightness":30}', true],
      ['actuators/dev-1/light/state', '{"on":false,"brightness":30}', true],
      ['actuators/dev-1/light/state', '{"on":true,"brightness":30,"seq":9}', true],
    ]);
    expect(light.obeyed).toBe(3);
  });
});
