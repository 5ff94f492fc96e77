import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ActuatorStats } from '../../devices/index.js';
import type { DeviceAvailability } from '../../kernel/index.js';
import type { RuleStats } from '../../rules/index.js';
import type { BrokerStats } from '../broker/index.js';
import type { ConnectorStatus } from '../connectors/index.js';
import type { ChannelStats } from '../notifiers/index.js';
import type { EventStoreStats } from '../store/index.js';

/**
 * Where the figures come from, each read when Prometheus scrapes (never per event). A source that
 * returns undefined (no store, no connectors, actuators not started) contributes no series.
 */
export interface MetricsSources {
  broker: () => Pick<BrokerStats, 'published' | 'clients' | 'connections'>;
  /** Subscriptions of the connected clients. */
  subscriptions: () => number;
  /** Clients with stored sessions (persistent sessions); undefined with memory persistence. */
  sessions?: () => number | undefined;
  store?: () => { stats: EventStoreStats; lagMs: number } | undefined;
  rules: () => readonly RuleStats[];
  actuators: () => ActuatorStats | undefined;
  devices: () => readonly { readonly id: string; readonly status: DeviceAvailability }[];
  connectors?: () => readonly ConnectorStatus[] | undefined;
  notifiers?: () => readonly ChannelStats[] | undefined;
}

export interface HubMetricsDeps {
  sources: MetricsSources;
  /** prom-client's process and Node.js metrics (CPU, memory, event loop lag, GC) too; default true. */
  processMetrics?: boolean;
}

const STATUSES: readonly DeviceAvailability[] = ['online', 'offline', 'stale', 'unknown'];
/** Seconds; from a fast JSON answer on a Pi to a slow history query. */
const HTTP_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * The hub's figures in Prometheus text format, on a registry of its own (not prom-client's global
 * one, so two hubs in one process never share series). Every series but the HTTP histogram is read
 * from the components' own counters at scrape time.
 */
export class HubMetrics {
  readonly registry = new Registry();
  private readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  private readonly withProcess: boolean;

