import { SHARE_ENV, type Worker } from 'node:worker_threads';
import { EdgehubError, type Clock, type Logger, type TimerHandle } from '../../kernel/index.js';
import { startWorker } from '../start-worker.js';
import type { ConnectorConfig } from './config-schema.js';
import type { PreparedBatch } from './prepared-batch.js';
import {
  unheldBatch,
  unitKey,
  unpackBatch,
  type ThreadInit,
  type ThreadReply,
  type ThreadRequest,
} from './thread-protocol.js';
import type { OutMessage, SendOutcome } from './transport.js';

/** With no connector's client on it, a thread not asked for a batch this long is ended, ms. */
const IDLE_MS = 60_000;

export interface ConnectorsThreadDeps {
  /** The event database. */
  file: string;
  hub: string;
  configs: readonly ConnectorConfig[];
  /** Each metric's unit by device and metric; a new map whenever the definitions change. */
  units(): ReadonlyMap<string, ReadonlyMap<string, string>>;
  clock: Clock;
  logger: Logger;
}

type Settled = Exclude<ThreadReply, { t: 'lost' } | { t: 'log' } | { t: 'failed' }>;

interface Waiting {
  resolve(reply: Settled): void;
  reject(err: Error): void;
}

/**
 * The main thread's handle on the connectors' thread (connectors-worker.ts), started on the first
 * request. It prepares batches, and a connector that only sends moves its client onto it once a
 * backlog builds up, to send from there (`connect`, `send`, `close`). When no connector's client
 * lives on it, it ends after a minute without a batch to prepare, so idle connectors cost no
 * thread. A thread that fails is not started again: `usable` turns false, every connection it held
 * is reported lost, and the connectors go on from the main thread, as before it existed.
 */
export class ConnectorsThread {
  private worker: Worker | undefined;
  private readonly waiting = new Map<number, Waiting>();
  private nextId = 1;
  private sentUnits: unknown;
  private idle: TimerHandle | undefined;
  private failed = false;
  private stopped = false;
  /** Connectors connected on the thread, with what to call when their connection is lost. */
  private readonly connected = new Map<string, (err: Error) => void>();
  /** Connectors whose client lives on the thread, connected or retrying: the thread stays for them. */
  private readonly attached = new Set<string>();

  constructor(private readonly deps: ConnectorsThreadDeps) {}

  get running(): boolean {
    return this.worker !== undefined;
  }

  get usable(): boolean {
    return !this.failed && !this.stopped;
  }

  /** The batch after `afterId`, formatted on the thread; `hold` keeps it there for {@link send}. */
  async prepare(config: ConnectorConfig, afterId: number, hold = false): Promise<PreparedBatch> {
    const reply = await this.request({ t: 'prepare', connector: config.id, afterId, hold });
    if (reply.t === 'prepared') return unpackBatch(reply.batch, config.out);
    if (reply.t === 'held') return unheldBatch(reply.batch);
    throw new Error(`unexpected reply ${reply.t} to a prepare`);
  }

  /** The connector's client lives on the thread from now on: the thread does not end while idle. */
  attach(config: ConnectorConfig): void {
    this.attached.add(config.id);
  }

  /** Connects the connector's client on the thread; `lost` hears of the connection's end. */
  async connect(config: ConnectorConfig, lost: (err: Error) => void): Promise<void> {
    this.connected.delete(config.id);
    await this.request({ t: 'connect', connector: config.id });
    this.connected.set(config.id, lost);
  }

  /** Sends the held batch `messages` stand for (its rows, as {@link prepare} gave them). */
  async send(config: ConnectorConfig, messages: readonly OutMessage[]): Promise<SendOutcome[]> {
    const first = messages[0]?.rowId ?? 0;
    const reply = await this.request({
      t: 'send',
      connector: config.id,
      first,
      count: messages.length,
    });
    if (reply.t !== 'sent') throw new Error(`unexpected reply ${reply.t} to a send`);
    return reply.outcomes;
  }

  async close(config: ConnectorConfig): Promise<void> {
    this.connected.delete(config.id);
    if (!this.worker) return;
    await this.request({ t: 'close', connector: config.id });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.end();
  }

  private request(body: DistributiveOmit<Exclude<ThreadRequest, { t: 'units' }>, 'id'>): Promise<Settled> {
    if (!this.usable)
      return Promise.reject(new EdgehubError('CONNECTOR_THREAD', "the connectors' thread is not running"));
    const worker = this.worker ?? this.start();
    const units = this.deps.units();
    if (units !== this.sentUnits) {
      this.sentUnits = units;
      const flat: [string, string][] = [];
      for (const [device, metrics] of units)
        for (const [metric, unit] of metrics) flat.push([unitKey(device, metric), unit]);
      worker.postMessage({ t: 'units', units: flat } satisfies ThreadRequest);
    }
    this.armIdle();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      worker.postMessage({ ...body, id });
    });
  }

  /** The idle end, put off by every request; never while a connector's client lives on the thread. */
  private armIdle(): void {
    this.deps.clock.clearTimer(this.idle);
    if (this.attached.size > 0) return;
    this.idle = this.deps.clock.setTimer('connectors.thread.idle', IDLE_MS, () => void this.end());
  }

  private start(): Worker {
    const init: ThreadInit = {
      file: this.deps.file,
      hub: this.deps.hub,
      connectors: this.deps.configs.filter((c) => c.enabled),
    };
    const worker = startWorker(import.meta.url, 'connectors-worker', {
      workerData: init,
      name: 'edgehub-connectors',
      // A secret named by `password_env` is read at each connection, from the hub's own environment.
      env: SHARE_ENV,
    });
    this.worker = worker;
    this.sentUnits = undefined;
    let firstError: Error | undefined;
    worker.on('message', (reply: ThreadReply) => this.dispatch(reply));
    worker.on('error', (err) => (firstError ??= err));
    worker.once('exit', (code) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      this.failed = true;
      const reason = firstError?.message ?? `exit code ${code}`;
      this.deps.logger.warn("the connectors' thread ended; connectors go on from the main thread", {
        error: reason,
      });
      const err = new EdgehubError('CONNECTOR_THREAD', `the connectors' thread ended: ${reason}`);
      this.rejectAll(err);
      const lost = [...this.connected.values()];
      this.connected.clear();
      for (const l of lost) l(err);
    });
    return worker;
  }

  private dispatch(reply: ThreadReply): void {
    if (reply.t === 'log') {
      this.deps.logger[reply.level](reply.msg, reply.fields);
      return;
    }
    if (reply.t === 'lost') {
      const lost = this.connected.get(reply.connector);
      this.connected.delete(reply.connector);
      lost?.(new Error(reply.message));
      return;
    }
    const waiter = this.waiting.get(reply.id);
    if (!waiter) return;
    this.waiting.delete(reply.id);
    if (reply.t === 'failed') waiter.reject(new Error(reply.message));
    else waiter.resolve(reply);
  }

  private rejectAll(err: Error): void {
    for (const w of this.waiting.values()) w.reject(err);
    this.waiting.clear();
  }

  /** Ends the thread; what waits on it is refused. */
  private async end(): Promise<void> {
    this.deps.clock.clearTimer(this.idle);
    const worker = this.worker;
    if (!worker) return;
    this.worker = undefined;
    this.connected.clear();
    this.rejectAll(new EdgehubError('CONNECTOR_THREAD', "the connectors' thread was stopped"));
    await worker.terminate();
  }
}

/** `Omit` over each member of a union. */
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
