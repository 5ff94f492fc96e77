import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { DeviceRuntime } from '../devices/index.js';
import {
  EdgehubError,
  errorMessage,
  SystemClock,
  TypedBus,
  type Clock,
  type Logger,
} from '../kernel/index.js';
import {
  EXAMPLE_RULES_DIR,
  openRulesDb,
  RuleDirWatcher,
  type RuleEngine,
  rulesDbPath,
  SqliteRuleStateStore,
  type TraceStore,
  type RulesStatus,
} from '../rules/index.js';
import { Broker, brokerOptionsFromConfig } from './broker/index.js';
import type { HubConfig } from './config/schema.js';
import { Connectors, OutboxRoutes } from './connectors/index.js';
import type { HubEvents } from './events.js';
import {
  allDevicesView,
  DEFAULT_STREAM_LIMITS,
  feedLiveStream,
  HttpApi,
  httpOptionsFromConfig,
  LiveStream,
  type ApiExtensions,
} from './http/index.js';
import type { HubMetrics } from './metrics/index.js';
import { metricsOfHub } from './metrics-of-hub.js';
import { hubApiExtensions } from './api-extensions.js';
import { onConnectorEvent } from './connector-events.js';
import { createRuleEngine } from './hub-rule-engine.js';
import { hubHttpPorts } from './hub-http-ports.js';
import { startHubNotifiers, type HubNotifiers } from './notifiers/index.js';
import { brokerDbPath, SqlitePersistence } from './persistence/index.js';
import { reportDemoReadings, withDemoDevices } from './demo-devices.js';
import { SensorUnits } from './sensor-units.js';
import { hubRuleFiles } from './hub-rule-files.js';
import { openTraceStore } from './trace-store-file.js';
import { DeviceReload } from './device-reload.js';
import { hubStatusOf, type HubStatus } from './hub-status.js';
import { ruleLoadOptions } from './rule-checks.js';
import type { RuleFiles } from './rule-files/index.js';
import { DeviceRegistry } from './registry/index.js';
import { Security, securityOptionsFromConfig } from './security/index.js';
import { durableAckHook, EventStore, eventsDbPath, storeOptionsFromConfig } from './store/index.js';
import { upgradeDataFolder } from './upgrade/index.js';
import { EDGEHUB_VERSION } from './version.js';

/** Retained: `{ ok, rules, errors, warnings, at }` of the last rules load or reload. */
export const RULES_STATUS_TOPIC = 'edgehub/rules/status';

export interface HubDeps {
  config: Readonly<HubConfig>;
  logger: Logger;
  clock?: Clock;
  /** Routes and middleware other parts add to the HTTP API (`/metrics`, `/api/rule-files`). */
  http?: ApiExtensions;
}

interface Stoppable {
  name: string;
  stop(): unknown;
}

/**
 * One edgehub process: the broker, the event store, the device registry, the rules and (with
 * `demo`) a simulated fleet. Components start in order and stop in reverse.
 */
export class Hub {
  readonly clock: Clock;
  readonly bus: TypedBus<HubEvents>;
  readonly broker: Broker;
  /** Password file, ACL file and the anonymous policy the broker enforces. */
  readonly security: Security;
  readonly store: EventStore | undefined;
  /** Sessions, retained messages, QoS 1/2 in flight and wills in `<data_dir>/broker.db`; undefined with `mqtt.persistence: memory`. */
  readonly persistence: SqlitePersistence | undefined;
  readonly registry: DeviceRegistry;
  /** Device adapters, guarded actuator commands and Home Assistant discovery. */
  readonly devices: DeviceRuntime;
  readonly rules: RuleEngine;
  /** The rule editor's files: read, validate, back-test, save with history (`ruleFilesRoutes` serves it). */
  readonly ruleFiles: RuleFiles;
  /** Stored rule traces in `<data_dir>/rules.db`; undefined without a rules directory. */
  traces: TraceStore | undefined;
  /** The HTTP API; undefined when `http.port` is null. */
  http: HttpApi | undefined;
  /** The configured connectors, once started; undefined when none is configured. */
  connectors: Connectors | undefined;
  /** The units the connectors' envelopes name. */
  private readonly units = new SensorUnits();
  /** The configured notifiers and the alert routing, once started; undefined when none is configured. */
  notifiers: HubNotifiers | undefined;
  /** The hub's figures for Prometheus, read from the components at each scrape (`metricsRoutes`). */
  readonly metrics: HubMetrics;
  /** Which stored events go to which connector's outbox. */
  private readonly outboxRoutes: OutboxRoutes;
  /** `<data_dir>/rules.db`: the engine's durable timing state and alerts. */
  private readonly ruleState: SqliteRuleStateStore;
  private watcher: RuleDirWatcher | undefined;
  private hubStatus: HubStatus | undefined;
  /** Reloads of the devices directory, one at a time. */
  private readonly deviceReload: DeviceReload;
  private readonly started: Stoppable[] = [];
  private stopping: Promise<void> | undefined;

