import {
  EdgehubError,
  errorMessage,
  type Clock,
  type CommandResult,
  type Logger,
  type OutgoingMessage,
  type TimerHandle,
} from '../../kernel/index.js';
import type { Outbox, OutboxEntry } from '../store/index.js';
import type { ConnectorConfig, ConnectorType, InRouteConfig } from './config-schema.js';
import { ConnectorRunner, type ConnectorRunnerStatus, type ConnectorState } from './connector-runner.js';
import { OutFormatter } from './format.js';
import { prepareBatch, type BatchPreparer, type PreparedBatch } from './prepared-batch.js';
import { ConnectorsThread } from './connectors-thread.js';
import { THREAD_AFTER_ROWS, ThreadedConnector } from './threaded-connector.js';
import { CONNECTOR_STATUS_ROOT, type OutboxRoutes } from './outbox-routes.js';
import { destinationOf } from './destinations.js';
import { fillTemplate, type ConnectorTransport, type InMessage } from './transport.js';
import { makeTransport } from './transports.js';

/** Replay rows written per transaction. */
const REPLAY_CHUNK = 5000;
/** How often backlog bounds are checked and the delivery rate sampled, ms. */
const TICK_MS = 1000;
/** The window `deliveredPerSec` is averaged over, ms. */
const RATE_WINDOW_MS = 10_000;

/** One connector as the API, the CLI and the status topics show it. */
export interface ConnectorStatus {
  id: string;
  type: ConnectorType;
  state: ConnectorState;
  since: string;
  lastError: string | null;
  nextAttemptAt: string | null;
  /** Messages waiting, and the age of the oldest in ms (null when none waits). */
  backlog: number;
  backlogAgeMs: number | null;
  inFlight: number;
  matched: number;
  delivered: number;
  deliveredPerSec: number;
  dropped: number;
  /** Dead letters kept (`edgehub connectors dead ID`). */
  dead: number;
  deadLettered: number;
  resent: number;
  /** Messages `in` routes brought in, and commands among them the safety envelope refused. */
  received: number;
  refused: number;
}

/** What a connector tells the rest of the hub: lost and back, and backlog dropped. */
export type ConnectorEvent =
  | { name: 'connector.down'; data: { id: string; error: string | null; at: number } }
  | { name: 'connector.up'; data: { id: string; at: number } }
  | { name: 'connector.backlog'; data: { id: string; dropped: number; backlog: number; at: number } };

export interface ConnectorsDeps {
  configs: readonly ConnectorConfig[];
  hubName: string;
  clock: Clock;
  logger: Logger;
  routes: OutboxRoutes;
  /** The event store: its outbox, and whether what was appended is committed. */
  store: { outbox: Outbox; stored(): Promise<boolean>; file: string };
  publisher: { publish(message: OutgoingMessage): Promise<void> };
  /** The actuator safety envelope, for commands an `in` route brings. */
  guard(topic: string, payload: Buffer, origin: string): CommandResult | undefined;
  /** Each metric's unit by device and metric; a new map whenever the device definitions change. */
  units(): ReadonlyMap<string, ReadonlyMap<string, string>>;
  onEvent(event: ConnectorEvent): void;
}

interface Running {
  config: ConnectorConfig;
  runner: ConnectorRunner;
  received: number;
  refused: number;
  /** connector.down was told and connector.up not yet. */
  down: boolean;
  /** (epoch ms, delivered) samples over the rate window. */
  samples: [number, number][];
}

/**
 * Every configured connector: a runner per connector draining its outbox, the `in` routes
 * publishing onto local topics, the status on `edgehub/connectors/<id>` (retained), and the events
 * the rules can react to.
 */
export class Connectors {
  private readonly running = new Map<string, Running>();
  private tick: TimerHandle | undefined;
  private stopped = false;
  private readonly thread: ConnectorsThread;

  constructor(private readonly deps: ConnectorsDeps) {
    this.thread = new ConnectorsThread({
      file: deps.store.file,
      hub: deps.hubName,
      configs: deps.configs,
      units: () => deps.units(),
      clock: deps.clock,
      logger: deps.logger,
    });
  }

