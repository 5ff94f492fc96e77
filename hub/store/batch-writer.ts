import type { Database, Statement, Transaction } from 'better-sqlite3';
import type { BatchMessage, OutboxRouteInit } from './writer-protocol.js';
import { FLAG_JSON, FLAG_QOS_MASK, FLAG_RETAIN } from './writer-protocol.js';
import { ROLLUP_MS } from './schema.js';

/** One topic's numbers within one minute of a batch, added to `rollups` as one upsert. */
interface MinuteSums {
  minute: number;
  min: number;
  max: number;
  sum: number;
  n: number;
}

/** A batch the writer holds until it is committed; `next` rows before it were dropped or written. */
interface Held {
  batch: BatchMessage;
  /** First row not yet written or dropped. */
  next: number;
}

export interface WriteOutcome {
  /** Rows committed by this call. */
  committed: number;
  /** The error of the failed attempt, if one failed; what was not written stays held. */
  error?: unknown;
}

const text = new TextDecoder('utf-8');

/**
 * The writer thread's side of the event store: holds batches in arrival order and writes them,
 * several per transaction. Batches that cannot be written (full disk, read-only card) stay held up
 * to a row cap, beyond which the oldest rows are dropped and counted.
 */
export class BatchWriter {
  private readonly held: Held[] = [];
  private heldRows = 0;
  /** Highest seq whose every row is committed or dropped. */
  settledThrough = 0;
  private droppedSinceReport = 0;
  private readonly insert: Statement;
  private readonly insertText: Statement;
  private readonly upsert: Statement;
  private readonly outbox: Statement;
  private readonly rollup: Statement;
  /** Outbox rows committed since the last {@link takeOutboxed}, per route index. */
  private outboxed: number[];
  /** Outbox rows of the transaction being written, counted once it commits. */
  private readonly attempt: number[];
  private readonly writeRows: Transaction<(held: readonly Held[]) => void>;