  constructor(private readonly deps: HubDeps) {
    const { config, logger } = deps;
    this.clock = deps.clock ?? new SystemClock();
    this.bus = new TypedBus<HubEvents>(logger.child('bus'));
    this.security = new Security({
      options: securityOptionsFromConfig(config.mqtt.security),
      clock: this.clock,
      logger: logger.child('security'),
    });
    this.persistence =
      config.mqtt.persistence === 'sqlite'
        ? new SqlitePersistence({
            file: brokerDbPath(resolve(config.hub.data_dir)),
            clock: this.clock,
            logger: logger.child('broker-state'),
            queueLimits: {
              maxMessages: config.mqtt.limits.max_queued_messages,
              maxBytes: config.mqtt.limits.max_queued_bytes,
            },
          })
        : undefined;
    this.broker = new Broker({
      options: brokerOptionsFromConfig(config.mqtt),
      clock: this.clock,
      logger: logger.child('broker'),
      auth: this.security,
      ...(this.persistence && { persistence: this.persistence }),
      // Every client's publish to an actuator's command topic passes the safety envelope first.
      commandGuard: (topic, payload, clientId) => this.devices.guard(topic, payload, `mqtt:${clientId}`),
      // QoS 1/2 acknowledgements wait for the event store's commit (the store is created below);
      // the messages are routed meanwhile.
      ...(config.store.enabled &&
        config.store.durable_acks && { holdAck: durableAckHook(() => this.store, this.clock) }),
    });
    this.outboxRoutes = new OutboxRoutes(config.connectors);
    if (config.connectors.some((c) => c.enabled) && !config.store.enabled)
      throw new EdgehubError(
        'CONFIG_INVALID',
        'connectors send from the event store: turn store.enabled on, or the connectors off',
      );
    this.store = config.store.enabled
      ? new EventStore({
          file: eventsDbPath(resolve(config.hub.data_dir)),
          clock: this.clock,
          logger: logger.child('store'),
          options: storeOptionsFromConfig(config.store),
          ...(this.outboxRoutes.routes.length > 0 && { outbox: this.outboxRoutes }),
        })
      : undefined;
    this.registry = new DeviceRegistry({
      clock: this.clock,
      logger: logger.child('devices'),
      bus: this.bus,
      source: this.broker,
      devices: config.demo ? withDemoDevices(config.devices) : config.devices,
      ...(config.hub.devices_dir !== undefined && { devicesDir: resolve(config.hub.devices_dir) }),
    });
    this.devices = new DeviceRuntime({
      clock: this.clock,
      logger: logger.child('devices'),
      publisher: this.broker,
      source: this.broker,
      retained: this.broker,
      homeAssistant: config.homeassistant,
      hubName: config.hub.name,
      version: EDGEHUB_VERSION,
    });
    this.deviceReload = new DeviceReload({
      registry: this.registry,
      devices: this.devices,
      bus: this.bus,
      clock: this.clock,
      logger: logger.child('devices'),
      hubStatus: () => this.hubStatus,
      rules: () => this.watcher,
      stopping: () => this.stopping !== undefined,
    });
    const rulesLogger = logger.child('rules');
    const dataDir = resolve(config.hub.data_dir);
    // Opened when the engine first loads rules (in start), not here.
    this.ruleState = new SqliteRuleStateStore(() => {
      mkdirSync(dataDir, { recursive: true });
      return openRulesDb(rulesDbPath(dataDir));
    }, true);
    this.rules = createRuleEngine({
      config,
      clock: this.clock,
      logger: rulesLogger,
      broker: this.broker,
      registry: this.registry,
      devices: this.devices,
      state: this.ruleState,
      bus: this.bus,
      connectors: () => this.connectors,
      notifiers: () => this.notifiers,
      traces: () => this.traces,
    });
    this.metrics = metricsOfHub(this);
    this.ruleFiles = hubRuleFiles(this, {
      config,
      dataDir,
      logger: logger.child('rule-files'),
      watcher: () => this.watcher,
    });
  }

