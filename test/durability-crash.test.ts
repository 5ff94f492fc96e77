import BetterSqlite from 'better-sqlite3';
import type { IClientOptions, MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { eventsDbPath, openEventReader } from '../hub/index.js';
import { brokerDbPath } from '../hub/persistence/index.js';
import { AckedLoad } from './support/acked-load.js';
import { ClientPool, closed } from './support/mqtt-client.js';
import { HubProcesses, signalAndWait, until } from './support/hub-process.js';
import { TempDirs } from './support/temp.js';

const temp = new TempDirs();
const pool = new ClientPool();
const hubs = new HubProcesses();

afterEach(async () => {
  await pool.closeAll();
  await hubs.killAll();
  temp.cleanup();
});

const startHub = (data: string) => hubs.start(data);
const kill = signalAndWait;

function integrity(file: string): unknown {
  const db = new BetterSqlite(file);
  try {
    return db.pragma('integrity_check', { simple: true });
  } finally {
    db.close();
  }
}

const reconnect = (url: string, opts: IClientOptions) => pool.connectWithInbox(url, opts);

function received(client: MqttClient): { topic: string; payload: string }[] {
  const got: { topic: string; payload: string }[] = [];
  client.on('message', (topic, payload) => got.push({ topic, payload: payload.toString() }));
  return got;
}

/** A persistent MQTT 5 session: clean start 0 and an hour of session expiry. */
const session = { protocolVersion: 5 as const, clean: false, properties: { sessionExpiryInterval: 3600 } };

describe('SIGKILL in the middle of a stream of QoS 1 messages', () => {
  it('keeps every acknowledged message, the retained messages and the sessions, with both databases intact', async () => {
    const data = temp.make('edgehub-crash-');
    const first = await startHub(data);

    // A persistent subscriber (Home Assistant, say) and a 3.1.1 one, both offline during the storm.
    const haBefore = await pool.connect(first.url, { clientId: 'ha', ...session });
    await haBefore.subscribeAsync('sensors/#', { qos: 1 });
    await haBefore.endAsync();
    const legacyBefore = await pool.connect(first.url, {
      clientId: 'legacy',
      protocolVersion: 4,
      clean: false,
    });
    await legacyBefore.subscribeAsync('devices/+/availability', { qos: 1 });
    await legacyBefore.endAsync();
    const device = await pool.connect(first.url, { clientId: 'gh-1' });
    await device.publishAsync('devices/gh-1/availability', 'online', { qos: 1, retain: true });
    // Queued for the offline sessions well before the crash.
    for (let i = 0; i < 20; i++) await device.publishAsync('sensors/gh-1/early', String(i), { qos: 1 });

    // Six publishers, eight messages in flight each, until the hub is killed.
    const load = await AckedLoad.start(pool, first.url, { publishers: 6, inFlight: 8 });
    await load.untilEach(200);
    // A client's socket closes only after it has read what the hub had sent: every PUBACK on its way.
    const allClosed = Promise.all(load.clients.map((client) => closed(client)));
    await kill(first.hub, 'SIGKILL');
    await allClosed;
    const snapshot = load.snapshot();
    // Not awaited: a publish the dead hub never answered stays pending until its client is closed.
    void load.stop();
    await pool.closeAll();

    expect(integrity(eventsDbPath(data))).toBe('ok');
    expect(integrity(brokerDbPath(data))).toBe('ok');
    const reader = openEventReader(eventsDbPath(data));
    try {
      const stored = AckedLoad.stored(reader, snapshot.length);
      snapshot.forEach((seqs, p) => {
        const got = new Set(stored[p]);
        const missing = seqs.filter((seq) => !got.has(seq));
        expect({ publisher: p, acked: seqs.length, missing }).toEqual({
          publisher: p,
          acked: seqs.length,
          missing: [],
        });
      });
    } finally {
      reader.close();
    }

    const second = await startHub(data);
    const retained = await pool.connect(second.url, { clientId: 'checker' });
    const got = received(retained);
    await retained.subscribeAsync('devices/#', { qos: 1 });
    await until(() => got.length > 0, 'the retained availability', [[retained, 'message']]);
    expect(got).toEqual([{ topic: 'devices/gh-1/availability', payload: 'online' }]);

    // The sessions come back with their subscriptions and what was queued for them.
    const ha = await reconnect(second.url, { clientId: 'ha', ...session });
    expect(ha.sessionPresent).toBe(true);
    const early = () => ha.got.filter((m) => m.topic === 'sensors/gh-1/early').map((m) => String(m.payload));
    await until(() => early().length === 20, 'the messages queued for the MQTT 5 session', [
      [ha.client, 'message'],
    ]);
    expect(early()).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
    const legacy = await reconnect(second.url, { clientId: 'legacy', protocolVersion: 4, clean: false });
    expect(legacy.sessionPresent).toBe(true);
    const publisher = await pool.connect(second.url, { clientId: 'gh-2' });
    await publisher.publishAsync('devices/gh-2/availability', 'online', { qos: 1 });
    await publisher.publishAsync('sensors/gh-2/temperature', '21', { qos: 1 });
    await until(
      () => legacy.got.length >= 2 && ha.got.some((m) => m.topic === 'sensors/gh-2/temperature'),
      'delivery on the restored subscriptions',
      [
        [legacy.client, 'message'],
        [ha.client, 'message'],
      ],
    );
    expect(legacy.got.map((m) => m.topic)).toEqual([
      'devices/gh-1/availability',
      'devices/gh-2/availability',
    ]);
    await kill(second.hub, 'SIGTERM');
  }, 90_000);
});
