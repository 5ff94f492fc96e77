import type { RulesStatus } from '../rules/index.js';
import type { HttpApiPorts, LiveStream } from './http/index.js';
import type { Hub } from './hub.js';

/** What the API reads of the hub that the hub keeps to itself. */
export interface HubHttpParts {
  /** `hub.name`. */
  name: string;
  stream: LiveStream;
  /** Epoch ms on the hub clock. */
  startedAt: number;
  rulesStatus: () => RulesStatus | undefined;
}

/** The HTTP API's view of a running hub: each port reads the component when asked. */
export function hubHttpPorts(hub: Hub, parts: HubHttpParts): HttpApiPorts {
  return {
    rules: () => hub.rules.stats(),
    rulesStatus: parts.rulesStatus,
    traces: hub.traces,
    memoryTrace: (id) => hub.rules.trace(id),
    devices: hub.registry,
    definitions: () => hub.registry.definitions,
    command: (id, set, origin) => hub.devices.command(id, set, origin),
    ...(hub.store && { events: hub.store }),
    now: () => hub.clock.now(),
    postEvent: (name, data) => hub.rules.handleEvent(name, data),
    alerts: {
      list: () => hub.rules.alerts.list(),
      acknowledge: (key) => hub.rules.acknowledgeAlert(key),
      clear: (key) => hub.rules.alerts.clear(key),
    },
    ...(hub.notifiers && { notifications: hub.notifiers.notifiers }),
    connectors: {
      running: () => hub.connectors,
      dead: (id, limit) => hub.store?.outbox.dead(id, limit) ?? [],
      now: () => hub.clock.now(),
    },
    health: () => ({
      name: parts.name,
      uptimeMs: hub.clock.now() - parts.startedAt,
      broker: hub.broker.stats(),
      store: hub.store?.stats() ?? null,
      brokerState: hub.persistence?.stats() ?? null,
      rules: { loaded: hub.rules.ruleSet.rules.length, ok: parts.rulesStatus()?.ok ?? true },
      traces: hub.traces?.stats() ?? null,
      connectors: hub.connectors?.list() ?? [],
      stream: parts.stream.stats(),
    }),
  };
}