  /** The rules directory in force: the configured one, else the examples with `demo`. */
  get rulesDir(): string | undefined {
    const { config } = this.deps;
    if (config.hub.rules_dir !== undefined) return resolve(config.hub.rules_dir);
    return config.demo ? EXAMPLE_RULES_DIR : undefined;
  }

  async start(): Promise<void> {
    const { config, logger } = this.deps;
    try {
      // Before any database is opened for writing: refuses a newer data folder, backs up and migrates an older one.
      await upgradeDataFolder({
        dataDir: resolve(config.hub.data_dir),
        logger: logger.child('upgrade'),
        now: () => new Date(this.clock.now()),
      });
      if (this.store) {
        this.store.start();
        this.started.push({ name: 'store', stop: () => this.store?.stop() });
        const store = this.store;
        this.broker.onMessage(store, (m) => store.append(m));
      }
      this.registry.start();
      this.started.push({ name: 'registry', stop: () => this.registry.stop() });
      // From the moment the broker listens, no command reaches an actuator around the envelope.
      this.devices.prepare(this.registry.definitions);
      this.startRuleFeeds();
      this.broker.onMessage(this.rules, (m) => this.rules.handle(m));
      this.notifiers = startHubNotifiers({
        config,
        clock: this.clock,
        logger: logger.child('notify'),
        publisher: this.broker,
        alerts: this.rules.alerts,
      });
      const notifiers = this.notifiers;
      if (notifiers) this.started.push({ name: 'notifiers', stop: () => notifiers.stop() });
      const rulesDir = this.rulesDir;
      if (rulesDir !== undefined) {
        this.startTraces();
        await this.startRules(rulesDir);
      }
      await this.security.load();
      // Closed after the broker (components stop in reverse), so its last changes are saved.
      const persistence = this.persistence;
      if (persistence) this.started.push({ name: 'broker state', stop: () => persistence.close() });
      await this.broker.start();
      this.started.push({ name: 'broker', stop: () => this.broker.stop() });
      // The rules were loaded before the broker ran; their status goes out now, retained.
      if (this.watcher) this.publishRulesStatus(this.watcher.status);
      await this.startHubStatus();
      await this.startConnectors();
      await this.startHttp();
      for (const warning of this.security.exposureWarnings(this.broker.listenHosts())) logger.warn(warning);
      if (config.demo) {
        const stopReporting = reportDemoReadings(this.bus, logger.child('demo'));
        this.started.push({ name: 'demo reporter', stop: stopReporting });
        const address = this.broker.mqttAddress;
        // Loaded only for the demo: a hub serving real devices never loads the simulators or mqtt.js.
        const { runSimCommand } = await import('../firmware-sim/index.js');
        const fleet = await runSimCommand(
          { url: `mqtt://${address?.host ?? '127.0.0.1'}:${address?.port ?? config.mqtt.port}` },
          logger.child('sim'),
        );
        this.started.push({ name: 'demo fleet', stop: () => fleet.stop() });
      }
      // After the demo fleet, so it stops first: fail-safe commands still reach connected devices.
      await this.startDevices();
      this.watchDevicesDir();
    } catch (err) {
      await this.stop();
      throw err;
    }
    this.bus.emit('hub.started', { at: this.clock.now() });
    this.rules.handleEvent('hub.started', { at: this.clock.now() });
    logger.info('edgehub started', { data: resolve(config.hub.data_dir), rules: this.rulesDir ?? 'none' });
  }