  async start(): Promise<void> {
    for (const config of this.deps.configs) {
      if (!config.enabled) continue;
      if (config.tls?.verify === false)
        this.deps.logger.warn('TLS certificate checks are off for this connector', { connector: config.id });
      const { transport, preparer } = await this.client(config);
      const entry: Running = {
        config,
        received: 0,
        refused: 0,
        down: false,
        samples: [],
        runner: new ConnectorRunner({
          config,
          transport,
          outbox: this.deps.store.outbox,
          preparer,
          clock: this.deps.clock,
          logger: this.deps.logger,
          inbound: (route, message) => void this.receive(entry, route, message),
          onState: (status) => this.stateChanged(entry, status),
          onDropped: (dropped, status) => {
            const at = this.deps.clock.now();
            this.deps.onEvent({
              name: 'connector.backlog',
              data: { id: config.id, dropped, backlog: status.counters.backlog, at },
            });
            this.publishStatus(entry);
          },
        }),
      };
      this.running.set(config.id, entry);
      this.deps.routes.onCommitted(config.id, (rows) => entry.runner.added(rows));
      entry.runner.start();
    }
    if (this.running.size > 0) this.armTick();
  }

  list(): ConnectorStatus[] {
    return [...this.running.values()].map((r) => this.statusOf(r));
  }

  status(id: string): ConnectorStatus | undefined {
    const entry = this.running.get(id);
    return entry && this.statusOf(entry);
  }

  /** A rule's `forward`: a composed message into the connector's outbox, behind what waits. */
  async forward(
    id: string,
    message: { destination: string; key: string | null; payload: Buffer },
  ): Promise<void> {
    const entry = this.require(id);
    const row: OutboxEntry = {
      connector: id,
      route: -1,
      key: message.key,
      time: this.deps.clock.now(),
      message: message.payload,
      destination: message.destination,
    };
    const rows = await this.deps.store.outbox.add([row]);
    entry.runner.added(rows);
  }

  /**
   * The stored events since `sinceMs` that the connector's `out` routes select, into its outbox
   * again (after a consumer lost them), behind what waits; how many. They keep their event ids, so
   * a consumer that still has some drops them.
   */
  async replay(id: string, sinceMs: number): Promise<number> {
    const entry = this.require(id);
    const rows = this.deps.routes.replayRows(id, this.deps.store.outbox.eventsSince(sinceMs));
    let n = 0;
    for (let i = 0; i < rows.length; i += REPLAY_CHUNK) {
      n += await this.deps.store.outbox.replay(id, rows.slice(i, i + REPLAY_CHUNK));
    }
    entry.runner.added(n);
    return n;
  }

  /** Dead letters (all when `ids` is empty) sent again; how many. */
  async revive(id: string, ids: number[] = []): Promise<number> {
    const entry = this.require(id);
    const n = await this.deps.store.outbox.revive(id, ids);
    entry.runner.added(n);
    return n;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.deps.clock.clearTimer(this.tick);
    await Promise.all(
      [...this.running.values()].map(async (r) => {
        await r.runner.stop();
      }),
    );
    await this.thread.stop();
  }

  /**
   * A connector's client and batches, here while little waits (an idle connector costs no second
   * V8 isolate), on the connectors' thread once a backlog builds up, so the broker and the rules
   * do not wait on a client library's encoding or its garbage. One that only sends moves its client
   * there too (threaded-connector.ts); one with `in` routes keeps its client here, where what comes
   * in is published, and only its batches are read and formatted on the thread.
   */
  private async client(
    config: ConnectorConfig,
  ): Promise<{ transport: ConnectorTransport; preparer: BatchPreparer }> {
    const formatter = new OutFormatter(
      {
        hub: this.deps.hubName,
        unitOf: (device, metric) => this.deps.units().get(device)?.get(metric) ?? null,
        destination: (route, fields) => destinationOf(config.type, route, fields),
      },
      config.out,
    );
    const here = (afterId: number): PreparedBatch =>
      prepareBatch(this.deps.store.outbox, formatter, config.id, afterId, config.batch_size);
    const thread = this.thread;
    if (!('in' in config) || config.in.length === 0) {
      const threaded = new ThreadedConnector(
        config,
        this.deps.clock,
        thread,
        here,
        () => makeTransport(config, this.deps),
        () => this.running.get(config.id)?.runner.status().counters.backlog ?? 0,
      );
      return { transport: threaded, preparer: threaded };
    }
    const preparer: BatchPreparer = {
      prepare: async (afterId, waiting) => {
        if (!thread.usable || (!thread.running && waiting < THREAD_AFTER_ROWS)) return here(afterId);
        try {
          return await thread.prepare(config, afterId);
        } catch {
          // The thread ended (said once in the log by the thread's handle): this batch is read here.
          return here(afterId);
        }
      },
    };
    return { transport: await makeTransport(config, this.deps), preparer };
  }

  private require(id: string): Running {
    const entry = this.running.get(id);
    if (!entry) throw new EdgehubError('CONNECTOR_UNKNOWN', `no connector ${id} is configured`);
    return entry;
  }

