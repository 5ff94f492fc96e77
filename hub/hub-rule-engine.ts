import type { DeviceRuntime } from '../devices/index.js';
import { parseDuration, type Clock, type Logger, type TypedBus } from '../kernel/index.js';
import { RuleEngine, type SqliteRuleStateStore, type TraceStore } from '../rules/index.js';
import type { Broker } from './broker/index.js';
import type { HubConfig } from './config/schema.js';
import type { Connectors } from './connectors/index.js';
import type { HubEvents } from './events.js';
import type { HubNotifiers } from './notifiers/index.js';
import type { DeviceRegistry } from './registry/index.js';

/** What the hub's rule engine is wired to; the parts started later are read when used. */
export interface HubRuleEngineParts {
  config: HubConfig;
  clock: Clock;
  logger: Logger;
  broker: Broker;
  registry: DeviceRegistry;
  devices: DeviceRuntime;
  /** `<data_dir>/rules.db`: pending `for`s, delays, waits, cooldowns, variables and alerts. */
  state: SqliteRuleStateStore;
  bus: TypedBus<HubEvents>;
  connectors: () => Connectors | undefined;
  notifiers: () => HubNotifiers | undefined;
  traces: () => TraceStore | undefined;
}

/**
 * The rule engine as the config sets it up: publishing through the broker, commanding actuators
 * through the safety envelope, forwarding to connectors and notifying through the notifiers, each
 * run traced and announced on the bus as `rule.run`.
 */
export function createRuleEngine(parts: HubRuleEngineParts): RuleEngine {
  const { config, clock, logger, broker, registry, devices, state, bus, connectors, notifiers, traces } =
    parts;
  const loopBreaker = config.rules.loop_breaker;
  return new RuleEngine({
    clock: clock,
    publisher: broker,
    logger,
    devices: registry,
    actuators: devices,
    // A rule's `forward:` goes into the connector's outbox; connectors start after the rules load.
    ...(config.connectors.some((c) => c.enabled) && {
      forwarder: {
        forward: (connector, message) =>
          connectors()?.forward(connector, message) ??
          Promise.reject(new Error('the connectors are not running')),
      },
    }),
    // A rule's `notify:` is queued with the notifiers; they start before the rules load.
    ...(Object.keys(config.notifiers).length > 0 && {
      notifier: {
        notify: (via, notification) =>
          notifiers()?.notifiers.notify(via, notification) ??
          Promise.reject(new Error('the notifiers are not running')),
      },
    }),
    // Pending `for`s, delays, waits, cooldowns, variables and alerts survive restarts here.
    state,
    ...(config.hub.timezone !== undefined && { timezone: config.hub.timezone }),
    location:
      config.hub.latitude !== undefined && config.hub.longitude !== undefined
        ? { latitude: config.hub.latitude, longitude: config.hub.longitude }
        : null,
    loopBreaker: loopBreaker.enabled
      ? {
          maxDepth: loopBreaker.max_depth,
          maxRuns: loopBreaker.max_runs,
          windowMs: parseDuration(loopBreaker.window),
          suspendForMs: parseDuration(loopBreaker.suspend_for),
        }
      : null,
    http: {
      timeoutMs: parseDuration(config.rules.http.timeout),
      retries: config.rules.http.retries,
      backoffMs: parseDuration(config.rules.http.backoff),
    },
    onRun: (run) => {
      // Every firing is in the stored traces; the log shows them only in the demo (or at debug),
      // since a busy rule would otherwise write a line per message.
      if (run.outcome === 'fired') {
        if (config.demo) logger.info(`rule ${run.ruleId} fired`, { key: run.key });
        else logger.debug(`rule ${run.ruleId} fired`, { key: run.key });
      }
      traces()?.record(run);
      bus.emit('rule.run', {
        ruleId: run.ruleId,
        outcome: run.outcome,
        time: run.startedAt,
        ...(run.reason !== null && { reason: run.reason }),
        ...(run.error !== null && { reason: run.error }),
      });
    },
    onEvent: (name, data) => {
      notifiers()?.router.onEvent(name, data);
      if (name === 'rule.suspended') logger.warn('rule suspended by the loop breaker', { event: data });
      else logger.info(name, { event: data });
    },
  });
}
