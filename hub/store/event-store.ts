import Database from 'better-sqlite3';
import type { Database as SqliteDatabase } from 'better-sqlite3';
import type { Clock, Logger, MqttMessage, TimerHandle } from '../../kernel/index.js';
import { Backoff, EdgehubError, errorMessage } from '../../kernel/index.js';
import { AckHolds } from './ack-holds.js';
import { BatchEncoder } from './batch-encoder.js';
import type {
  Bucket,
  DownsampleQuery,
  EventHistory,
  EventQuery,
  LatestValue,
  StoredEvent,
} from './event-queries.js';
import { EventQueries } from './event-queries.js';
import { openWriter } from './open-writer.js';
import { Outbox } from './outbox.js';
import { configureReader, registerFunctions } from './schema.js';
import type { BatchMessage, OutboxRouteInit, WriteError, WriterReply } from './writer-protocol.js';
import { WriterThread } from './writer-thread.js';

export interface EventStoreOptions {
  /** Buffered events are written at least this often, ms. */
  flushIntervalMs: number;
  /** A batch is written as soon as this many events are buffered. */
  batchSize: number;
  /**
   * Events held in memory while writes fail (disk full, read-only card); beyond it the oldest are
   * dropped and counted as a gap. Default 100,000 (tens of MB with typical sensor payloads).
   */
  maxBufferedEvents?: number;
  /**
   * ms a QoS 1/2 acknowledgement waits for its batch to be committed before it is sent anyway
   * (and counted in `ackedBeforeStored`). Default 5,000.
   */
  ackTimeoutMs?: number;
  retention: {
    /** Events older than this are deleted, ms. */
    maxAgeMs: number;
    /** Live database bytes to stay under; the oldest events are deleted first. */
    maxSizeBytes: number;
    /** How often retention runs, ms. */
    checkEveryMs: number;
  };
}

/** The writing connection as a test sees it: pragmas run on the writer thread, synchronously. */
export interface WriterControl {
  pragma(source: string, options?: { simple?: boolean }): unknown;
}

/** Which events go to which connector's outbox; see hub/connectors. */
export interface OutboxRouting {
  /** Every `out` route; `match` answers with indices into it. */
  routes: OutboxRouteInit[];
  /** The routes a message goes to, or undefined for none. Called once per stored message. */
  match(message: MqttMessage): readonly number[] | undefined;
  /** Outbox rows committed, per route index. */
  committed(counts: readonly number[]): void;
}

export interface EventStoreDeps {
  /** The SQLite file, usually `eventsDbPath(dataDir)`. */
  file: string;
  clock: Clock;
  logger: Logger;
  options: EventStoreOptions;
  /** Connectors' `out` routes: their rows are written in the transaction of the event. */
  outbox?: OutboxRouting;
  testing?: {
    /** Called once the writer runs, e.g. to make writes fail with `query_only` or `max_page_count`. */
    onOpen?: (writer: WriterControl) => void;
    /** Events deleted per retention step; default 5,000. */
    retentionChunkRows?: number;
  };
}

export interface EventStoreStats {
  /** Events written since start(). */
  stored: number;
  /** Events in memory waiting to be written (on either thread). */
  buffered: number;
  /** Events lost: dropped when the buffer was full during a write outage, or unwritable at stop(). */
  dropped: number;
  /** Failed write attempts. */
  writeErrors: number;
  /** QoS 1/2 acknowledgements sent before their event was committed (write outage or ack timeout). */
  ackedBeforeStored: number;
}

export interface RetentionResult {
  deletedByAge: number;
  deletedBySize: number;
}

const DEFAULT_MAX_BUFFERED = 100_000;
const DEFAULT_RETENTION_CHUNK = 5_000;
const DEFAULT_ACK_TIMEOUT_MS = 5_000;
/** Rows per transaction when the writer works off a backlog after an outage. */
const MAX_ROWS_PER_TRANSACTION = 10_000;