  constructor(deps: HubMetricsDeps) {
    const { sources } = deps;
    const registers = [this.registry];
    /** A counter mirroring a total kept elsewhere: set to it at each scrape. */
    const total = <L extends string>(
      name: string,
      help: string,
      labelNames: readonly L[],
      read: (set: (labels: Partial<Record<L, string>>, value: number) => void) => void,
    ): void => {
      new Counter<L>({
        name,
        help,
        labelNames,
        registers,
        collect() {
          this.reset();
          read((labels, value) => this.inc(labels, value));
        },
      });
    };
    const gauge = <L extends string>(
      name: string,
      help: string,
      labelNames: readonly L[],
      read: (set: (labels: Partial<Record<L, string>>, value: number) => void) => void,
    ): void => {
      new Gauge<L>({
        name,
        help,
        labelNames,
        registers,
        collect() {
          this.reset();
          read((labels, value) => this.set(labels, value));
        },
      });
    };

    // Events: what the broker routed and what the store did with it.
    total(
      'edgehub_events_received_total',
      'MQTT messages routed by the broker ($-topics excluded)',
      [],
      (set) => set({}, sources.broker().published),
    );
    const store = (): { stats: EventStoreStats; lagMs: number } | undefined => sources.store?.();
    total('edgehub_events_stored_total', 'Events committed to the event store', [], (set) => {
      const s = store();
      if (s) set({}, s.stats.stored);
    });
    total(
      'edgehub_events_dropped_total',
      'Events the store lost (buffer full during an outage, or stopped)',
      [],
      (set) => {
        const s = store();
        if (s) set({}, s.stats.dropped);
      },
    );
    total('edgehub_store_write_errors_total', 'Failed write attempts of the event store', [], (set) => {
      const s = store();
      if (s) set({}, s.stats.writeErrors);
    });
    gauge('edgehub_store_buffered_rows', 'Events in memory waiting to be written', [], (set) => {
      const s = store();
      if (s) set({}, s.stats.buffered);
    });
    gauge(
      'edgehub_store_lag_seconds',
      'How long the oldest batch handed to the writer has waited for its commit',
      [],
      (set) => {
        const s = store();
        if (s) set({}, s.lagMs / 1000);
      },
    );

    // Rules.
    total(
      'edgehub_rule_runs_total',
      'Rule runs by rule and outcome (fired, blocked, error)',
      ['rule', 'outcome'],
      (set) => {
        for (const r of sources.rules()) {
          set({ rule: r.id, outcome: 'fired' }, r.fired);
          set({ rule: r.id, outcome: 'blocked' }, r.blocked);
          set({ rule: r.id, outcome: 'error' }, r.errors);
        }
      },
    );
    total(
      'edgehub_rule_dropped_total',
      'Rule inputs dropped before the conditions, by rule and reason (counted in blocked too)',
      ['rule', 'reason'],
      (set) => {
        for (const r of sources.rules())
          for (const [reason, n] of Object.entries(r.dropped)) set({ rule: r.id, reason }, n);
      },
    );
    gauge('edgehub_rule_enabled', '1 for an enabled rule, 0 for a disabled one', ['rule'], (set) => {
      for (const r of sources.rules()) set({ rule: r.id }, r.enabled ? 1 : 0);
    });

    // Actuators: every command from rules, MQTT clients, connectors and the API passes the envelope.
    total(
      'edgehub_actuator_commands_total',
      'Actuator commands by outcome (accepted, refused)',
      ['outcome'],
      (set) => {
        const a = sources.actuators();
        if (!a) return;
        set({ outcome: 'accepted' }, a.accepted);
        set({ outcome: 'refused' }, sum(Object.values(a.refused)));
      },
    );
    total(
      'edgehub_actuator_refusals_total',
      'Actuator commands the safety envelope refused, by reason',
      ['reason'],
      (set) => {
        const a = sources.actuators();
        if (a) for (const [reason, n] of Object.entries(a.refused)) set({ reason }, n);
      },
    );
    total(
      'edgehub_actuator_fail_safe_total',
      'Fail-safe commands sent (stale input or hub stop)',
      [],
      (set) => {
        const a = sources.actuators();
        if (a) set({}, a.failSafe);
      },
    );

    // Broker.
    gauge('edgehub_mqtt_clients', 'MQTT clients past CONNACK', [], (set) =>
      set({}, sources.broker().clients),
    );
    gauge('edgehub_mqtt_connections', 'Open MQTT connections, CONNACKed or not', [], (set) =>
      set({}, sources.broker().connections),
    );
    gauge('edgehub_mqtt_subscriptions', 'Subscriptions of the connected MQTT clients', [], (set) =>
      set({}, sources.subscriptions()),
    );
    gauge('edgehub_mqtt_sessions', 'Clients with a stored (persistent) session', [], (set) => {
      const n = sources.sessions?.();
      if (n !== undefined) set({}, n);
    });

    // Devices.
    gauge('edgehub_devices', 'Devices by availability', ['status'], (set) => {
      const counts = new Map<DeviceAvailability, number>(STATUSES.map((s) => [s, 0]));
      for (const d of sources.devices()) counts.set(d.status, (counts.get(d.status) ?? 0) + 1);
      for (const [status, n] of counts) set({ status }, n);
    });
    gauge('edgehub_device_up', '1 while a device is online, else 0', ['device'], (set) => {
      for (const d of sources.devices()) set({ device: d.id }, d.status === 'online' ? 1 : 0);
    });

    // Connectors.
    const connectors = (): readonly ConnectorStatus[] => sources.connectors?.() ?? [];
    gauge('edgehub_connector_up', '1 while a connector is connected, else 0', ['connector'], (set) => {
      for (const c of connectors()) set({ connector: c.id }, c.state === 'connected' ? 1 : 0);
    });
    gauge(
      'edgehub_connector_backlog_messages',
      'Messages waiting in a connector outbox',
      ['connector'],
      (set) => {
        for (const c of connectors()) set({ connector: c.id }, c.backlog);
      },
    );
    gauge(
      'edgehub_connector_backlog_age_seconds',
      'Age of the oldest message waiting for a connector (0 when none waits)',
      ['connector'],
      (set) => {
        for (const c of connectors()) set({ connector: c.id }, (c.backlogAgeMs ?? 0) / 1000);
      },
    );
    total('edgehub_connector_sent_total', 'Messages a connector delivered', ['connector'], (set) => {
      for (const c of connectors()) set({ connector: c.id }, c.delivered);
    });
    total(
      'edgehub_connector_dropped_total',
      'Messages a connector dropped at its backlog bound',
      ['connector'],
      (set) => {
        for (const c of connectors()) set({ connector: c.id }, c.dropped);
      },
    );
    gauge('edgehub_connector_dead_letters', 'Dead letters a connector keeps', ['connector'], (set) => {
      for (const c of connectors()) set({ connector: c.id }, c.dead);
    });

    // Notifiers.
    const notifiers = (): readonly ChannelStats[] => sources.notifiers?.() ?? [];
    total(
      'edgehub_notifier_deliveries_total',
      'Notifications by notifier and outcome (delivered, failed, dropped over the rate limit)',
      ['notifier', 'outcome'],
      (set) => {
        for (const n of notifiers()) {
          set({ notifier: n.name, outcome: 'delivered' }, n.delivered);
          set({ notifier: n.name, outcome: 'failed' }, n.failed);
          set({ notifier: n.name, outcome: 'dropped' }, n.dropped);
        }
      },
    );
    gauge(
      'edgehub_notifier_queued',
      'Notifications waiting to be sent (held ones included)',
      ['notifier'],
      (set) => {
        for (const n of notifiers()) set({ notifier: n.name }, n.queued + n.held);
      },
    );

    // HTTP: observed per request by the `httpMetrics` middleware, not per event.
    this.httpDuration = new Histogram({
      name: 'edgehub_http_request_duration_seconds',
      help: 'HTTP requests by method, route pattern and status, and how long they took',
      labelNames: ['method', 'route', 'status'],
      buckets: HTTP_BUCKETS,
      registers,
    });

    this.withProcess = deps.processMetrics ?? true;
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Every series in Prometheus text format, the process metrics included unless turned off. */
  text(): Promise<string> {
    if (!this.withProcess) return this.registry.metrics();
    return Registry.merge([this.registry, processRegistry()]).metrics();
  }

  /** One HTTP request; `route` is the route pattern (`/api/devices/:id`), never the raw path. */
  observeHttp(method: string, route: string, status: number, seconds: number): void {
    this.httpDuration.observe({ method, route, status: String(status) }, seconds);
  }
}

let processMetrics: Registry | undefined;

/**
 * prom-client's process and Node.js metrics, one set per process (they describe the process, and
 * each set keeps an event-loop monitor and a GC observer running for good), made on the first
 * scrape so a hub nobody scrapes runs neither.
 */
function processRegistry(): Registry {
  if (!processMetrics) {
    processMetrics = new Registry();
    collectDefaultMetrics({ register: processMetrics });
  }
  return processMetrics;
}

function sum(values: readonly number[]): number {
  let n = 0;
  for (const v of values) n += v;
  return n;
}
