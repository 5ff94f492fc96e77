import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryLogger, VirtualClock } from '../kernel/index.js';
import { nextEvent, Observer, startOnline, TestBroker } from '../test/support/test-broker.js';
import { Fan, parseFanCommand } from './fan.js';
import { SimDevice } from './sim-device.js';

describe('parseFanCommand', () => {
  it.each([
    ['{"on": true}', { on: true }],
    ['{"on": false, "seq": 12}', { on: false, seq: 12 }],
    ['{"on": "ON"}', { on: true }],
    ['{"on": true, "seq": "x"}', { on: true }],
    ['ON', { on: true }],
    ['off', { on: false }],
    [' On ', { on: true }],
    ['true', { on: true }],
    ['false', { on: false }],
    ['"OFF"', { on: false }],
  ])('reads %s', (text, expected) => {
    expect(parseFanCommand(Buffer.from(text))).toEqual(expected);
  });

  it.each(['', 'maybe', '1', '{"on": 1}', '{"state": "ON"}', '[true]', 'null', '{"on":'])(
    'rejects %j',
    (text) => {
      expect(parseFanCommand(Buffer.from(text))).toBeNull();
    },
  );

  it('rejects binary that is not UTF-8', () => {
    expect(parseFanCommand(Buffer.from([0xff, 0xfe]))).toBeNull();
  });
});

describe('Fan', () => {
  const STATE = 'actuators/gh-1/fan/state';
  let broker: TestBroker;
  let observer: Observer;
  let clock: VirtualClock;
  let logger: MemoryLogger;
  let fan: Fan;
  let device: SimDevice;

  beforeEach(async () => {
    broker = await TestBroker.start();
    observer = await Observer.connect(broker.url, [STATE]);
    clock = new VirtualClock(0);
    logger = new MemoryLogger();
    fan = new Fan();
    device = new SimDevice(
      { id: 'gh-1', url: broker.url, parts: [fan] },
      { clock, logger, random: () => 0.5 },
    );
    await startOnline(device);
  });

  afterEach(async () => {
    await device.stop();
    await observer.close();
    await broker.close();
  });

  it('reports its state, retained, when it comes online', async () => {
    expect(await observer.take(STATE)).toEqual({ topic: STATE, text: '{"on":false}', retain: false });
    const late = await Observer.connect(broker.url, [STATE]);
    expect(await late.take(STATE)).toMatchObject({ text: '{"on":false}', retain: true });
    await late.close();
  });

  it('echoes a command as its state, with the command seq', async () => {
    await observer.take(STATE);
    await observer.publish('actuators/gh-1/fan', '{"on": true, "seq": 7}');
    expect(await observer.takeJson(STATE)).toEqual({ on: true, seq: 7 });
    expect(fan.on).toBe(true);
    await observer.publish('actuators/gh-1/fan', 'OFF');
    expect(await observer.takeJson(STATE)).toEqual({ on: false });
    expect(fan.on).toBe(false);
  });

  it('ignores garbage with a log line', async () => {
    await observer.take(STATE);
    for (const garbage of ['garbage', '{"on": "maybe"}', '[1]']) {
      await observer.publish('actuators/gh-1/fan', garbage);
    }
    await observer.publish('actuators/gh-1/fan', 'true');
    // Garbage produced no state: the next one is the answer to `true`.
    expect(await observer.takeJson(STATE)).toEqual({ on: true });
    const ignored = logger.entries.filter((e) => e.msg === 'ignored fan command');
    expect(ignored.map((e) => [e.level, e.scope, e.fields?.payload])).toEqual([
      ['warn', 'gh-1', 'garbage'],
      ['warn', 'gh-1', '{"on": "maybe"}'],
      ['warn', 'gh-1', '[1]'],
    ]);
  });

  it('subscribes again after a reconnect', async () => {
    await observer.take(STATE);
    const up = nextEvent(device.events, 'online');
    device.dropConnection();
    await nextEvent(device.events, 'reconnectScheduled');
    clock.advance(500);
    await up;
    expect(await observer.takeJson(STATE)).toEqual({ on: false });
    await observer.publish('actuators/gh-1/fan', '{"on": true}');
    expect(await observer.takeJson(STATE)).toEqual({ on: true });
  });
});