/**
 * Every MQTT message as an event in SQLite. `append` only buffers on the broker's thread; batches
 * go to a writer thread that owns the writing connection and commits each group of batches in one
 * transaction, when `batchSize` events are waiting or every `flushIntervalMs` (an SD card survives
 * far fewer, larger writes better), or at once when an acknowledgement waits (`appendDurable`).
 * Queries run on the main thread over a read-only connection.
 */
export class EventStore implements EventHistory {
  private reader: SqliteDatabase | undefined;
  private queries: EventQueries | undefined;
  private writer: WriterThread | undefined;
  private readonly encoder = new BatchEncoder();
  private state: 'new' | 'running' | 'stopped' = 'new';
  /** Batches sealed at `batchSize` that wait for the writer, oldest first; the encoder holds the rest. */
  private sealed: { batch: BatchMessage; transfer: ArrayBuffer[] }[] = [];
  /** Events in `sealed` and in the encoder. */
  private pendingRows = 0;
  private readonly holds: AckHolds;
  /** What connectors have still to deliver, in this database. */
  readonly outbox: Outbox;
  private seq = 0;
  /** Rows handed to the writer and not yet committed or dropped. */
  private unsettled = 0;
  /** Batches handed to the writer and not yet settled, oldest first: seq and when handed over (epoch ms). */
  private readonly posted: { seq: number; atMs: number }[] = [];
  /** Payloads appended through `appendDurable`, so the broker's later `append` of the same message is skipped. */
  private readonly durable = new WeakSet<Buffer>();
  private readonly counts = { stored: 0, dropped: 0, writeErrors: 0 };
  /** Set while writes fail; the error is logged once per outage. */
  private outage: { sinceMs: number; dropped: number } | undefined;
  private warnedClosed = false;
  private immediate: NodeJS.Immediate | undefined;
  private flushTimer: TimerHandle | undefined;
  private retentionTimer: TimerHandle | undefined;
  private retentionRunning: Promise<void> | undefined;
  private retentionFailing = false;
  private stopped: Promise<void> | undefined;
  /** After a writer crash: no new writer before this (epoch ms). */
  private respawnAtMs = 0;
  /** 1 s after a crash, doubling up to a minute while writers keep crashing before they commit. */
  private readonly respawns = new Backoff({ initialMs: 1_000, maxMs: 60_000, factor: 2, jitter: 0 });

  constructor(private readonly deps: EventStoreDeps) {
    this.holds = new AckHolds(deps.clock, deps.options.ackTimeoutMs ?? DEFAULT_ACK_TIMEOUT_MS);
    this.outbox = new Outbox({
      reader: () => this.requireReader(),
      request: (make) => this.requireOpen().writer.request(make),
      now: () => deps.clock.now(),
    });
  }

  /** The event database. */
  get file(): string {
    return this.deps.file;
  }

  /** Opens (creating) the database and the writer thread, then starts the flush and retention timers. */
  start(): void {
    if (this.state === 'running') return;
    const { file } = this.deps;
    // Proves the file is ours and writable (or says why not) before anything is accepted.
    openWriter(file).close();
    const reader = new Database(file, { readonly: true, fileMustExist: true });
    configureReader(reader);
    registerFunctions(reader);
    this.reader = reader;
    this.queries = new EventQueries(reader);
    this.state = 'running';
    this.spawnWriter();
    this.scheduleFlush();
    this.scheduleRetention();
    this.deps.logger.debug('event store open', { file });
    const onOpen = this.deps.testing?.onOpen;
    if (onOpen) onOpen({ pragma: (source, o) => this.pragma(source, o?.simple ?? false) });
  }

  /** Buffers one message. Never throws and never touches the disk. */
  append(message: MqttMessage): void {
    // Already appended before its acknowledgement went out: the same payload comes back from routing.
    if (message.qos > 0 && this.durable.delete(message.payload)) return;
    if (!this.accepting()) return;
    this.buffer(message);
    if (this.sealed.length > 0) this.dispatch();
  }