  constructor(
    db: Database,
    private readonly limits: { maxHeldRows: number; maxRowsPerTransaction: number },
    private readonly routes: readonly OutboxRouteInit[] = [],
  ) {
    this.outboxed = routes.map(() => 0);
    this.attempt = routes.map(() => 0);
    this.outbox = db.prepare(
      'INSERT INTO outbox (connector, route, event_id, time, key) VALUES (?, ?, ?, ?, ?)',
    );
    this.insert = db.prepare(
      'INSERT INTO events (time, client_id, topic, device_id, metric, payload, qos, retain, value) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    // JSON payloads are bound as their UTF-8 bytes and stored as TEXT by SQLite itself, rather than
    // decoded into a JS string that the binding then encodes back to UTF-8.
    this.insertText = db.prepare(
      'INSERT INTO events (time, client_id, topic, device_id, metric, payload, qos, retain, value) VALUES (?, ?, ?, ?, ?, CAST(? AS TEXT), ?, ?, ?)',
    );
    this.upsert = db.prepare(
      `INSERT INTO latest (device_id, metric, value, time, event_id) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (device_id, metric) DO UPDATE SET value = excluded.value, time = excluded.time, event_id = excluded.event_id`,
    );
    this.rollup = db.prepare(
      `INSERT INTO rollups (device_id, metric, minute, min, max, sum, n) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (device_id, metric, minute) DO UPDATE SET min = min(min, excluded.min),
         max = max(max, excluded.max), sum = sum + excluded.sum, n = n + excluded.n`,
    );
    this.writeRows = db.transaction((held: readonly Held[]) => {
      for (const h of held) this.writeBatch(h);
    });
  }

  get backlog(): number {
    return this.heldRows;
  }

  /** Takes a batch; when the held rows exceed the cap, the oldest are dropped. */
  add(batch: BatchMessage): void {
    this.held.push({ batch, next: 0 });
    this.heldRows += batch.count;
    this.trim();
  }

  /** Rows dropped since the last call. */
  takeDropped(): number {
    const n = this.droppedSinceReport;
    this.droppedSinceReport = 0;
    return n;
  }

  /** Outbox rows committed since the last call, per route index; undefined when none. */
  takeOutboxed(): number[] | undefined {
    if (!this.outboxed.some((n) => n > 0)) return undefined;
    const counts = this.outboxed;
    this.outboxed = this.routes.map(() => 0);
    return counts;
  }

  /** Writes everything held, in transactions of whole batches; stops at the first failure. */
  writeAll(): WriteOutcome {
    let committed = 0;
    while (this.held.length > 0) {
      // Whole batches per transaction (at least one), up to the row budget.
      let take = 0;
      let rows = 0;
      for (const h of this.held) {
        const left = h.batch.count - h.next;
        if (take > 0 && rows + left > this.limits.maxRowsPerTransaction) break;
        take++;
        rows += left;
      }
      const group = this.held.slice(0, take);
      this.attempt.fill(0);
      try {
        this.writeRows(group);
      } catch (error) {
        return { committed, error };
      }
      for (let i = 0; i < this.attempt.length; i++)
        this.outboxed[i] = (this.outboxed[i] ?? 0) + (this.attempt[i] ?? 0);
      this.held.splice(0, take);
      this.heldRows -= rows;
      committed += rows;
      const last = group.at(-1);
      if (last) this.settledThrough = last.batch.seq;
    }
    return { committed };
  }

  private writeBatch(h: Held): void {
    const b = h.batch;
    const eventIds = new Map<number, number>();
    // Per topic slot: the minute being summed; a batch spans a minute or two, so few upserts.
    const minutes = new Map<number, MinuteSums>();
    let latestAt = 0;
    let outAt = 0;
    // Rows the cap dropped before they were written take their outbox entries with them.
    while (outAt < b.outRows.length && (b.outRows[outAt] ?? 0) < h.next) outAt++;
    for (let row = h.next; row < b.count; row++) {
      const flags = b.flags[row] ?? 0;
      const t = b.topic[row] ?? 0;
      const c = b.client[row] ?? -1;
      const result = (flags & FLAG_JSON ? this.insertText : this.insert).run(
        b.times[row],
        c < 0 ? null : b.clients[c],
        b.topics[t],
        b.devices[t] ?? null,
        b.metrics[t] ?? null,
        this.bytes(b, row),
        flags & FLAG_QOS_MASK,
        flags & FLAG_RETAIN ? 1 : 0,
        numberOrNull(b.values[row]),
      );
      const value = b.values[row] ?? NaN;
      if (!Number.isNaN(value))
        this.addToMinute(b, minutes, t, Math.floor((b.times[row] ?? 0) / ROLLUP_MS), value);
      // latestRows is ascending, so one cursor finds the rows whose event id `latest` needs.
      while (latestAt < b.latestRows.length && (b.latestRows[latestAt] ?? 0) < row) latestAt++;
      if (b.latestRows[latestAt] === row) eventIds.set(row, Number(result.lastInsertRowid));
      while (b.outRows[outAt] === row) {
        this.addOutbox(b, row, b.outRoutes[outAt] ?? 0, result.lastInsertRowid);
        outAt++;
      }
    }
    for (const [t, sums] of minutes) this.writeMinute(b, t, sums);
    for (let j = 0; j < b.latestRows.length; j++) {
      const row = b.latestRows[j] ?? 0;
      const eventId = eventIds.get(row);
      // A row dropped by the cap before it was written has no event for `latest` to point at.
      if (eventId === undefined) continue;
      const t = b.topic[row] ?? 0;
      this.upsert.run(
        b.devices[t] ?? null,
        b.metrics[t] ?? null,
        b.latestValues[j] ?? this.payload(b, row),
        b.times[row],
        eventId,
      );
    }
  }

  private addToMinute(
    b: BatchMessage,
    minutes: Map<number, MinuteSums>,
    t: number,
    minute: number,
    value: number,
  ): void {
    const sums = minutes.get(t);
    if (sums === undefined) {
      minutes.set(t, { minute, min: value, max: value, sum: value, n: 1 });
      return;
    }
    if (sums.minute !== minute) {
      this.writeMinute(b, t, sums);
      sums.minute = minute;
      sums.min = sums.max = sums.sum = value;
      sums.n = 1;
      return;
    }
    if (value < sums.min) sums.min = value;
    if (value > sums.max) sums.max = value;
    sums.sum += value;
    sums.n++;
  }

  private writeMinute(b: BatchMessage, t: number, sums: MinuteSums): void {
    this.rollup.run(b.devices[t], b.metrics[t], sums.minute, sums.min, sums.max, sums.sum, sums.n);
  }

  private addOutbox(b: BatchMessage, row: number, index: number, eventId: number | bigint): void {
    const route = this.routes[index];
    if (!route) return;
    const t = b.topic[row] ?? 0;
    const key = route.key === 'device' ? (b.devices[t] ?? null) : route.key === 'topic' ? b.topics[t] : null;
    this.outbox.run(route.connector, route.route, eventId, b.times[row], key ?? null);
    this.attempt[index] = (this.attempt[index] ?? 0) + 1;
  }

  /** JSON text as TEXT, anything else as the exact bytes (BLOB). */
  private payload(b: BatchMessage, row: number): string | Buffer {
    const bytes = this.bytes(b, row);
    return (b.flags[row] ?? 0) & FLAG_JSON ? text.decode(bytes) : bytes;
  }

  private bytes(b: BatchMessage, row: number): Buffer {
    const start = row === 0 ? 0 : (b.ends[row - 1] ?? 0);
    const end = b.ends[row] ?? start;
    return Buffer.from(b.payload.buffer, b.payload.byteOffset + start, end - start);
  }

  private trim(): void {
    let excess = this.heldRows - this.limits.maxHeldRows;
    while (excess > 0) {
      const first = this.held[0];
      if (!first) break;
      const left = first.batch.count - first.next;
      const drop = Math.min(left, excess);
      first.next += drop;
      this.heldRows -= drop;
      this.droppedSinceReport += drop;
      excess -= drop;
      if (first.next === first.batch.count) {
        this.held.shift();
        this.settledThrough = first.batch.seq;
      }
    }
  }
}

/** NaN (no number) as SQL NULL. */
function numberOrNull(value: number | undefined): number | null {
  return value === undefined || Number.isNaN(value) ? null : value;
}