  /**
   * A message from the remote: published on its local topic (a command passes the safety envelope
   * first), and acknowledged to the remote only once the event store committed it.
   */
  private async receive(entry: Running, route: InRouteConfig, message: InMessage): Promise<void> {
    const id = entry.config.id;
    const topic = this.localTopic(entry.config, route, message);
    entry.received++;
    const verdict = this.deps.guard(topic, message.payload, `connector:${id}`);
    if (verdict && !verdict.accepted) {
      // Refused for good (the refusal is logged and published by the envelope): taken off the remote.
      entry.refused++;
      await message.ack().catch(() => undefined);
      return;
    }
    this.deps.routes.markInbound(message.payload, id);
    try {
      await this.deps.publisher.publish({ topic, payload: message.payload, qos: 1 });
      if (!(await this.deps.store.stored())) throw new Error('the event store is not writing');
    } catch (err) {
      this.deps.logger.warn('a message from the remote could not be stored; it is left to the remote', {
        connector: id,
        topic,
        error: errorMessage(err),
      });
      await message.nack().catch(() => undefined);
      return;
    }
    await message.ack().catch((err: unknown) => {
      this.deps.logger.warn('acknowledging a message to the remote failed; it may come again', {
        connector: id,
        error: errorMessage(err),
      });
    });
  }

  private localTopic(config: ConnectorConfig, route: InRouteConfig, message: InMessage): string {
    let source = message.source;
    if ('strip_prefix' in route && route.strip_prefix !== '' && source.startsWith(route.strip_prefix))
      source = source.slice(route.strip_prefix.length);
    const template = route.local_topic ?? '{topic}';
    return fillTemplate(template, {
      device: null,
      metric: null,
      topic: source,
      key: message.key,
      hub: this.deps.hubName,
    });
  }

  private stateChanged(entry: Running, status: ConnectorRunnerStatus): void {
    const at = this.deps.clock.now();
    const id = entry.config.id;
    if (status.state === 'connected') {
      if (entry.down) this.deps.onEvent({ name: 'connector.up', data: { id, at } });
      entry.down = false;
    } else if ((status.state === 'retrying' || status.state === 'failing') && !entry.down) {
      entry.down = true;
      this.deps.onEvent({ name: 'connector.down', data: { id, error: status.lastError, at } });
    }
    this.publishStatus(entry);
  }

  private publishStatus(entry: Running): void {
    if (this.stopped) return;
    const status = this.statusOf(entry);
    this.deps.publisher
      .publish({
        topic: `${CONNECTOR_STATUS_ROOT}${entry.config.id}`,
        payload: JSON.stringify(status),
        qos: 1,
        retain: true,
      })
      .catch((err: unknown) => {
        if (!this.stopped)
          this.deps.logger.debug('publishing a connector status failed', { error: errorMessage(err) });
      });
  }

  private statusOf(entry: Running): ConnectorStatus {
    const s = entry.runner.status();
    const c = s.counters;
    const now = this.deps.clock.now();
    const oldest = c.backlog > 0 ? this.deps.store.outbox.oldest(entry.config.id) : null;
    return {
      id: entry.config.id,
      type: entry.config.type,
      state: s.state,
      since: new Date(s.since).toISOString(),
      lastError: s.lastError,
      nextAttemptAt: s.nextAttemptAt === null ? null : new Date(s.nextAttemptAt).toISOString(),
      backlog: c.backlog,
      backlogAgeMs: oldest === null ? null : Math.max(0, now - oldest),
      inFlight: c.inFlight,
      matched: c.matched,
      delivered: c.delivered,
      deliveredPerSec: rate(entry.samples, now, c.delivered),
      dropped: c.dropped,
      dead: this.deps.store.outbox.deadCount(entry.config.id),
      deadLettered: c.deadLettered,
      resent: c.resent,
      received: entry.received,
      refused: entry.refused,
    };
  }

  private armTick(): void {
    this.tick = this.deps.clock.setTimer('connectors.tick', TICK_MS, () => {
      if (this.stopped) return;
      const now = this.deps.clock.now();
      for (const entry of this.running.values()) {
        entry.samples.push([now, entry.runner.status().counters.delivered]);
        while (entry.samples.length > 0 && (entry.samples[0]?.[0] ?? now) < now - RATE_WINDOW_MS)
          entry.samples.shift();
        entry.runner.trim().catch((err: unknown) => {
          this.deps.logger.error('trimming a connector backlog failed', {
            connector: entry.config.id,
            error: errorMessage(err),
          });
        });
      }
      this.armTick();
    });
  }
}

/** Messages per second over the samples' window. */
function rate(samples: readonly [number, number][], now: number, delivered: number): number {
  const first = samples[0];
  if (!first || now <= first[0]) return 0;
  return Math.round(((delivered - first[1]) * 1000) / (now - first[0]));
}