  /**
   * Buffers a message whose acknowledgement (PUBACK/PUBREC) must wait until it is committed. Resolves
   * once it is, or with nothing to wait for (undefined) when the store cannot hold it: stopped, or
   * in a write outage, when waiting would only stall the publisher. A batch is written on the next
   * turn of the event loop, so every acknowledgement of one turn shares one commit.
   */
  appendDurable(message: MqttMessage): Promise<void> | undefined {
    this.durable.add(message.payload);
    if (!this.accepting()) return undefined;
    this.buffer(message);
    if (this.outage !== undefined || this.state !== 'running') {
      this.holds.notHeld();
      // A sealed batch goes to the writer, which keeps the newest rows of an outage up to the cap.
      if (this.sealed.length > 0) this.dispatch();
      return undefined;
    }
    const held = this.holds.hold();
    if (this.sealed.length > 0) this.dispatch();
    else this.immediate ??= setImmediate(() => this.dispatch());
    return held;
  }

  /** Writes everything buffered now and waits (blocking this thread) until the writer has tried. */
  flush(): void {
    const writer = this.writer;
    if (this.state !== 'running' || !writer) return;
    this.dispatch();
    if (this.outage) writer.post({ t: 'retry' });
    writer.call((id) => ({ t: 'sync', id }));
  }

  /** Like {@link flush}, without blocking: resolves once the writer has tried. */
  async flushed(): Promise<void> {
    const writer = this.writer;
    if (this.state !== 'running' || !writer) return;
    this.dispatch();
    if (this.outage) writer.post({ t: 'retry' });
    await writer.request((id) => ({ t: 'sync', id }));
  }

  /**
   * Resolves once the writer has answered everything sent to it so far, a running retention pass
   * included; hands it nothing new. Tests use it after advancing the clock.
   */
  async idle(): Promise<void> {
    const writer = this.writer;
    if (this.state !== 'running' || !writer) return;
    await writer.request((id) => ({ t: 'sync', id }));
    await this.retentionRunning;
  }

  /**
   * Resolves once everything appended so far is committed: true, or false when it is only held in
   * memory (a write outage) or the store is not running. What a connector waits for before it
   * acknowledges a message it brought in.
   */
  async stored(): Promise<boolean> {
    if (this.state !== 'running') return false;
    await this.flushed();
    // Appends made meanwhile do not count against it; a crashed writer took its rows with it.
    return this.state === 'running' && this.writer !== undefined && this.outage === undefined;
  }

  /** Writes every buffered event, then closes the database and the writer thread. Safe to call twice. */
  stop(): Promise<void> {
    if (this.stopped) return this.stopped;
    const wasRunning = this.state === 'running';
    this.state = 'stopped';
    this.deps.clock.clearTimer(this.flushTimer);
    this.deps.clock.clearTimer(this.retentionTimer);
    this.flushTimer = this.retentionTimer = undefined;
    if (this.immediate) clearImmediate(this.immediate);
    this.immediate = undefined;
    let lost = 0;
    const writer = this.writer;
    if (wasRunning && writer) {
      this.dispatchTo(writer);
      try {
        const closed = writer.call<Extract<WriterReply, { t: 'closed' }>>((id) => ({ t: 'close', id }));
        lost += closed.lost;
      } catch (err) {
        lost += this.unsettled;
        this.deps.logger.error(`closing the event writer failed: ${errorMessage(err)}`, {
          code: 'STORE_WRITE_FAILED',
          file: this.deps.file,
        });
      }
    }
    lost += this.pendingRows;
    this.sealed = [];
    this.encoder.reset();
    this.pendingRows = 0;
    this.unsettled = 0;
    this.holds.releaseAll();
    if (lost > 0) {
      this.counts.dropped += lost;
      this.deps.logger.error(`${lost} buffered events could not be written before closing; they are lost`, {
        code: 'STORE_WRITE_FAILED',
        file: this.deps.file,
        lost,
      });
    }
    if (this.reader?.open) this.reader.close();
    this.reader = this.queries = this.writer = undefined;
    this.stopped = writer ? writer.terminate() : Promise.resolve();
    return this.stopped;
  }

