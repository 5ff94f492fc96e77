import type { Worker } from 'node:worker_threads';
import { EdgehubError, type Clock, type Logger, type TimerHandle } from '../../kernel/index.js';
import { startWorker } from '../start-worker.js';
import type { ConnectorConfig } from './config-schema.js';
import type { PreparedBatch } from './prepared-batch.js';
import {
  unitKey,
  unpackBatch,
  type PrepareInit,
  type PrepareReply,
  type PrepareRequest,
} from './prepare-protocol.js';

/** A thread not asked for a batch this long is ended, its memory given back, ms. */
const IDLE_MS = 60_000;

export interface PrepareThreadDeps {
  /** The event database. */
  file: string;
  hub: string;
  configs: readonly ConnectorConfig[];
  /** Each metric's unit by device and metric; a new map whenever the definitions change. */
  units(): ReadonlyMap<string, ReadonlyMap<string, string>>;
  clock: Clock;
  logger: Logger;
}

interface Waiting {
  config: ConnectorConfig;
  resolve(batch: PreparedBatch): void;
  reject(err: Error): void;
}

/**
 * The main thread's handle on the prepare thread (prepare-worker.ts), started on the first batch
 * asked of it and ended after a minute without one, so idle connectors cost no thread. A thread
 * that fails is not started again: `usable` turns false and the connectors prepare on the main
 * thread, as before it existed.
 */
export class PrepareThread {
  private worker: Worker | undefined;
  private readonly waiting = new Map<number, Waiting>();
  private nextId = 1;
  private sentUnits: unknown;
  private idle: TimerHandle | undefined;
  private failed = false;
  private stopped = false;

  constructor(private readonly deps: PrepareThreadDeps) {}

  get running(): boolean {
    return this.worker !== undefined;
  }

  get usable(): boolean {
    return !this.failed && !this.stopped;
  }

  prepare(config: ConnectorConfig, afterId: number): Promise<PreparedBatch> {
    const worker = this.worker ?? this.start();
    const units = this.deps.units();
    if (units !== this.sentUnits) {
      this.sentUnits = units;
      const flat: [string, string][] = [];
      for (const [device, metrics] of units)
        for (const [metric, unit] of metrics) flat.push([unitKey(device, metric), unit]);
      worker.postMessage({ t: 'units', units: flat } satisfies PrepareRequest);
    }
    this.deps.clock.clearTimer(this.idle);
    this.idle = this.deps.clock.setTimer('connectors.prepare-thread.idle', IDLE_MS, () => void this.end());
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { config, resolve, reject });
      worker.postMessage({ t: 'prepare', id, connector: config.id, afterId } satisfies PrepareRequest);
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.end();
  }

  private start(): Worker {
    const init: PrepareInit = {
      file: this.deps.file,
      hub: this.deps.hub,
      connectors: this.deps.configs.map((c) => ({
        id: c.id,
        type: c.type,
        out: c.out,
        batchSize: c.batch_size,
      })),
    };
    const worker = startWorker(import.meta.url, 'prepare-worker', {
      workerData: init,
      name: 'edgehub-connectors-prepare',
    });
    this.worker = worker;
    this.sentUnits = undefined;
    let firstError: Error | undefined;
    worker.on('message', (reply: PrepareReply) => this.dispatch(reply));
    worker.on('error', (err) => (firstError ??= err));
    worker.once('exit', (code) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      this.failed = true;
      const reason = firstError?.message ?? `exit code ${code}`;
      this.deps.logger.warn('the connectors prepare thread ended; batches are prepared on the main thread', {
        error: reason,
      });
      this.rejectAll(
        new EdgehubError('CONNECTOR_PREPARE_THREAD', `the connectors prepare thread ended: ${reason}`),
      );
    });
    return worker;
  }

  private dispatch(reply: PrepareReply): void {
    const waiter = this.waiting.get(reply.id);
    if (!waiter) return;
    this.waiting.delete(reply.id);
    if (reply.t === 'failed') waiter.reject(new Error(reply.message));
    else waiter.resolve(unpackBatch(reply.batch, waiter.config.out));
  }

  private rejectAll(err: Error): void {
    for (const w of this.waiting.values()) w.reject(err);
    this.waiting.clear();
  }

  /** Ends the thread once nothing waits on it. */
  private async end(): Promise<void> {
    this.deps.clock.clearTimer(this.idle);
    const worker = this.worker;
    if (!worker) return;
    this.worker = undefined;
    this.rejectAll(new EdgehubError('CONNECTOR_PREPARE_THREAD', 'the connectors prepare thread was stopped'));
    await worker.terminate();
  }
}
