import Database from 'better-sqlite3';
import type { Database as SqliteDatabase, Statement } from 'better-sqlite3';
import { configureReader } from './schema.js';
import { EdgehubError } from '../../kernel/index.js';
import type { OutboxEntry, OutboxLimit, ReplayRow, WriterReply, WriterRequest } from './writer-protocol.js';

/** The stored event an outbox row points at. */
export interface OutboxEvent {
  id: number;
  /** Epoch ms the broker accepted it. */
  time: number;
  topic: string;
  deviceId: string | null;
  metric: string | null;
  clientId: string | null;
  /** JSON text as a string, anything else as the exact bytes. */
  payload: string | Buffer;
  qos: number;
  retain: boolean;
}

/** One message a connector has still to deliver. */
export interface OutboxRow {
  /** Delivery order within the hub; with the hub's name, the id a remote deduplicates by. */
  id: number;
  /** Index into the connector's `out` routes; -1 for a rule's `forward`. */
  route: number;
  key: string | null;
  /** Epoch ms the row was recorded. */
  recordedAt: number;
  destination: string | null;
  /** null for a `forward` row, or when retention deleted the event before it left. */
  event: OutboxEvent | null;
  /** A `forward` row's own message. */
  message: Buffer | null;
}

export interface DeadLetter {
  id: number;
  route: number;
  key: string | null;
  eventId: number | null;
  recordedAt: number;
  reason: string;
  /** Epoch ms the remote refused it. */
  failedAt: number;
}

export interface OutboxBacklog {
  count: number;
  /** Epoch ms of the oldest row; null when empty. */
  oldestAt: number | null;
}

/** What the outbox needs of the event store: its read connection and its writer thread. */
export interface OutboxDeps {
  reader(): SqliteDatabase;
  request(make: (id: number) => OutboxRequest): Promise<WriterReply>;
  /** Epoch ms on the hub clock. */
  now(): number;
}

/** What the outbox asks of the writer thread; each is answered by an `outbox` reply. */
type OutboxRequest = Extract<WriterRequest, { t: `outbox-${string}` }>;

/**
 * One row of the read statement as an array (better-sqlite3's raw mode, twice as fast as an object
 * per row): the columns in the order the statement names them.
 */
type RawRow = [
  id: number,
  route: number,
  key: string | null,
  recorded: number,
  destination: string | null,
  message: Buffer | null,
  eventId: number | null,
  time: number | null,
  topic: string | null,
  deviceId: string | null,
  metric: string | null,
  clientId: string | null,
  payload: string | Buffer | null,
  qos: number | null,
  retain: number | null,
];

/**
 * Each connector's queue of messages to deliver, inside the event database: rows are written by the
 * writer thread in the transaction that stores their event, read here on the main thread over the
 * read-only connection, and removed by the writer once delivered.
 */
export class Outbox {
  private statements:
    | {
        read: Statement;
        backlog: Statement;
        oldest: Statement;
        since: Statement;
        dead: Statement;
        deadCount: Statement;
      }
    | undefined;
  private statementsOf: SqliteDatabase | undefined;

  constructor(private readonly deps: OutboxDeps) {}

  /** Up to `limit` rows of a connector after `afterId`, oldest first. */
  read(connector: string, afterId: number, limit: number): OutboxRow[] {
    const rows = this.prepared().read.all(connector, afterId, limit) as RawRow[];
    return rows.map(toRow);
  }

  backlog(connector: string): OutboxBacklog {
    const row = this.prepared().backlog.get(connector) as { n: number; oldest: number | null };
    return { count: row.n, oldestAt: row.oldest };
  }

  /** Epoch ms the connector's first waiting row was recorded; null when none waits. Cheap. */
  oldest(connector: string): number | null {
    return (this.prepared().oldest.get(connector) as number | undefined) ?? null;
  }

  /** Id, topic and device of each stored event since `sinceMs` (epoch ms), oldest first: for a replay. */
  *eventsSince(sinceMs: number): Generator<{ id: number; topic: string; deviceId: string | null }> {
    for (const r of this.prepared().since.iterate(sinceMs) as Iterable<{
      id: number;
      topic: string;
      device_id: string | null;
    }>)
      yield { id: r.id, topic: r.topic, deviceId: r.device_id };
  }

  /** A connector's dead letters, oldest first. */
  dead(connector: string, limit = 1000): DeadLetter[] {
    return (this.prepared().dead.all(connector, limit) as Record<string, unknown>[]).map((r) => ({
      id: r.id as number,
      route: r.route as number,
      key: r.key as string | null,
      eventId: r.event_id as number | null,
      recordedAt: r.time as number,
      reason: r.reason as string,
      failedAt: r.failed_at as number,
    }));
  }