  stats(): EventStoreStats {
    return {
      ...this.counts,
      buffered: this.pendingRows + this.unsettled,
      ackedBeforeStored: this.holds.sentBeforeStored,
    };
  }

  /**
   * How long the oldest batch handed to the writer has waited for its commit, ms; 0 when none
   * waits. Events wait before that in memory for at most `flushIntervalMs` (or `batchSize` events).
   * Kept per batch, not per event, so `append` costs nothing more.
   */
  lagMs(): number {
    const oldest = this.posted[0];
    return oldest ? Math.max(0, this.deps.clock.now() - oldest.atMs) : 0;
  }

  /** Runs retention to completion now (the timer does the same in steps between batches). */
  enforceRetention(): RetentionResult {
    const writer = this.requireOpen().writer;
    this.flush();
    const result = writer.call<Extract<WriterReply, { t: 'retention' }>>((id) => ({
      t: 'retention',
      id,
      nowMs: this.deps.clock.now(),
      chunkRows: this.chunkRows(),
      untilDone: true,
    }));
    if (result.error) {
      throw new EdgehubError('STORE_WRITE_FAILED', `retention failed: ${result.error.message}`);
    }
    return { deletedByAge: result.deletedByAge, deletedBySize: result.deletedBySize };
  }

  /** Queries see every event appended so far: buffered events are written first. */
  query(query?: EventQuery): StoredEvent[] {
    const { queries } = this.requireOpen();
    this.flush();
    return queries.query(query);
  }

  history(device: string, since: number, until: number): StoredEvent[];
  history(device: string, metric: string | undefined, since: number, until: number): StoredEvent[];
  history(device: string, a: string | number | undefined, b: number, c?: number): StoredEvent[] {
    const { queries } = this.requireOpen();
    this.flush();
    if (typeof a === 'number') return queries.history(device, a, b);
    return queries.history(device, a, b, c ?? Number.MAX_SAFE_INTEGER);
  }

  latest(device?: string): LatestValue[] {
    const { queries } = this.requireOpen();
    this.flush();
    return queries.latest(device);
  }

  downsample(query: DownsampleQuery): Bucket[] {
    const { queries } = this.requireOpen();
    this.flush();
    return queries.downsample(query);
  }

  private accepting(): boolean {
    if (this.state !== 'stopped') return true;
    this.counts.dropped++;
    if (!this.warnedClosed) {
      this.warnedClosed = true;
      this.deps.logger.warn('event store is stopped; messages are no longer recorded', {
        file: this.deps.file,
      });
    }
    return false;
  }

  private buffer(message: MqttMessage): void {
    const cap = this.deps.options.maxBufferedEvents ?? DEFAULT_MAX_BUFFERED;
    this.encoder.add(message, this.deps.outbox?.match(message));
    this.pendingRows++;
    // Sealed at the cap at the latest, so what waits here stays under twice the cap.
    if (this.encoder.size >= Math.max(1, Math.min(this.deps.options.batchSize, cap))) {
      this.sealed.push(this.encoder.seal(++this.seq));
    }
    // The writer holds the outage backlog and drops its oldest; this bounds only what waits here
    // (while there is no writer), a sealed batch at a time.
    while (this.pendingRows > cap && this.sealed.length > 0) {
      const oldest = this.sealed.shift();
      const rows = oldest?.batch.count ?? 0;
      this.pendingRows -= rows;
      this.countDropped(rows);
    }
  }

