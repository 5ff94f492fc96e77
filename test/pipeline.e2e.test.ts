import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventsDbPath, Hub, loadConfig, openEventReader } from '../hub/index.js';
import { MemoryLogger } from '../kernel/index.js';
import { ClientPool, closed, nextMessage } from './support/mqtt-client.js';
import { TempDirs, writeFiles } from './support/temp.js';

const FAN_RULE = `rules:
  - id: fan-on-when-hot
    when:
      mqtt: sensors/+device/temperature
    if: payload.value > 30
    then:
      - publish:
          topic: actuators/{{ device }}/fan
          payload: { on: true, seq: "{{ payload.seq }}" }
    else:
      - publish:
          topic: actuators/{{ device }}/fan
          payload: { on: false, seq: "{{ payload.seq }}" }
`;

const temp = new TempDirs();
const pool = new ClientPool();
let hub: Hub;
let logger: MemoryLogger;
let rulesDir: string;
let dataDir: string;

async function startHub(options: { maxPacketBytes?: number } = {}): Promise<void> {
  const data = temp.make('edgehub-data-');
  dataDir = data;
  rulesDir = temp.make('edgehub-rules-');
  writeFiles(rulesDir, { 'fan.yaml': FAN_RULE });
  const config = loadConfig(undefined, { mqttPort: 0, wsPort: null, dataDir: data, rulesDir, demo: false });
  logger = new MemoryLogger();
  hub = new Hub({
    config:
      options.maxPacketBytes === undefined
        ? config
        : { ...config, mqtt: { ...config.mqtt, max_packet_bytes: options.maxPacketBytes } },
    logger,
  });
  await hub.start();
}

/**
 * Resolves once the hub's broker has handled a message on `topic` whose payload passes `accept` (so
 * every consumer has seen it). A subscriber can get a QoS 1 message before the broker's handlers
 * run for it, so a test names the message it waits for rather than taking the next one.
 */
function hubSaw(topic: string, count = 1, accept: (payload: Buffer) => boolean = () => true): Promise<void> {
  return new Promise((resolve) => {
    const owner = {};
    let seen = 0;
    hub.broker.onMessage(owner, (m) => {
      if (m.topic !== topic || !accept(m.payload) || ++seen < count) return;
      hub.broker.offOwner(owner);
      resolve();
    });
  });
}

function url(): string {
  return `mqtt://127.0.0.1:${hub.broker.mqttAddress?.port}`;
}

async function sensorAndFan(protocolVersion: 4 | 5): Promise<{ sensor: MqttClient; fan: MqttClient }> {
  const fan = await pool.connect(url(), { protocolVersion, clientId: `fan-v${protocolVersion}` });
  await fan.subscribeAsync('actuators/+/fan', { qos: 1 });
  const sensor = await pool.connect(url(), { protocolVersion, clientId: `sensor-v${protocolVersion}` });
  return { sensor, fan };
}

beforeEach(async () => {
  await startHub();
});

afterEach(async () => {
  await pool.closeAll();
  await hub.stop();
  temp.cleanup();
});

describe('a reading through a rule to an actuator', () => {
  it.each([5, 4] as const)('switches the fan and stores both events (MQTT protocol %i)', async (v) => {
    const { sensor, fan } = await sensorAndFan(v);
    const command = nextMessage(fan, 'actuators/gh-1/fan');
    await sensor.publishAsync('sensors/gh-1/temperature', JSON.stringify({ value: 31.5, seq: 42 }), {
      qos: 1,
    });
    const got = await command;
    expect(JSON.parse(got.payload.toString())).toEqual({ on: true, seq: 42 });

    const off = nextMessage(fan, 'actuators/gh-1/fan');
    const stored = hubSaw('actuators/gh-1/fan', 1, (p) => p.toString().includes('"seq":43'));
    await sensor.publishAsync('sensors/gh-1/temperature', JSON.stringify({ value: 30, seq: 43 }), { qos: 1 });
    expect(JSON.parse((await off).payload.toString())).toEqual({ on: false, seq: 43 });
    await stored;

    hub.store?.flush();
    const events = hub.store?.query({ device: 'gh-1', order: 'asc' }) ?? [];
    expect(events.map((e) => [e.topic, e.payload, e.clientId])).toEqual([
      ['sensors/gh-1/temperature', { value: 31.5, seq: 42 }, `sensor-v${v}`],
      ['actuators/gh-1/fan', { on: true, seq: 42 }, null],
      ['sensors/gh-1/temperature', { value: 30, seq: 43 }, `sensor-v${v}`],
      ['actuators/gh-1/fan', { on: false, seq: 43 }, null],
    ]);
    expect(events[0]).toMatchObject({ deviceId: 'gh-1', metric: 'temperature', qos: 1, retain: false });
    expect(hub.registry.get('gh-1')?.state).toMatchObject({ temperature: 30 });
  });
});

