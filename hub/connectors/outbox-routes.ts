import { parseDeviceTopic, topicMatches, type MqttMessage } from '../../kernel/index.js';
import type { OutboxRouteInit, OutboxRouting, ReplayRow } from '../store/index.js';
import type { ConnectorConfig } from './config-schema.js';

/** Where each connector's status is published, retained: `edgehub/connectors/<id>`. */
export const CONNECTOR_STATUS_ROOT = 'edgehub/connectors/';

/** Distinct topics whose routes are remembered; past it the cache starts over rather than grow. */
const TOPIC_CACHE_SIZE = 10_000;

interface Selector {
  connector: string;
  topics: readonly string[] | undefined;
  devices: ReadonlySet<string> | undefined;
  metrics: ReadonlySet<string> | undefined;
}

/**
 * Every connector's `out` routes as the event store sees them: which outboxes a stored message
 * goes to. A route selects by topic alone (filters, and the device and metric the topic names), so
 * the answer is worked out once per topic. The one exception is per message: what a connector's
 * own `in` route brought in never goes back out through that connector.
 */
export class OutboxRoutes implements OutboxRouting {
  readonly routes: OutboxRouteInit[] = [];
  private readonly selectors: Selector[] = [];
  private readonly byTopic = new Map<string, readonly number[] | undefined>();
  /** Payloads an `in` route published, by the connector that brought them in. */
  private readonly inbound = new WeakMap<Buffer, string>();
  private readonly listeners = new Map<string, (rows: number) => void>();

  constructor(connectors: readonly ConnectorConfig[]) {
    for (const c of connectors) {
      if (!c.enabled) continue;
      c.out.forEach((route, index) => {
        this.routes.push({ connector: c.id, route: index, key: route.key });
        this.selectors.push({
          connector: c.id,
          topics: route.topics,
          devices: route.devices && new Set(route.devices),
          metrics: route.metrics && new Set(route.metrics),
        });
      });
    }
  }

  match(message: MqttMessage): readonly number[] | undefined {
    let routes = this.byTopic.get(message.topic);
    if (routes === undefined && !this.byTopic.has(message.topic)) {
      routes = this.select(message.topic);
      if (this.byTopic.size >= TOPIC_CACHE_SIZE) this.byTopic.clear();
      this.byTopic.set(message.topic, routes);
    }
    if (routes === undefined) return undefined;
    const from = this.inbound.get(message.payload);
    if (from === undefined) return routes;
    const kept = routes.filter((i) => this.routes[i]?.connector !== from);
    return kept.length > 0 ? kept : undefined;
  }

  committed(counts: readonly number[]): void {
    const perConnector = new Map<string, number>();
    counts.forEach((n, i) => {
      const route = this.routes[i];
      if (n > 0 && route) perConnector.set(route.connector, (perConnector.get(route.connector) ?? 0) + n);
    });
    for (const [connector, n] of perConnector) this.listeners.get(connector)?.(n);
  }

  /**
   * The outbox rows a connector's `out` routes would have written for `events`: what a replay puts
   * back. Messages its own `in` routes brought are not told apart here (their payloads are gone).
   */
  replayRows(
    connector: string,
    events: Iterable<{ id: number; topic: string; deviceId: string | null }>,
  ): ReplayRow[] {
    const rows: ReplayRow[] = [];
    for (const e of events) {
      for (const i of this.select(e.topic) ?? []) {
        const route = this.routes[i];
        if (route?.connector !== connector) continue;
        const key = route.key === 'device' ? e.deviceId : route.key === 'topic' ? e.topic : null;
        rows.push([route.route, e.id, key]);
      }
    }
    return rows;
  }

  /** Marks a payload an `in` route of `connector` is about to publish, so it does not go back. */
  markInbound(payload: Buffer, connector: string): void {
    this.inbound.set(payload, connector);
  }

  /** `listener` hears how many rows of `connector` were committed, after each write. */
  onCommitted(connector: string, listener: (rows: number) => void): void {
    this.listeners.set(connector, listener);
  }

  private select(topic: string): readonly number[] | undefined {
    let parsed: ReturnType<typeof parseDeviceTopic> | undefined;
    const found: number[] = [];
    const ownStatus = topic.startsWith(CONNECTOR_STATUS_ROOT);
    this.selectors.forEach((s, i) => {
      // A route without filters takes every event but the connectors' own status, which would
      // otherwise feed itself: a status change queues a message that changes the status.
      if (s.topics ? !s.topics.some((f) => topicMatches(f, topic)) : ownStatus) return;
      if (s.devices || s.metrics) {
        parsed ??= parseDeviceTopic(topic);
        if (!parsed) return;
        if (s.devices && !s.devices.has(parsed.deviceId)) return;
        if (s.metrics && (parsed.name === undefined || !s.metrics.has(parsed.name))) return;
      }
      found.push(i);
    });
    return found.length > 0 ? found : undefined;
  }
}
