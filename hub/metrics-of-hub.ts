import type { Hub } from './hub.js';
import { HubMetrics } from './metrics/index.js';

/** The hub's figures for Prometheus, each read from its component at scrape time. */
export function metricsOfHub(hub: Hub): HubMetrics {
  return new HubMetrics({
    sources: {
      broker: () => hub.broker.stats(),
      subscriptions: () => hub.broker.subscriptionCount(),
      sessions: () => hub.persistence?.stats().sessions,
      store: () => hub.store && { stats: hub.store.stats(), lagMs: hub.store.lagMs() },
      rules: () => hub.rules.stats(),
      actuators: () => hub.devices.stats(),
      devices: () => hub.registry.list(),
      connectors: () => hub.connectors?.list(),
      notifiers: () => hub.notifiers?.notifiers.stats(),
    },
  });
}