  deadCount(connector: string): number {
    return this.prepared().deadCount.get(connector) as number;
  }

  /** Delivered: every row of the connector through `throughId` leaves, `dead` ones to the dead letters. */
  async settle(
    connector: string,
    throughId: number,
    dead: { id: number; reason: string }[] = [],
  ): Promise<number> {
    const now = this.deps.now();
    return (await this.ask((id) => ({ t: 'outbox-settle', id, connector, throughId, nowMs: now, dead })))
      .rows;
  }

  /** Drops what is beyond each bound, oldest first; the count dropped per connector. */
  async trim(limits: OutboxLimit[]): Promise<Record<string, number>> {
    const now = this.deps.now();
    return (await this.ask((id) => ({ t: 'outbox-trim', id, nowMs: now, limits }))).dropped;
  }

  /** Rows that carry their own message; resolves once committed. */
  async add(entries: OutboxEntry[]): Promise<number> {
    return (await this.ask((id) => ({ t: 'outbox-add', id, entries }))).rows;
  }

  /** Dead letters (all of the connector's when `ids` is empty) back into the outbox. */
  async revive(connector: string, ids: number[] = []): Promise<number> {
    return (await this.ask((id) => ({ t: 'outbox-revive', id, connector, ids }))).rows;
  }

  /** Stored events into the connector's outbox again. */
  async replay(connector: string, rows: ReplayRow[]): Promise<number> {
    const now = this.deps.now();
    return (await this.ask((id) => ({ t: 'outbox-replay', id, connector, nowMs: now, rows }))).rows;
  }

  private async ask(make: (id: number) => OutboxRequest): Promise<Extract<WriterReply, { t: 'outbox' }>> {
    const reply = await this.deps.request(make);
    if (reply.t !== 'outbox')
      throw new EdgehubError('STORE_WRITE_FAILED', `unexpected writer reply ${reply.t}`);
    if (reply.error)
      throw new EdgehubError('STORE_WRITE_FAILED', `outbox write failed: ${reply.error.message}`);
    return reply;
  }

  private prepared(): NonNullable<Outbox['statements']> {
    const db = this.deps.reader();
    if (this.statements && this.statementsOf === db) return this.statements;
    this.statementsOf = db;
    this.statements = {
      read: db
        .prepare(
          `SELECT o.id, o.route, o.key, o.time AS recorded, o.destination, o.message, o.event_id,
                e.time, e.topic, e.device_id, e.metric, e.client_id, e.payload, e.qos, e.retain
         FROM outbox o LEFT JOIN events e ON e.id = o.event_id
         WHERE o.connector = ? AND o.id > ? ORDER BY o.id LIMIT ?`,
        )
        .raw(true),
      backlog: db.prepare('SELECT count(*) AS n, min(time) AS oldest FROM outbox WHERE connector = ?'),
      since: db.prepare('SELECT id, topic, device_id FROM events WHERE time >= ? ORDER BY id'),
      oldest: db.prepare('SELECT time FROM outbox WHERE connector = ? ORDER BY id LIMIT 1').pluck(),
      dead: db.prepare(
        'SELECT id, route, key, event_id, time, reason, failed_at FROM outbox_dead WHERE connector = ? ORDER BY id LIMIT ?',
      ),
      deadCount: db.prepare('SELECT count(*) FROM outbox_dead WHERE connector = ?').pluck(),
    };
    return this.statements;
  }
}

function toRow(r: RawRow): OutboxRow {
  const [id, route, key, recorded, destination, message, eventId, time, topic, deviceId, metric] = r;
  const [clientId, payload, qos, retain] = [r[11], r[12], r[13], r[14]];
  const event: OutboxEvent | null =
    eventId !== null && topic !== null && payload !== null
      ? {
          id: eventId,
          time: time ?? recorded,
          topic,
          deviceId,
          metric,
          clientId,
          payload,
          qos: qos ?? 0,
          retain: retain === 1,
        }
      : null;
  return { id, route, key, recordedAt: recorded, destination, event, message };
}

/** An outbox that only reads, over a read-only connection of its own (a worker thread's). */
export interface OutboxReader {
  outbox: Pick<Outbox, 'read'>;
  close(): void;
}

export function openOutboxReader(file: string): OutboxReader {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  configureReader(db);
  const outbox = new Outbox({
    reader: () => db,
    request: () => Promise.reject(new Error('a read-only outbox writes nothing')),
    now: () => Date.now(),
  });
  return { outbox, close: () => db.close() };
}
