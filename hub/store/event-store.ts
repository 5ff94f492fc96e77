import { accessSync, constants, existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import type { Database as SqliteDatabase, Statement, Transaction } from 'better-sqlite3';
import type { Clock, Logger, MqttMessage, TimerHandle } from '../../kernel/index.js';
import { EdgehubError, errorMessage } from '../../kernel/index.js';
import { parseDeviceTopic } from '../../devices/index.js';
import type { EventHistory, EventQuery, LatestValue, StoredEvent } from './event-queries.js';
import { EventQueries } from './event-queries.js';
import { jsonText, latestValue } from './payload.js';
import { Retention } from './retention.js';
import { configureWriter, createSchema, registerFunctions } from './schema.js';

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
  retention: {
    /** Events older than this are deleted, ms. */
    maxAgeMs: number;
    /** Live database bytes to stay under; the oldest events are deleted first. */
    maxSizeBytes: number;
    /** How often retention runs, ms. */
    checkEveryMs: number;
  };
}

export interface EventStoreDeps {
  /** The SQLite file, usually `eventsDbPath(dataDir)`. */
  file: string;
  clock: Clock;
  logger: Logger;
  options: EventStoreOptions;
  testing?: {
    /** Called with the raw handle after the schema exists, e.g. to make writes fail. */
    onOpen?: (db: SqliteDatabase) => void;
    /** Events deleted per retention step; default 5,000. */
    retentionChunkRows?: number;
  };
}

export interface EventStoreStats {
  /** Events written since start(). */
  stored: number;
  /** Events in memory waiting to be written. */
  buffered: number;
  /** Events lost: dropped when the buffer was full during a write outage, or unwritable at stop(). */
  dropped: number;
  /** Failed write attempts. */
  writeErrors: number;
}

export interface RetentionResult {
  deletedByAge: number;
  deletedBySize: number;
}

/** What a topic means for the store; cached because a fleet publishes the same topics over and over. */
interface TopicInfo {
  deviceId: string | null;
  metric: string | null;
  /** Key into `latest` for readings and actuator states; null for commands and other topics. */
  latestKey: string | null;
}

interface LatestEntry {
  deviceId: string;
  metric: string;
  message: MqttMessage;
  json: string | null;
  eventId: number;
}

const DEFAULT_MAX_BUFFERED = 100_000;
const DEFAULT_RETENTION_CHUNK = 5_000;
/** Distinct topics remembered; past it the cache starts over rather than grow without bound. */
const TOPIC_CACHE_SIZE = 10_000;

/**
 * Every MQTT message as an event in SQLite. `append` only buffers; batches are written in one
 * transaction each, when `batchSize` events are waiting or every `flushIntervalMs`, because an SD
 * card survives far fewer, larger writes better than one write per message.
 */
export class EventStore implements EventHistory {
  private db: SqliteDatabase | undefined;
  private queries: EventQueries | undefined;
  private retention: Retention | undefined;
  private writeBatch: Transaction<(start: number, count: number) => void> | undefined;
  private state: 'new' | 'running' | 'stopped' = 'new';
  /** Buffered events live in `queue[head..]`; dropping the oldest only moves `head`. */
  private queue: (MqttMessage | undefined)[] = [];
  private head = 0;
  private readonly topics = new Map<string, TopicInfo>();
  private readonly counts = { stored: 0, dropped: 0, writeErrors: 0 };
  /** Set while writes fail; the error is logged once per outage. */
  private outage: { sinceMs: number; dropped: number } | undefined;
  private warnedClosed = false;
  private flushTimer: TimerHandle | undefined;
  private retentionTimer: TimerHandle | undefined;
  private retentionRun = { deletedByAge: 0, deletedBySize: 0, steps: 0, failing: false };

  constructor(private readonly deps: EventStoreDeps) {}

  /** Opens (creating) the database, then starts the flush and retention timers. */
  start(): void {
    if (this.state === 'running') return;
    const db = openWriter(this.deps.file);
    this.deps.testing?.onOpen?.(db);
    this.db = db;
    this.queries = new EventQueries(db);
    this.retention = new Retention(db, this.deps.options.retention);
    this.writeBatch = this.prepareWrite(db);
    this.state = 'running';
    this.scheduleFlush();
    this.scheduleRetention(this.deps.options.retention.checkEveryMs);
    this.deps.logger.debug('event store open', { file: this.deps.file });
  }

  /** Buffers one message. Never throws and never touches the disk unless a batch is full. */
  append(message: MqttMessage): void {
    if (this.state === 'stopped') {
      this.counts.dropped++;
      if (!this.warnedClosed) {
        this.warnedClosed = true;
        this.deps.logger.warn('event store is stopped; messages are no longer recorded', {
          file: this.deps.file,
        });
      }
      return;
    }
    this.queue.push(message);
    const cap = this.deps.options.maxBufferedEvents ?? DEFAULT_MAX_BUFFERED;
    if (this.queue.length - this.head > cap) this.dropOldest();
    // During an outage, retries wait for the flush timer instead of failing on every message.
    if (
      this.state === 'running' &&
      this.outage === undefined &&
      this.queue.length - this.head >= this.deps.options.batchSize
    ) {
      this.flush();
    }
  }

