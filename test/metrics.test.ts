import { describe, expect, it } from 'vitest';
import { Hub, loadConfig } from '../hub/index.js';
import { MemoryLogger } from '../kernel/index.js';
import { useHubKit } from './support/hub-kit.js';
import { parsePrometheusText, sampleValue, type Sample } from './support/prometheus-text.js';
import { writeFiles } from './support/temp.js';

const FAN_RULE = `rules:
  - id: fan-on-when-hot
    when:
      mqtt: sensors/+device/temperature
    if: payload.value > 30
    then:
      - publish:
          topic: actuators/{{ device }}/fan
          payload: { on: true }
`;

const { temp, pool, keep } = useHubKit();

async function startHub(): Promise<Hub> {
  const rulesDir = temp.make('edgehub-rules-');
  writeFiles(rulesDir, { 'fan.yaml': FAN_RULE });
  const config = loadConfig(undefined, {
    mqttPort: 0,
    wsPort: null,
    dataDir: temp.make('edgehub-data-'),
    rulesDir,
    demo: false,
  });
  const hub = keep(
    new Hub({ config: { ...config, http: { ...config.http, port: null } }, logger: new MemoryLogger() }),
  );
  await hub.start();
  return hub;
}

async function scrape(hub: Hub): Promise<Sample[]> {
  return parsePrometheusText(await hub.metrics.text()).samples;
}

describe('the hub on /metrics', () => {
  it('counts the events, rule runs, clients and devices that flow through it', async () => {
    const hub = await startHub();
    const before = await scrape(hub);
    const received0 = sampleValue(before, 'edgehub_events_received_total') ?? NaN;
    const stored0 = sampleValue(before, 'edgehub_events_stored_total') ?? NaN;
    expect(sampleValue(before, 'edgehub_mqtt_clients')).toBe(0);
    expect(
      sampleValue(before, 'edgehub_rule_runs_total', { rule: 'fan-on-when-hot', outcome: 'fired' }),
    ).toBe(0);
    expect(sampleValue(before, 'edgehub_device_up', { device: 'gh-7' })).toBeUndefined();

    const client = await pool.connect(`mqtt://127.0.0.1:${hub.broker.mqttAddress?.port}`, {
      clientId: 'gh-7',
    });
    // Counted where the broker hands the message on, which may be after a subscriber has it.
    let fans = 0;
    const sawFans = new Promise<void>((resolve) => {
      const owner = {};
      hub.broker.onMessage(owner, (m) => {
        if (!m.topic.startsWith('actuators/') || ++fans < 5) return;
        hub.broker.offOwner(owner);
        resolve();
      });
    });
    await client.subscribeAsync('actuators/#', { qos: 1 });
    await client.subscribeAsync('alerts/#', { qos: 0 });
    // QoS 1 with durable acknowledgements: each PUBACK comes once the event is committed.
    for (let i = 0; i < 5; i++)
      await client.publishAsync('sensors/gh-7/temperature', JSON.stringify({ value: 35 + i }), { qos: 1 });
    await sawFans;

    const after = await scrape(hub);
    // 5 readings and 5 fan commands the rule published.
    expect(sampleValue(after, 'edgehub_events_received_total')).toBeGreaterThanOrEqual(received0 + 10);
    expect(sampleValue(after, 'edgehub_events_stored_total')).toBeGreaterThanOrEqual(stored0 + 5);
    expect(sampleValue(after, 'edgehub_rule_runs_total', { rule: 'fan-on-when-hot', outcome: 'fired' })).toBe(
      5,
    );
    expect(sampleValue(after, 'edgehub_rule_runs_total', { rule: 'fan-on-when-hot', outcome: 'error' })).toBe(
      0,
    );
    expect(sampleValue(after, 'edgehub_mqtt_clients')).toBe(1);
    expect(sampleValue(after, 'edgehub_mqtt_subscriptions')).toBe(2);
    expect(sampleValue(after, 'edgehub_device_up', { device: 'gh-7' })).toBe(1);
    expect(sampleValue(after, 'edgehub_devices', { status: 'online' })).toBeGreaterThanOrEqual(1);
    expect(sampleValue(after, 'edgehub_store_buffered_rows')).toBeGreaterThanOrEqual(0);
    // Every reading is committed (its PUBACK waited for it); the fan commands wait at most a flush.
    expect(sampleValue(after, 'edgehub_store_lag_seconds')).toBeGreaterThanOrEqual(0);
    expect(sampleValue(after, 'edgehub_store_lag_seconds')).toBeLessThan(5);
    expect(sampleValue(after, 'edgehub_actuator_commands_total', { outcome: 'accepted' })).toBe(0);
    // prom-client's process metrics, beside the hub's own.
    expect(sampleValue(after, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(sampleValue(after, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);

    // A device that says it is offline (as its last will would) is down.
    await client.publishAsync('devices/gh-7/availability', 'offline', { qos: 1, retain: true });
    await client.endAsync();
    const gone = await scrape(hub);
    expect(sampleValue(gone, 'edgehub_device_up', { device: 'gh-7' })).toBe(0);
    expect(sampleValue(gone, 'edgehub_devices', { status: 'offline' })).toBeGreaterThanOrEqual(1);
  });

  it('names every hub series edgehub_* with a unit or _total, each a declared type', async () => {
    const hub = await startHub();
    const { samples, types } = parsePrometheusText(await hub.metrics.text());
    const own = [...types.keys()].filter((n) => n.startsWith('edgehub_'));
    expect(own.length).toBeGreaterThanOrEqual(25);
    for (const name of own) {
      if (types.get(name) === 'counter') expect(name).toMatch(/_total$/);
    }
    expect(samples.length).toBeGreaterThan(own.length);
    expect(hub.metrics.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  });
});
