import { beforeEach, describe, expect, it } from 'vitest';
import { deviceDefinitionSchema } from '../../devices/index.js';
import { MemoryLogger, TypedBus, VirtualClock, type MqttMessage } from '../../kernel/index.js';
import type { HubEvents } from '../events.js';
import type { DeviceStatusChange } from '../../kernel/index.js';
import { DeviceRegistry } from './registry.js';

let clock: VirtualClock;
let registry: DeviceRegistry;
let changes: DeviceStatusChange[];

function message(topic: string, payload: string): MqttMessage {
  return {
    topic,
    payload: Buffer.from(payload),
    qos: 0,
    retain: false,
    clientId: 'c',
    receivedAt: clock.now(),
  };
}

beforeEach(() => {
  clock = new VirtualClock(1_700_000_000_000);
  const logger = new MemoryLogger();
  const bus = new TypedBus<HubEvents>(logger);
  changes = [];
  bus.on(changes, 'device.status', (c) => changes.push(c));
  registry = new DeviceRegistry({
    clock,
    logger,
    bus,
    source: { onMessage: () => undefined, offOwner: () => undefined },
    devices: [deviceDefinitionSchema.parse({ id: 'gh-1', name: 'Greenhouse', stale_after: '5m' })],
  });
  registry.start();
});

describe('DeviceRegistry', () => {
  it('lists declared devices before they speak, with unknown status', () => {
    expect(registry.get('gh-1')).toMatchObject({ declared: true, status: 'unknown', name: 'Greenhouse' });
  });

  it('keeps the latest value of each metric and adds devices seen on topics', () => {
    registry.handle(message('sensors/gh-1/temperature', '{"value": 21.5, "seq": 1}'));
    registry.handle(message('sensors/gh-1/temperature', '{"value": 22, "seq": 2}'));
    registry.handle(message('sensors/shed/humidity', '55'));
    expect(registry.get('gh-1')?.state).toEqual({ temperature: 22 });
    expect(registry.get('shed')).toMatchObject({
      declared: false,
      status: 'online',
      state: { humidity: 55 },
    });
  });

  it('follows availability messages, such as a last will', () => {
    registry.handle(message('devices/gh-1/availability', 'online'));
    registry.handle(message('devices/gh-1/availability', 'offline'));
    expect(changes.map((c) => c.status)).toEqual(['online', 'offline']);
  });

  it('marks a device stale after stale_after without a reading, not before', () => {
    registry.handle(message('sensors/gh-1/temperature', '20'));
    clock.advance(4 * 60_000);
    registry.handle(message('sensors/gh-1/temperature', '20.5'));
    clock.advance(4 * 60_000);
    expect(registry.get('gh-1')?.status).toBe('online');
    clock.advance(60_000 + 1);
    expect(registry.get('gh-1')?.status).toBe('stale');
    registry.handle(message('sensors/gh-1/temperature', '21'));
    expect(changes.map((c) => c.status)).toEqual(['online', 'stale', 'online']);
  });

  it('stops its timers on stop', () => {
    registry.handle(message('sensors/gh-1/temperature', '20'));
    expect(clock.pending()).toEqual(['stale:gh-1']);
    registry.stop();
    expect(clock.pending()).toEqual([]);
  });
});
