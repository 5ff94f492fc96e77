import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Database as SqliteDatabase } from 'better-sqlite3';
import { DeviceRuntime, type DeviceDefinition } from '../devices/index.js';
import {
  DirWatch,
  EdgehubError,
  EdgehubErrors,
  errorMessage,
  parseDuration,
  SystemClock,
  TypedBus,
  type Clock,
  type Logger,
} from '../kernel/index.js';
import {
  EXAMPLE_RULES_DIR,
  openRulesDb,
  readerPages,
  RuleDirWatcher,
  RuleEngine,
  rulesDbPath,
  SqliteRuleStateStore,
  TraceStore,
  type RulesStatus,
} from '../rules/index.js';
import { Broker, brokerOptionsFromConfig } from './broker/index.js';
import type { HubConfig } from './config/schema.js';
import { Connectors, OutboxRoutes, type ConnectorEvent } from './connectors/index.js';
import type { HubEvents } from './events.js';
import {
  allDevicesView,
  DEFAULT_STREAM_LIMITS,
  feedLiveStream,
  HttpApi,
  httpOptionsFromConfig,
  LiveStream,
  type ApiExtensions,
  type HttpApiPorts,
} from './http/index.js';
import { HubMetrics } from './metrics/index.js';
import { hubApiExtensions } from './api-extensions.js';
import { startHubNotifiers, type HubNotifiers } from './notifiers/index.js';
import { brokerDbPath, SqlitePersistence } from './persistence/index.js';
import { withDemoDevices } from './demo-devices.js';
import { HubStatus } from './hub-status.js';
import { ruleLoadOptions } from './rule-checks.js';
import { DEFAULT_KEPT_VERSIONS, RuleFiles, RuleFileVersions } from './rule-files/index.js';
import { DeviceRegistry, isDeviceFileName } from './registry/index.js';
import { Security, securityOptionsFromConfig } from './security/index.js';
import { durableAckHook, EventStore, eventsDbPath } from './store/index.js';
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
  /** The units the connectors' envelopes name, and the definitions they were read from. */
  private unitsOf:
    | { definitions: readonly DeviceDefinition[]; units: ReadonlyMap<string, ReadonlyMap<string, string>> }
    | undefined;
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
  /** The device reload in progress; reloads never overlap. */
  private deviceReload: Promise<boolean> = Promise.resolve(true);
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
          options: {
            flushIntervalMs: parseDuration(config.store.flush_interval),
            batchSize: config.store.batch_size,
            ackTimeoutMs: parseDuration(config.store.ack_timeout),
            maxBufferedEvents: config.store.max_buffered_events,
            retention: {
              maxAgeMs: parseDuration(config.store.retention.max_age),
              maxSizeBytes: config.store.retention.max_size_mb * 1024 * 1024,
              checkEveryMs: parseDuration(config.store.retention.check_every),
            },
          },
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
    const rulesLogger = logger.child('rules');
    const dataDir = resolve(config.hub.data_dir);
    const loopBreaker = config.rules.loop_breaker;
    // Opened when the engine first loads rules (in start), not here.
    this.ruleState = new SqliteRuleStateStore(() => {
      mkdirSync(dataDir, { recursive: true });
      return openRulesDb(rulesDbPath(dataDir));
    }, true);
    this.rules = new RuleEngine({
      clock: this.clock,
      publisher: this.broker,
      logger: rulesLogger,
      devices: this.registry,
      actuators: this.devices,
      // A rule's `forward:` goes into the connector's outbox; connectors start after the rules load.
      ...(config.connectors.some((c) => c.enabled) && {
        forwarder: {
          forward: (connector, message) =>
            this.connectors
              ? this.connectors.forward(connector, message)
              : Promise.reject(new Error('the connectors are not running')),
        },
      }),
      // A rule's `notify:` is queued with the notifiers; they start before the rules load.
      ...(Object.keys(config.notifiers).length > 0 && {
        notifier: {
          notify: (via, notification) =>
            this.notifiers
              ? this.notifiers.notifiers.notify(via, notification)
              : Promise.reject(new Error('the notifiers are not running')),
        },
      }),
      // Pending `for`s, delays, waits, cooldowns, variables and alerts survive restarts here.
      state: this.ruleState,
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
          if (config.demo) rulesLogger.info(`rule ${run.ruleId} fired`, { key: run.key });
          else rulesLogger.debug(`rule ${run.ruleId} fired`, { key: run.key });
        }
        this.traces?.record(run);
        this.bus.emit('rule.run', {
          ruleId: run.ruleId,
          outcome: run.outcome,
          time: run.startedAt,
          ...(run.reason !== null && { reason: run.reason }),
          ...(run.error !== null && { reason: run.error }),
        });
      },
      onEvent: (name, data) => {
        this.notifiers?.router.onEvent(name, data);
        if (name === 'rule.suspended')
          rulesLogger.warn('rule suspended by the loop breaker', { event: data });
        else rulesLogger.info(name, { event: data });
      },
    });
    this.metrics = new HubMetrics({
      sources: {
        broker: () => this.broker.stats(),
        subscriptions: () => this.broker.subscriptionCount(),
        sessions: () => this.persistence?.stats().sessions,
        store: () => this.store && { stats: this.store.stats(), lagMs: this.store.lagMs() },
        rules: () => this.rules.stats(),
        actuators: () => this.devices.stats(),
        devices: () => this.registry.list(),
        connectors: () => this.connectors?.list(),
        notifiers: () => this.notifiers?.notifiers.stats(),
      },
    });
    // Only a configured directory is edited: the demo's examples are part of the installed package.
    const editable = config.hub.rules_dir !== undefined ? resolve(config.hub.rules_dir) : undefined;
    this.ruleFiles = new RuleFiles({
      dir: editable,
      clock: this.clock,
      logger: logger.child('rule-files'),
      // Beside the traces in `<data_dir>/rules.db`: the data folder is what the service may write and what backups copy.
      versions: new RuleFileVersions({
        open: () => {
          mkdirSync(dataDir, { recursive: true });
          return openRulesDb(rulesDbPath(dataDir));
        },
        keep: DEFAULT_KEPT_VERSIONS,
      }),
      loadOptions: () => ruleLoadOptions(config, this.registry.definitions),
      inForce: () => this.rules.ruleSet,
      events: () => (this.store ? readerPages(this.store) : undefined),
      // At once rather than after the watcher's debounce, so a save answers with the load it caused.
      reload: async () => {
        await this.watcher?.reload();
        return this.watcher?.status;
      },
      // A preview replays on the hub's thread: between pages of events the broker gets its turn.
      betweenPages: () => new Promise<void>((resolve) => setImmediate(resolve)),
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
        this.reportDemoReadings();
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
    this.deviceReload = this.deviceReload.then(() => this.reloadDevicesNow());
    return this.deviceReload;
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
    const watch = new DirWatch({
      dir: resolve(dir),
      clock: this.clock,
      logger: this.deps.logger.child('devices'),
      what: 'device definitions',
      accepts: isDeviceFileName,
      onChange: () => void this.reloadDevices(),
      timerName: 'devices.reload-debounce',
    });
    watch.start();
    this.started.push({
      name: 'devices watcher',
      stop: async () => {
        watch.stop();
        await this.deviceReload;
      },
    });
  }

  private async reloadDevicesNow(): Promise<boolean> {
    if (this.stopping) return false;
    const logger = this.deps.logger.child('devices');
    let changes;
    try {
      changes = this.registry.reload();
    } catch (err) {
      const errors = err instanceof EdgehubErrors ? err.errors : [err];
      const lines = errors.map(errorMessage);
      logger.error('devices not reloaded; the running definitions stay in force', { errors: lines });
      this.bus.emit('devices.rejected', { errors: lines, at: this.clock.now() });
      return false;
    }
    const { added, removed, changed } = changes;
    if (added.length + removed.length + changed.length === 0) return true;
    const definitions = this.registry.definitions;
    try {
      await this.devices.update(definitions);
      await this.hubStatus?.devicesChanged(added, removed);
    } catch (err) {
      // The definitions are in force; devices of an adapter that failed to start are refused commands.
      logger.error('applying the reloaded devices failed', { error: errorMessage(err) });
    }
    logger.info('devices reloaded', { devices: definitions.length, added, removed, changed });
    this.bus.emit('devices.loaded', {
      count: definitions.length,
      added,
      removed,
      changed,
      at: this.clock.now(),
    });
    // Rules naming a removed device, or fitting a new one, are checked again as the hub checks them.
    await this.watcher?.reload();
    return true;
  }

  /** With `demo`, readings and actuator states go to the log, so a newcomer sees the rules work. */
  private reportDemoReadings(): void {
    const demoLogger = this.deps.logger.child('demo');
    const owner = { name: 'demo reporter' };
    this.bus.on(owner, 'device.reading', (r) => {
      // Numbers are readings, worth seeing each time; states (a fan's on/off) only when they change.
      if (typeof r.value !== 'number' && r.value === r.previous) return;
      const shown = typeof r.value === 'number' ? r.value.toFixed(1) : JSON.stringify(r.value);
      demoLogger.info(`${r.deviceId} ${r.metric} = ${shown}`);
    });
    this.started.push({ name: 'demo reporter', stop: () => this.bus.offOwner(owner) });
  }

  /** `edgehub/status`, `edgehub/stats` and the defined devices' availability, retained. */
  private async startHubStatus(): Promise<void> {
    const startedAt = this.clock.now();
    const status = new HubStatus({
      clock: this.clock,
      logger: this.deps.logger.child('status'),
      publisher: this.broker,
      bus: this.bus,
      devices: () => this.registry.list(),
      figures: () => ({
        uptime_s: Math.round((this.clock.now() - startedAt) / 1000),
        devices_online: this.registry.list().filter((d) => d.status === 'online').length,
        clients: this.broker.stats().clients,
        ...(this.store && { events_stored: this.store.stats().stored }),
      }),
    });
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

  /**
   * The trace store on `<data_dir>/rules.db`, on a connection of its own: the engine's state store
   * keeps its tables in the same file on another; both are in WAL mode, so neither waits long.
   */
  private startTraces(): void {
    const { config, logger } = this.deps;
    const dataDir = resolve(config.hub.data_dir);
    let db: SqliteDatabase;
    try {
      mkdirSync(dataDir, { recursive: true });
      db = openRulesDb(rulesDbPath(dataDir));
    } catch (err) {
      throw new EdgehubError(
        'DATA_DIR_UNWRITABLE',
        `cannot open the rules database in ${dataDir}: ${errorMessage(err)} (hub.data_dir)`,
        { cause: err },
      );
    }
    const traces = new TraceStore({
      db,
      clock: this.clock,
      logger: logger.child('traces'),
      keep: config.traces.keep,
    });
    traces.start();
    this.traces = traces;
    this.started.push({
      name: 'rule traces',
      stop: () => {
        traces.stop();
        this.traces = undefined;
        db.close();
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

  /** Each sensor's unit by device and metric, made again only when the definitions change. */
  private units(): ReadonlyMap<string, ReadonlyMap<string, string>> {
    const definitions = this.registry.definitions;
    if (this.unitsOf?.definitions === definitions) return this.unitsOf.units;
    const units = new Map<string, Map<string, string>>();
    for (const d of definitions)
      for (const s of d.sensors)
        if (s.unit !== undefined)
          units.set(d.id, (units.get(d.id) ?? new Map<string, string>()).set(s.metric, s.unit));
    this.unitsOf = { definitions, units };
    return units;
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
      units: () => this.units(),
      onEvent: (event) => this.connectorEvent(event),
    });
    this.connectors = connectors;
    this.started.push({ name: 'connectors', stop: () => connectors.stop() });
    await connectors.start();
  }

  /** On the bus and to the rules (`event: connector.down`); a dropped backlog also raises an alert. */
  private connectorEvent(event: ConnectorEvent): void {
    this.bus.emit(event.name, event.data);
    this.rules.handleEvent(event.name, event.data);
    const { id } = event.data;
    const raise = (key: string, severity: 'major' | 'minor', message: string): void => {
      this.rules.alerts
        .raise({ key, severity, message, source: `connector:${id}` })
        .catch((err: unknown) =>
          this.deps.logger.warn('raising an alert failed', { error: errorMessage(err) }),
        );
    };
    if (event.name === 'connector.backlog')
      raise(
        `connectors/${id}/backlog`,
        'major',
        `connector ${id} dropped ${event.data.dropped} messages at its backlog bound`,
      );
    else if (event.name === 'connector.down')
      raise(`connectors/${id}/down`, 'minor', `connector ${id} is down: ${event.data.error ?? 'unknown'}`);
    else
      this.rules.alerts
        .clear(`connectors/${id}/down`)
        .catch((err: unknown) =>
          this.deps.logger.warn('clearing an alert failed', { error: errorMessage(err) }),
        );
  }

  private async startHttp(): Promise<void> {
    const { config, logger } = this.deps;
    if (config.http.port === null) return;
    const startedAt = this.clock.now();
    const stream = new LiveStream(DEFAULT_STREAM_LIMITS, () => this.clock.now());
    const ports: HttpApiPorts = {
      rules: () => this.rules.stats(),
      rulesStatus: () => this.watcher?.status,
      traces: this.traces,
      memoryTrace: (id) => this.rules.trace(id),
      devices: this.registry,
      definitions: () => this.registry.definitions,
      command: (id, set, origin) => this.devices.command(id, set, origin),
      ...(this.store && { events: this.store }),
      now: () => this.clock.now(),
      postEvent: (name, data) => this.rules.handleEvent(name, data),
      alerts: {
        list: () => this.rules.alerts.list(),
        acknowledge: (key) => this.rules.acknowledgeAlert(key),
        clear: (key) => this.rules.alerts.clear(key),
      },
      ...(this.notifiers && { notifications: this.notifiers.notifiers }),
      connectors: {
        running: () => this.connectors,
        dead: (id, limit) => this.store?.outbox.dead(id, limit) ?? [],
        now: () => this.clock.now(),
      },
      health: () => ({
        name: config.hub.name,
        uptimeMs: this.clock.now() - startedAt,
        broker: this.broker.stats(),
        store: this.store?.stats() ?? null,
        brokerState: this.persistence?.stats() ?? null,
        rules: { loaded: this.rules.ruleSet.rules.length, ok: this.watcher?.status.ok ?? true },
        traces: this.traces?.stats() ?? null,
        connectors: this.connectors?.list() ?? [],
        stream: stream.stats(),
      }),
    };
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