  /** Validates the rules directory again and swaps it in if valid, as a file change does. */
  async reloadRules(): Promise<void> {
    await this.watcher?.reload();
  }

  /**
   * Reads the devices directory again (the config's own definitions are those loaded at start), as
   * a change in the directory does. When every file is valid, the new set is in force: adapters of changed kinds
   * restart, removed devices lose their discovery configs and availability, and the rules are
   * checked again against the new devices. When a file is invalid, each problem is logged at
   * file:line:col and the running set stays. Resolves to whether the new set was taken.
   */
  reloadDevices(): Promise<boolean> {
    return this.deviceReload.reload();
  }

  /**
   * What SIGHUP does: re-reads the password file (for MQTT and for the HTTP API's logins), the ACL
   * file and the TLS certificate (the broker's and the HTTP API's). Each keeps
   * its running version if the new one is invalid (logged); resolves to whether all were taken.
   */
  async reload(): Promise<boolean> {
    const security = await this.security.reload();
    const tls = await this.broker.reloadTls();
    const http = (await this.http?.reload()) ?? true;
    return security && tls && http;
  }

  /** Stops every component in reverse order, flushing the event store last; idempotent. */
  stop(): Promise<void> {
    this.stopping ??= this.stopAll();
    return this.stopping;
  }

  private watchDevicesDir(): void {
    const dir = this.deps.config.hub.devices_dir;
    if (dir === undefined) return;
    this.deviceReload.watch(resolve(dir));
    this.started.push({ name: 'devices watcher', stop: () => this.deviceReload.stop() });
  }

  /** `edgehub/status`, `edgehub/stats` and the defined devices' availability, retained. */
  private async startHubStatus(): Promise<void> {
    const status = hubStatusOf(this, this.deps.logger.child('status'));
    await status.start();
    this.hubStatus = status;
    this.started.push({ name: 'hub status', stop: () => status.stop() });
  }

  private async startDevices(): Promise<void> {
    const owner = { name: 'device runtime' };
    this.bus.on(owner, 'device.reading', (r) =>
      this.devices.noteReading(r.deviceId, r.metric, r.value, r.at),
    );
    this.started.push({
      name: 'devices',
      stop: async () => {
        await this.devices.stop();
        this.bus.offOwner(owner);
      },
    });
    await this.devices.start(this.registry.definitions);
  }

  /**
   * The registry's readings and availability changes go to the rule engine; the engine stops
   * (timers cleared, state kept for the next start) after the broker and watcher, before the registry.
   */
  private startRuleFeeds(): void {
    const owner = { name: 'rule feeds' };
    this.bus.on(owner, 'device.reading', (r) => this.rules.handleReading(r));
    this.bus.on(owner, 'device.status', (c) => this.rules.handleStatus(c));
    this.started.push({
      name: 'rule engine',
      stop: () => {
        this.bus.offOwner(owner);
        this.rules.stop();
        this.ruleState.close();
      },
    });
  }

  private async startRules(dir: string): Promise<void> {
    const logger = this.deps.logger.child('rules');
    const { config } = this.deps;
    this.watcher = new RuleDirWatcher({
      dir,
      clock: this.clock,
      logger,
      loadOptions: () => ruleLoadOptions(config, this.registry.definitions),
      onLoad: (set) => {
        this.rules.load(set);
        logger.info('rules loaded', { dir, rules: set.rules.length });
        this.bus.emit('rules.loaded', { count: set.rules.length, at: this.clock.now() });
      },
      onError: (errors) => {
        const lines = errors.map((e) => e.message);
        logger.error('rules not reloaded; the running set stays in force', {
          codes: errors.map((e) => e.code),
          errors: lines,
        });
        this.bus.emit('rules.rejected', { errors: lines, at: this.clock.now() });
      },
      onStatus: (status) => this.publishRulesStatus(status),
    });
    await this.watcher.start();
    const watcher = this.watcher;
    this.started.push({ name: 'rules watcher', stop: () => watcher.stop() });
    if (this.ruleFiles.dir !== undefined) {
      this.ruleFiles.start();
      this.started.push({ name: 'rule files', stop: () => this.ruleFiles.stop() });
    }
  }