  /** Writes everything buffered now, a batch per transaction. A failure is logged and retried later. */
  flush(): void {
    const write = this.writeBatch;
    if (this.state !== 'running' || !write) return;
    const batchSize = Math.max(1, this.deps.options.batchSize);
    while (this.queue.length > this.head) {
      const count = Math.min(batchSize, this.queue.length - this.head);
      try {
        write(this.head, count);
      } catch (err) {
        this.writeFailed(err);
        return;
      }
      this.consume(count);
    }
    if (this.outage) this.writeRecovered();
  }

  /** Flushes every buffered event, then closes the database. Safe to call twice. */
  stop(): void {
    if (this.state === 'stopped') return;
    const wasRunning = this.state === 'running';
    this.deps.clock.clearTimer(this.flushTimer);
    this.deps.clock.clearTimer(this.retentionTimer);
    this.flushTimer = this.retentionTimer = undefined;
    if (wasRunning) this.flush();
    const lost = this.queue.length - this.head;
    if (lost > 0) {
      this.counts.dropped += lost;
      this.deps.logger.error(`${lost} buffered events could not be written before closing; they are lost`, {
        code: 'STORE_WRITE_FAILED',
        file: this.deps.file,
      });
    }
    this.queue = [];
    this.head = 0;
    this.state = 'stopped';
    this.db?.close();
    this.db = this.queries = this.retention = this.writeBatch = undefined;
  }

  stats(): EventStoreStats {
    return { ...this.counts, buffered: this.queue.length - this.head };
  }

