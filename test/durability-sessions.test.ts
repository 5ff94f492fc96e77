import type { IClientOptions, IPublishPacket, MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { ClientPool } from './support/mqtt-client.js';
import { HubProcesses, signalAndWait, until, type SpawnOptions } from './support/hub-process.js';
import { TempDirs } from './support/temp.js';
import { startDeviceHub } from './support/device-hub.js';

const temp = new TempDirs();
const pool = new ClientPool();
const hubs = new HubProcesses();

afterEach(async () => {
  await pool.closeAll();
  await hubs.killAll();
  temp.cleanup();
});

const startHub = (data: string, options: SpawnOptions = {}) => hubs.start(data, [], options);
const stop = signalAndWait;
const connect = (url: string, opts: IClientOptions) => pool.connectWithInbox(url, opts);

const BARRIER = 'sensors/barrier';

/**
 * Publishes a marker from another client and waits until `to` receives it: the hub writes what it
 * had queued for a connection before anything routed later, so nothing of the queue is still to come.
 */
async function barrier(url: string, to: { client: MqttClient; got: IPublishPacket[] }): Promise<void> {
  const marker = await pool.connect(url, { clientId: 'barrier', protocolVersion: 5 });
  await marker.publishAsync(BARRIER, 'x', { qos: 1 });
  await until(() => to.got.some((p) => p.topic === BARRIER), 'the barrier message', [[to.client, 'message']]);
  await marker.endAsync();
}

const queued = (got: IPublishPacket[]) => got.filter((p) => p.topic !== BARRIER);

describe('a persistent session across a hub restart', () => {
  it('gets the QoS 1 and 2 messages published while it was offline, once, in order (MQTT 5)', async () => {
    const data = temp.make('edgehub-sessions-');
    const first = await startHub(data);
    const session = {
      clientId: 'ha',
      protocolVersion: 5 as const,
      clean: false,
      properties: { sessionExpiryInterval: 3600 },
    };
    const before = await connect(first.url, session);
    expect(before.sessionPresent).toBe(false);
    await before.client.subscribeAsync('sensors/#', { qos: 2 });
    await before.client.endAsync();

    const sensor = await pool.connect(first.url, { clientId: 'gh-1', protocolVersion: 5 });
    for (let seq = 0; seq < 30; seq++) {
      await sensor.publishAsync('sensors/gh-1/temperature', String(seq), { qos: seq % 2 === 0 ? 1 : 2 });
    }
    // Expires while the hub is down: never delivered.
    await sensor.publishAsync('sensors/gh-1/short', 'stale', {
      qos: 1,
      properties: { messageExpiryInterval: 1 },
    });
    await sensor.publishAsync('sensors/gh-1/long', 'fresh', {
      qos: 1,
      properties: { messageExpiryInterval: 3600 },
    });
    await pool.closeAll();
    await stop(first.hub, 'SIGTERM');

    // The hub comes back 5 s later by its clock: the 1 s message has expired meanwhile.
    const second = await startHub(data, { clockAheadMs: 5_000 });
    const after = await connect(second.url, session);
    expect(after.sessionPresent).toBe(true);
    await until(() => after.got.length >= 31, 'the queued messages', [[after.client, 'message']]);
    await barrier(second.url, after);
    // In order within each QoS; MQTT orders a topic's messages only among those of one QoS.
    const readings = after.got.filter((p) => p.topic === 'sensors/gh-1/temperature');
    for (const qos of [1, 2]) {
      expect(readings.filter((p) => p.qos === qos).map((p) => Number(p.payload))).toEqual(
        Array.from({ length: 30 }, (_, i) => i).filter((i) => (i % 2 === 0 ? 1 : 2) === qos),
      );
    }
    expect(
      queued(after.got)
        .filter((p) => p.topic !== 'sensors/gh-1/temperature')
        .map((p) => String(p.payload)),
    ).toEqual(['fresh']);
    // Delivered once: a reconnect after the acknowledgements gets nothing again.
    await after.client.endAsync();
    const again = await connect(second.url, session);
    expect(again.sessionPresent).toBe(true);
    await barrier(second.url, again);
    expect(queued(again.got)).toEqual([]);
  }, 60_000);

  it('keeps the whole subscription: retain handling, retain-as-published, no-local and the identifier', async () => {
    const data = temp.make('edgehub-sessions-');
    const first = await startHub(data);
    const session = {
      clientId: 'ha',
      protocolVersion: 5 as const,
      clean: false,
      properties: { sessionExpiryInterval: 3600 },
    };
    const before = await connect(first.url, session);
    await before.client.subscribeAsync('devices/#', {
      qos: 1,
      rap: true,
      rh: 2,
      properties: { subscriptionIdentifier: 12 },
    });
    await before.client.subscribeAsync('ha/#', { qos: 1, nl: true });
    await before.client.endAsync();
    const device = await pool.connect(first.url, { clientId: 'gh-1', protocolVersion: 5 });
    await device.publishAsync('devices/gh-1/availability', 'online', { qos: 1, retain: true });
    await pool.closeAll();
    await stop(first.hub, 'SIGTERM');

    const second = await startHub(data);
    const after = await connect(second.url, session);
    expect(after.sessionPresent).toBe(true);
    await until(() => after.got.length === 1, 'the queued availability', [[after.client, 'message']]);
    // Retain as published: the queued copy of a retained message still says retain.
    expect(after.got[0]).toMatchObject({ topic: 'devices/gh-1/availability', retain: true });
    // No local: its own message on ha/# does not come back; another client's does.
    await after.client.publishAsync('ha/status', 'online', { qos: 1 });
    const other = await pool.connect(second.url, { clientId: 'other', protocolVersion: 5 });
    await other.publishAsync('ha/other', 'x', { qos: 1 });
    // The restored subscription still carries its identifier.
    await other.publishAsync('devices/gh-2/state', 'on', { qos: 1 });
    await until(
      () =>
        after.got.some((p) => p.topic === 'ha/other') &&
        after.got.some((p) => p.topic === 'devices/gh-2/state'),
      'the other client’s messages',
      [[after.client, 'message']],
    );
    expect(after.got.map((p) => p.topic)).not.toContain('ha/status');
    expect(
      after.got.find((p) => p.topic === 'devices/gh-2/state')?.properties?.subscriptionIdentifier,
    ).toEqual(12);
    // Retain handling 2: restoring the subscription sent no retained message, only the queued one.
    expect(after.got.filter((p) => p.topic === 'devices/gh-1/availability')).toHaveLength(1);
  }, 60_000);

  it('keeps an MQTT 3.1.1 clean-session-false subscription and its queue', async () => {
    const data = temp.make('edgehub-sessions-');
    const first = await startHub(data);
    const session = { clientId: 'node-red', protocolVersion: 4 as const, clean: false };
    const before = await connect(first.url, session);
    await before.client.subscribeAsync('actuators/#', { qos: 1 });
    await before.client.endAsync();
    const rule = await pool.connect(first.url, { clientId: 'panel' });
    await rule.publishAsync('actuators/gh-1/fan', '{"on":true}', { qos: 1 });
    await pool.closeAll();
    await stop(first.hub, 'SIGTERM');

    const second = await startHub(data);
    const after = await connect(second.url, session);
    expect(after.sessionPresent).toBe(true);
    await until(() => after.got.length === 1, 'the queued command', [[after.client, 'message']]);
    expect(String(after.got[0]?.payload)).toBe('{"on":true}');
  }, 60_000);

  it('ends a session whose Session Expiry Interval passed while the hub was down (MQTT 5)', async () => {
    const data = temp.make('edgehub-sessions-');
    const first = await startHub(data);
    const short = {
      clientId: 'short',
      protocolVersion: 5 as const,
      clean: false,
      properties: { sessionExpiryInterval: 2 },
    };
    const long = {
      clientId: 'long',
      protocolVersion: 5 as const,
      clean: false,
      properties: { sessionExpiryInterval: 3600 },
    };
    // One goes away before the hub stops; the other is still connected when it stops.
    const gone = await connect(first.url, short);
    await gone.client.subscribeAsync('sensors/#', { qos: 1 });
    await gone.client.endAsync();
    const stays = await connect(first.url, long);
    await stays.client.subscribeAsync('sensors/#', { qos: 1 });
    const sensor = await pool.connect(first.url, { clientId: 'gh-1', protocolVersion: 5 });
    await sensor.publishAsync('sensors/gh-1/temperature', '21', { qos: 1 });
    await sensor.endAsync();
    await stop(first.hub, 'SIGTERM');
    await pool.closeAll();

    // Back 5 s later by its clock: past the short session's 2 s, well within the long one's hour.
    const second = await startHub(data, { clockAheadMs: 5_000 });
    const expired = await connect(second.url, short);
    expect(expired.sessionPresent).toBe(false);
    const resumed = await connect(second.url, long);
    expect(resumed.sessionPresent).toBe(true);
    // Had its session lived on, its queued reading would come before anything routed from now on.
    await expired.client.subscribeAsync(BARRIER, { qos: 1 });
    await barrier(second.url, expired);
    expect(queued(expired.got)).toEqual([]);
  }, 60_000);
});

describe('the offline queue of a persistent session', () => {
  it('holds mqtt.limits.max_queued_messages, delivers those in order, and counts the rest for that client', async () => {
    const { hub, url, logger } = await startDeviceHub(temp, 'mqtt:\n  limits:\n    max_queued_messages: 5\n');
    try {
      const session = {
        clientId: 'ha',
        protocolVersion: 5 as const,
        clean: false,
        properties: { sessionExpiryInterval: 3600 },
      };
      const before = await connect(url, session);
      await before.client.subscribeAsync('sensors/#', { qos: 1 });
      await before.client.endAsync();
      const sensor = await pool.connect(url, { clientId: 'gh-1', protocolVersion: 5 });
      for (let seq = 0; seq < 12; seq++)
        await sensor.publishAsync('sensors/gh-1/temperature', String(seq), { qos: 1 });

      const after = await connect(url, session);
      await barrier(url, after);
      expect(queued(after.got).map((p) => String(p.payload))).toEqual(['0', '1', '2', '3', '4']);
      expect(hub.persistence?.stats().queueFull).toEqual({ dropped: 7, byClient: { ha: 7 } });
      expect(
        logger.entries.filter(
          (e) => e.fields?.['refused'] === 'mqtt.limits.max_queued_messages' && e.level === 'warn',
        ),
      ).toHaveLength(1);
    } finally {
      await pool.closeAll();
      await hub.stop();
    }
  }, 30_000);
});