  /** Hands everything buffered to the writer, in batches of at most `batchSize`. */
  private dispatch(): void {
    if (this.immediate) clearImmediate(this.immediate);
    this.immediate = undefined;
    if (this.state !== 'running') return;
    let writer = this.writer;
    if (!writer) {
      if (this.deps.clock.now() < this.respawnAtMs) return;
      writer = this.spawnWriter();
    }
    this.dispatchTo(writer);
  }

  private dispatchTo(writer: WriterThread): void {
    if (this.encoder.size > 0) this.sealed.push(this.encoder.seal(++this.seq));
    if (this.sealed.length === 0) return;
    const atMs = this.deps.clock.now();
    for (const { batch, transfer } of this.sealed) {
      writer.post(batch, transfer);
      this.unsettled += batch.count;
      this.posted.push({ seq: batch.seq, atMs });
    }
    this.sealed = [];
    this.pendingRows = 0;
    // Batches commit in order, so the acknowledgements need only wait for the last one.
    this.holds.attach(this.seq);
  }

  private onReply(reply: WriterReply): void {
    if (reply.t !== 'progress') return;
    this.counts.stored += reply.committed;
    if (reply.outboxed) this.deps.outbox?.committed(reply.outboxed);
    if (reply.committed > 0) this.respawns.reset();
    this.unsettled -= reply.committed + reply.dropped;
    this.holds.settled(reply.settledThrough);
    let settled = 0;
    while (settled < this.posted.length && (this.posted[settled]?.seq ?? Infinity) <= reply.settledThrough)
      settled++;
    if (settled > 0) this.posted.splice(0, settled);
    // The outage first, so rows the cap dropped count towards it.
    if (reply.error) this.writeFailed(reply.error, reply.backlog);
    if (reply.dropped > 0) this.countDropped(reply.dropped);
    if (!reply.error && this.outage && reply.backlog === 0) this.writeRecovered();
  }

  private countDropped(n: number): void {
    this.counts.dropped += n;
    const outage = this.outage;
    if (!outage) return;
    if (outage.dropped === 0) {
      this.deps.logger.warn('event buffer is full; dropping the oldest events until writing works again', {
        file: this.deps.file,
        maxBufferedEvents: this.deps.options.maxBufferedEvents ?? DEFAULT_MAX_BUFFERED,
      });
    }
    outage.dropped += n;
  }

  private writeFailed(error: WriteError, backlog: number): void {
    this.counts.writeErrors++;
    // Whatever waits for a commit now would wait for the whole outage; the events stay buffered.
    this.holds.releaseAll();
    if (this.outage) return;
    this.outage = { sinceMs: this.deps.clock.now(), dropped: 0 };
    this.deps.logger.error(
      `cannot write events to ${this.deps.file}: ${error.message}. Keeping events in memory and retrying every ${this.deps.options.flushIntervalMs} ms; check free space and that the data directory is writable`,
      {
        code: 'STORE_WRITE_FAILED',
        file: this.deps.file,
        sqliteCode: error.code,
        buffered: backlog + this.pendingRows,
      },
    );
  }

  private writeRecovered(): void {
    const outage = this.outage;
    if (!outage) return;
    this.outage = undefined;
    const fields = {
      file: this.deps.file,
      outageMs: this.deps.clock.now() - outage.sinceMs,
      dropped: outage.dropped,
    };
    if (outage.dropped > 0) {
      this.deps.logger.warn(
        `event writes work again; ${outage.dropped} events were dropped during the outage`,
        fields,
      );
    } else {
      this.deps.logger.info('event writes work again; no events were lost', fields);
    }
  }