describe('hot reload', () => {
  it('applies a valid change and keeps the running set when a file breaks', async () => {
    const { sensor, fan } = await sensorAndFan(5);
    writeFiles(rulesDir, { 'fan.yaml': FAN_RULE.replace('payload.value > 30', 'payload.value > 40') });
    await hub.reloadRules();
    const first = nextMessage(fan, 'actuators/gh-1/fan');
    await sensor.publishAsync('sensors/gh-1/temperature', '{"value": 35, "seq": 1}');
    expect(JSON.parse((await first).payload.toString())).toMatchObject({ on: false });

    writeFiles(rulesDir, {
      'broken.yaml': 'rules:\n  - id: broken\n    when:\n      mqtt: x\n    if: "payload.value >"\n',
    });
    await hub.reloadRules();
    const errors = logger.entries.filter((e) => e.level === 'error').map((e) => JSON.stringify(e.fields));
    expect(errors.join('\n')).toContain(join(rulesDir, 'broken.yaml') + ':');
    const second = nextMessage(fan, 'actuators/gh-1/fan');
    await sensor.publishAsync('sensors/gh-1/temperature', '{"value": 45, "seq": 2}');
    expect(JSON.parse((await second).payload.toString())).toEqual({ on: true, seq: 2 });
  });
});

describe('bad payloads', () => {
  it('stores text, binary and a 1 MB payload as they came, and the rule sees no crash', async () => {
    await hub.stop();
    await startHub({ maxPacketBytes: 2 * 1024 * 1024 });
    const { sensor, fan } = await sensorAndFan(5);
    const binary = Buffer.from([0xff, 0xfe, 0x00, 0x80]);
    const big = Buffer.alloc(1_000_000, 'a');
    await sensor.publishAsync('sensors/gh-2/temperature', 'not json {', { qos: 1 });
    await sensor.publishAsync('sensors/gh-2/temperature', binary, { qos: 1 });
    await sensor.publishAsync('sensors/gh-2/blob', big, { qos: 1 });
    const after = nextMessage(fan, 'actuators/gh-2/fan', (p) => p.toString().includes('"seq":9'));
    await sensor.publishAsync('sensors/gh-2/temperature', '{"value": 50, "seq": 9}', { qos: 1 });
    expect(JSON.parse((await after).payload.toString())).toEqual({ on: true, seq: 9 });

    hub.store?.flush();
    const events = hub.store?.query({ topicFilter: 'sensors/gh-2/#', order: 'asc' }) ?? [];
    expect(events[0]?.payload).toBe('not json {');
    expect(Buffer.compare(events[1]?.payload as Buffer, binary)).toBe(0);
    expect((events[2]?.payload as string).length).toBe(1_000_000);
    expect(events).toHaveLength(4);
  });

  it('refuses a packet over the limit with a clear log line and keeps serving', async () => {
    const { sensor, fan } = await sensorAndFan(5);
    const gone = closed(sensor);
    sensor.publish('sensors/gh-3/blob', Buffer.alloc(2 * 1024 * 1024));
    await gone;
    expect(logger.entries.find((e) => e.fields?.refused === 'mqtt.max_packet_bytes')?.fields).toMatchObject({
      client: 'sensor-v5',
    });
    const other = await pool.connect(url(), { protocolVersion: 4 });
    const command = nextMessage(fan, 'actuators/gh-3/fan');
    await other.publishAsync('sensors/gh-3/temperature', '{"value": 33, "seq": 1}');
    expect(JSON.parse((await command).payload.toString())).toEqual({ on: true, seq: 1 });
  });
});

describe('shutdown', () => {
  it('flushes every accepted event before it stops', async () => {
    const { sensor } = await sensorAndFan(4);
    for (let seq = 0; seq < 500; seq++) {
      await sensor.publishAsync('sensors/gh-4/temperature', JSON.stringify({ value: 20, seq }), { qos: 1 });
    }
    await hub.stop();
    const reader = openEventReader(eventsDbPath(dataDir));
    const seqs = reader
      .query({ topicFilter: 'sensors/gh-4/#', limit: 10_000, order: 'asc' })
      .map((e) => (e.payload as { seq: number }).seq);
    reader.close();
    expect(seqs).toEqual(Array.from({ length: 500 }, (_, i) => i));
  });
});