  /** The rule traces, stored in `<data_dir>/rules.db`. */
  private startTraces(): void {
    const { config, logger } = this.deps;
    const opened = openTraceStore({
      dataDir: resolve(config.hub.data_dir),
      clock: this.clock,
      logger: logger.child('traces'),
      keep: config.traces.keep,
    });
    this.traces = opened.traces;
    this.started.push({
      name: 'rule traces',
      stop: () => {
        opened.close();
        this.traces = undefined;
      },
    });
  }

  /** The rules' load status on the retained topic `edgehub/rules/status`, for dashboards and editors. */
  private publishRulesStatus(status: RulesStatus): void {
    if (!this.broker.mqttAddress) return;
    this.broker
      .publish({ topic: RULES_STATUS_TOPIC, payload: JSON.stringify(status), qos: 1, retain: true })
      .catch((err: unknown) => {
        // A hub stopped while the status was being stored: the next start publishes it again.
        if (this.stopping) return;
        this.deps.logger.warn('publishing the rules status failed', { error: errorMessage(err) });
      });
  }

  /** After the broker, which their `in` routes publish through; stopped before it. */
  private async startConnectors(): Promise<void> {
    const { config, logger } = this.deps;
    const store = this.store;
    if (!store || !config.connectors.some((c) => c.enabled)) return;
    const connectors = new Connectors({
      configs: config.connectors,
      hubName: config.hub.name,
      clock: this.clock,
      logger: logger.child('connectors'),
      routes: this.outboxRoutes,
      store,
      publisher: this.broker,
      guard: (topic, payload, origin) => this.devices.guard(topic, payload, origin),
      units: () => this.units.of(this.registry.definitions),
      onEvent: (event) => onConnectorEvent(event, this.bus, this.rules, logger.child('connectors')),
    });
    this.connectors = connectors;
    this.started.push({ name: 'connectors', stop: () => connectors.stop() });
    await connectors.start();
  }

  private async startHttp(): Promise<void> {
    const { config, logger } = this.deps;
    if (config.http.port === null) return;
    const startedAt = this.clock.now();
    const stream = new LiveStream(DEFAULT_STREAM_LIMITS, () => this.clock.now());
    const ports = hubHttpPorts(this, {
      name: config.hub.name,
      stream,
      startedAt,
      rulesStatus: () => this.watcher?.status,
    });
    const http = new HttpApi({
      ...httpOptionsFromConfig(config),
      logger: logger.child('http'),
      clock: this.clock,
      ports,
      stream,
      extensions: hubApiExtensions({
        metrics: this.metrics,
        ruleFiles: this.ruleFiles,
        logger: logger.child('http'),
        more: this.deps.http,
      }),
    });
    const stopFeed = feedLiveStream({
      stream,
      bus: this.bus,
      messages: this.broker,
      device: (id) => allDevicesView(ports, id),
      clock: this.clock,
    });
    this.started.push({ name: 'live stream', stop: stopFeed });
    await http.start();
    this.http = http;
    this.started.push({ name: 'http', stop: () => http.stop() });
  }

  private async stopAll(): Promise<void> {
    this.bus.emit('hub.stopping', { at: this.clock.now() });
    this.broker.offOwner(this.rules);
    for (const component of this.started.splice(0).reverse()) {
      try {
        await component.stop();
      } catch (err) {
        this.deps.logger.error(`stopping ${component.name} failed`, {
          error: err instanceof Error ? err.message : String(err),
        });
      }
    }
  }
}
