import { describe, expect, it } from 'vitest';
import type { ActuatorStats } from '../../devices/index.js';
import { parsePrometheusText, sampleValue } from '../../test/support/prometheus-text.js';
import type { ConnectorStatus } from '../connectors/index.js';
import type { ChannelStats } from '../notifiers/index.js';
import { HubMetrics, type MetricsSources } from './hub-metrics.js';

const connector = (over: Partial<ConnectorStatus>): ConnectorStatus => ({
  id: 'cloud',
  type: 'kafka',
  state: 'connected',
  since: '2026-01-01T00:00:00.000Z',
  lastError: null,
  nextAttemptAt: null,
  backlog: 0,
  backlogAgeMs: null,
  inFlight: 0,
  matched: 0,
  delivered: 0,
  deliveredPerSec: 0,
  dropped: 0,
  dead: 0,
  deadLettered: 0,
  resent: 0,
  received: 0,
  refused: 0,
  ...over,
});

const refusedNone: ActuatorStats['refused'] = {
  min_on: 0,
  min_off: 0,
  max_rate: 0,
  interlock: 0,
  fail_safe: 0,
  unknown_device: 0,
  unknown_actuator: 0,
  invalid: 0,
  adapter: 0,
  starting: 0,
};

describe('HubMetrics', () => {
  it('reads every figure from its source at each scrape', async () => {
    let actuators: ActuatorStats = { accepted: 3, refused: { ...refusedNone, min_on: 2 }, failSafe: 1 };
    let connectors: ConnectorStatus[] = [
      connector({ backlog: 40, backlogAgeMs: 2_500, delivered: 900, dead: 2 }),
      connector({ id: 'ops', type: 'redis-stream', state: 'retrying', dropped: 7 }),
    ];
    const notifiers: ChannelStats[] = [
      { name: 'phone', accepted: 5, delivered: 4, failed: 1, dropped: 0, queued: 1, held: 2 },
    ];
    const sources: MetricsSources = {
      broker: () => ({ published: 10, clients: 2, connections: 3 }),
      subscriptions: () => 4,
      sessions: () => 1,
      store: () => ({
        stats: { stored: 9, buffered: 1, dropped: 0, writeErrors: 0, ackedBeforeStored: 0 },
        lagMs: 250,
      }),
      rules: () => [
        {
          id: 'fan',
          enabled: true,
          triggered: 6,
          fired: 4,
          blocked: 2,
          errors: 0,
          dropped: { cooldown: 1, throttle: 0, mode: 0, suspended: 0, loop: 0 },
          lastRunAt: 1,
        },
      ],
      actuators: () => actuators,
      devices: () => [
        { id: 'gh-1', status: 'online' },
        { id: 'gh-2', status: 'stale' },
      ],
      connectors: () => connectors,
      notifiers: () => notifiers,
    };
    const metrics = new HubMetrics({ sources, processMetrics: false });
    const first = parsePrometheusText(await metrics.text()).samples;
    expect(sampleValue(first, 'edgehub_store_lag_seconds')).toBe(0.25);
    expect(sampleValue(first, 'edgehub_store_buffered_rows')).toBe(1);
    expect(sampleValue(first, 'edgehub_mqtt_sessions')).toBe(1);
    expect(sampleValue(first, 'edgehub_rule_dropped_total', { rule: 'fan', reason: 'cooldown' })).toBe(1);
    expect(sampleValue(first, 'edgehub_actuator_commands_total', { outcome: 'refused' })).toBe(2);
    expect(sampleValue(first, 'edgehub_actuator_refusals_total', { reason: 'min_on' })).toBe(2);
    expect(sampleValue(first, 'edgehub_devices', { status: 'stale' })).toBe(1);
    expect(sampleValue(first, 'edgehub_devices', { status: 'offline' })).toBe(0);
    expect(sampleValue(first, 'edgehub_device_up', { device: 'gh-2' })).toBe(0);
    expect(sampleValue(first, 'edgehub_connector_backlog_messages', { connector: 'cloud' })).toBe(40);
    expect(sampleValue(first, 'edgehub_connector_backlog_age_seconds', { connector: 'cloud' })).toBe(2.5);
    expect(sampleValue(first, 'edgehub_connector_sent_total', { connector: 'cloud' })).toBe(900);
    expect(sampleValue(first, 'edgehub_connector_dead_letters', { connector: 'cloud' })).toBe(2);
    expect(sampleValue(first, 'edgehub_connector_up', { connector: 'ops' })).toBe(0);
    expect(sampleValue(first, 'edgehub_connector_dropped_total', { connector: 'ops' })).toBe(7);
    expect(
      sampleValue(first, 'edgehub_notifier_deliveries_total', { notifier: 'phone', outcome: 'failed' }),
    ).toBe(1);
    expect(sampleValue(first, 'edgehub_notifier_queued', { notifier: 'phone' })).toBe(3);

    actuators = { ...actuators, accepted: 8 };
    connectors = [connector({ delivered: 950 })];
    const second = parsePrometheusText(await metrics.text()).samples;
    expect(sampleValue(second, 'edgehub_actuator_commands_total', { outcome: 'accepted' })).toBe(8);
    expect(sampleValue(second, 'edgehub_connector_sent_total', { connector: 'cloud' })).toBe(950);
    // A connector no longer configured leaves no series behind.
    expect(sampleValue(second, 'edgehub_connector_up', { connector: 'ops' })).toBeUndefined();
  });

  it('keeps two hubs in one process apart', async () => {
    const hub = (published: number): HubMetrics =>
      new HubMetrics({
        processMetrics: false,
        sources: {
          broker: () => ({ published, clients: 0, connections: 0 }),
          subscriptions: () => 0,
          rules: () => [],
          actuators: () => undefined,
          devices: () => [],
        },
      });
    const [a, b] = [hub(1), hub(2)];
    const read = async (m: HubMetrics): Promise<number | undefined> =>
      sampleValue(parsePrometheusText(await m.text()).samples, 'edgehub_events_received_total');
    expect([await read(a), await read(b)]).toEqual([1, 2]);
  });
});