  private spawnWriter(): WriterThread {
    const { file, options } = this.deps;
    const writer = new WriterThread(
      {
        file,
        maxBufferedEvents: options.maxBufferedEvents ?? DEFAULT_MAX_BUFFERED,
        maxRowsPerTransaction: Math.max(options.batchSize, MAX_ROWS_PER_TRANSACTION),
        outbox: this.deps.outbox?.routes ?? [],
        retention: { maxAgeMs: options.retention.maxAgeMs, maxSizeBytes: options.retention.maxSizeBytes },
      },
      {
        reply: (reply) => this.onReply(reply),
        exit: (code, error) => this.writerExited(writer, code, error),
      },
    );
    this.writer = writer;
    return writer;
  }

  /** A crashed writer takes what it held with it; the next dispatch starts a new one. */
  private writerExited(writer: WriterThread, code: number, error: Error | undefined): void {
    if (this.writer !== writer) return;
    this.writer = undefined;
    this.respawnAtMs = this.deps.clock.now() + this.respawns.next();
    const lost = this.unsettled;
    this.unsettled = 0;
    this.posted.length = 0;
    this.counts.dropped += lost;
    this.holds.releaseAll();
    this.deps.logger.error(`the event writer thread stopped (exit code ${code}); ${lost} events were lost`, {
      code: 'STORE_WRITE_FAILED',
      file: this.deps.file,
      error: error?.message,
    });
  }

  private pragma(source: string, simple: boolean): unknown {
    const writer = this.requireOpen().writer;
    const reply = writer.call<Extract<WriterReply, { t: 'pragma' }>>((id) => ({
      t: 'pragma',
      id,
      source,
      simple,
    }));
    if (reply.error) throw new EdgehubError('STORE_WRITE_FAILED', reply.error.message);
    return reply.result;
  }

  private scheduleFlush(): void {
    this.flushTimer = this.deps.clock.setTimer('store.flush', this.deps.options.flushIntervalMs, () => {
      this.scheduleFlush();
      this.dispatch();
      // During an outage the writer waits for this tick to try again.
      if (this.outage && this.writer) this.writer.post({ t: 'retry' });
    });
  }

  private scheduleRetention(): void {
    const delayMs = this.deps.options.retention.checkEveryMs;
    this.retentionTimer = this.deps.clock.setTimer('store.retention', delayMs, () => {
      this.retentionTimer = undefined;
      this.retentionRunning = this.runRetention().finally(() => {
        this.retentionRunning = undefined;
        if (this.state === 'running') this.scheduleRetention();
      });
    });
  }

  /** One retention pass on the writer thread, in bounded steps with batches written in between. */
  private async runRetention(): Promise<void> {
    const writer = this.writer;
    if (!writer) return;
    const run = await writer.request<Extract<WriterReply, { t: 'retention' }>>((id) => ({
      t: 'retention',
      id,
      nowMs: this.deps.clock.now(),
      chunkRows: this.chunkRows(),
      untilDone: false,
    }));
    if (run.error) {
      if (!this.retentionFailing) {
        this.deps.logger.warn(`retention could not delete old events: ${run.error.message}; retrying later`, {
          file: this.deps.file,
        });
      }
      this.retentionFailing = true;
      return;
    }
    this.retentionFailing = false;
    if (run.deletedByAge + run.deletedBySize > 0) {
      this.deps.logger.info('retention deleted old events', {
        deletedByAge: run.deletedByAge,
        deletedBySize: run.deletedBySize,
        steps: run.steps,
      });
    }
  }

  private chunkRows(): number {
    return this.deps.testing?.retentionChunkRows ?? DEFAULT_RETENTION_CHUNK;
  }

  private requireReader(): SqliteDatabase {
    if (this.state !== 'running' || !this.reader) {
      throw new EdgehubError('USAGE', 'the event store is not running; call start() first');
    }
    return this.reader;
  }

  private requireOpen(): { queries: EventQueries; writer: WriterThread } {
    const writer = this.writer ?? (this.state === 'running' ? this.spawnWriter() : undefined);
    if (this.state !== 'running' || !this.queries || !writer) {
      throw new EdgehubError('USAGE', 'the event store is not running; call start() first');
    }
    return { queries: this.queries, writer };
  }
}