  /** Runs retention to completion now (the timer does the same in steps between messages). */
  enforceRetention(): RetentionResult {
    const retention = this.requireOpen().retention;
    this.flush();
    const total = { deletedByAge: 0, deletedBySize: 0 };
    for (;;) {
      const step = retention.step(this.deps.clock.now(), this.chunkRows());
      total.deletedByAge += step.deletedByAge;
      total.deletedBySize += step.deletedBySize;
      if (step.done) break;
    }
    if (total.deletedByAge + total.deletedBySize > 0) retention.pruneLatest();
    return total;
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

  private prepareWrite(db: SqliteDatabase): Transaction<(start: number, count: number) => void> {
    const insert: Statement = db.prepare(
      'INSERT INTO events (time, client_id, topic, device_id, metric, payload, qos, retain) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    const upsert: Statement = db.prepare(
      `INSERT INTO latest (device_id, metric, value, time, event_id) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (device_id, metric) DO UPDATE SET value = excluded.value, time = excluded.time, event_id = excluded.event_id`,
    );
    const latest = new Map<string, LatestEntry>();
    return db.transaction((start: number, count: number) => {
      latest.clear();
      for (let i = start; i < start + count; i++) {
        const m = this.queue[i];
        if (!m) continue;
        const info = this.topicInfo(m.topic);
        const json = jsonText(m.payload);
        const result = insert.run(
          m.receivedAt,
          m.clientId,
          m.topic,
          info.deviceId,
          info.metric,
          json ?? m.payload,
          m.qos,
          m.retain ? 1 : 0,
        );
        if (info.latestKey !== null && info.deviceId !== null && info.metric !== null) {
          // Later events in the batch overwrite earlier ones: one upsert per (device, metric) per batch.
          latest.set(info.latestKey, {
            deviceId: info.deviceId,
            metric: info.metric,
            message: m,
            json,
            eventId: Number(result.lastInsertRowid),
          });
        }
      }
      for (const e of latest.values()) {
        upsert.run(
          e.deviceId,
          e.metric,
          latestValue(e.json, e.message.payload),
          e.message.receivedAt,
          e.eventId,
        );
      }
    });
  }

  private topicInfo(topic: string): TopicInfo {
    let info = this.topics.get(topic);
    if (!info) {
      const parsed = parseDeviceTopic(topic);
      const metric = parsed?.name ?? null;
      // A command is what someone asked for, not a value the device has, so it never becomes "latest".
      const tracked =
        parsed !== null && metric !== null && (parsed.kind === 'reading' || parsed.kind === 'state');
      info = {
        deviceId: parsed?.deviceId ?? null,
        metric,
        latestKey: tracked ? `${parsed.deviceId}\u0000${metric}` : null,
      };
      if (this.topics.size >= TOPIC_CACHE_SIZE) this.topics.clear();
      this.topics.set(topic, info);
    }
    return info;
  }

  private consume(count: number): void {
    for (let i = this.head; i < this.head + count; i++) this.queue[i] = undefined;
    this.head += count;
    this.counts.stored += count;
    this.compact();
  }

  private dropOldest(): void {
    this.queue[this.head] = undefined;
    this.head++;
    this.counts.dropped++;
    if (this.outage) {
      if (this.outage.dropped === 0) {
        this.deps.logger.warn('event buffer is full; dropping the oldest events until writing works again', {
          file: this.deps.file,
          maxBufferedEvents: this.deps.options.maxBufferedEvents ?? DEFAULT_MAX_BUFFERED,
        });
      }
      this.outage.dropped++;
    }
    this.compact();
  }

  /** Releases the consumed front of the queue once it is the bigger half (amortised O(1) per event). */
  private compact(): void {
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  private writeFailed(err: unknown): void {
    this.counts.writeErrors++;
    if (this.outage) return;
    this.outage = { sinceMs: this.deps.clock.now(), dropped: 0 };
    const sqliteCode = (err as { code?: unknown }).code;
    this.deps.logger.error(
      `cannot write events to ${this.deps.file}: ${errorMessage(err)}. Keeping events in memory and retrying every ${this.deps.options.flushIntervalMs} ms; check free space and that the data directory is writable`,
      {
        code: 'STORE_WRITE_FAILED',
        file: this.deps.file,
        sqliteCode: typeof sqliteCode === 'string' ? sqliteCode : undefined,
        buffered: this.queue.length - this.head,
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

  private scheduleFlush(): void {
    this.flushTimer = this.deps.clock.setTimer('store.flush', this.deps.options.flushIntervalMs, () => {
      this.scheduleFlush();
      this.flush();
    });
  }

  private scheduleRetention(delayMs: number): void {
    const name = delayMs === 0 ? 'store.retention.step' : 'store.retention';
    this.retentionTimer = this.deps.clock.setTimer(name, delayMs, () => this.retentionStep());
  }

  /** One bounded step per timer tick; a zero-delay timer continues so messages are served in between. */
  private retentionStep(): void {
    const retention = this.retention;
    if (!retention) return;
    const run = this.retentionRun;
    let done = true;
    try {
      const step = retention.step(this.deps.clock.now(), this.chunkRows());
      run.deletedByAge += step.deletedByAge;
      run.deletedBySize += step.deletedBySize;
      run.steps++;
      done = step.done;
      if (done && run.deletedByAge + run.deletedBySize > 0) retention.pruneLatest();
      run.failing = false;
    } catch (err) {
      if (!run.failing) {
        this.deps.logger.warn(`retention could not delete old events: ${errorMessage(err)}; retrying later`, {
          file: this.deps.file,
        });
      }
      run.failing = true;
    }
    if (!done) {
      this.scheduleRetention(0);
      return;
    }
    if (run.deletedByAge + run.deletedBySize > 0) {
      this.deps.logger.info('retention deleted old events', {
        deletedByAge: run.deletedByAge,
        deletedBySize: run.deletedBySize,
        steps: run.steps,
      });
    }
    this.retentionRun = { deletedByAge: 0, deletedBySize: 0, steps: 0, failing: run.failing };
    this.scheduleRetention(this.deps.options.retention.checkEveryMs);
  }

  private chunkRows(): number {
    return this.deps.testing?.retentionChunkRows ?? DEFAULT_RETENTION_CHUNK;
  }

  private requireOpen(): { queries: EventQueries; retention: Retention } {
    if (this.state !== 'running' || !this.queries || !this.retention) {
      throw new EdgehubError('USAGE', 'the event store is not running; call start() first');
    }
    return { queries: this.queries, retention: this.retention };
  }
}

/** Opens the writing connection, turning "cannot write here" into one actionable error. */
function openWriter(file: string): SqliteDatabase {
  const dir = dirname(resolve(file));
  const unwritable = (err: unknown) =>
    new EdgehubError(
      'DATA_DIR_UNWRITABLE',
      `cannot write the event database ${file} (${errorMessage(err)}). Make ${dir} writable by the user running edgehub, or set hub.data_dir to a writable directory`,
      { cause: err },
    );
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
    if (existsSync(file)) accessSync(file, constants.W_OK);
  } catch (err) {
    throw unwritable(err);
  }
  let db: SqliteDatabase | undefined;
  try {
    db = new Database(file);
    configureWriter(db);
    createSchema(db);
    registerFunctions(db);
    return db;
  } catch (err) {
    db?.close();
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && /^SQLITE_(CANTOPEN|READONLY|PERM|IOERR|FULL)/.test(code)) {
      throw unwritable(err);
    }
    if (code === 'SQLITE_BUSY') {
      throw new EdgehubError(
        'STORE_WRITE_FAILED',
        `${file} is locked by another writer; is another edgehub running with the same hub.data_dir?`,
        { cause: err },
      );
    }
    throw new EdgehubError(
      'STORE_WRITE_FAILED',
      `cannot use ${file} as the event database (${errorMessage(err)}); move the file aside and restart to start a new one`,
      { cause: err },
    );
  }
}
