import { deserialize, serialize } from 'node:v8';
import type { Database as SqliteDatabase, Statement } from 'better-sqlite3';
import type { Clock, Logger, TimerHandle } from '../../kernel/index.js';
import { errorMessage } from '../../kernel/index.js';
import type { Packet, SubscriptionOptions } from './packets.js';
import type { SessionExpiryRow } from './session-expiry.js';
import { openWritableSqlite } from '../open-sqlite.js';
import { configureBrokerDb, createBrokerSchema } from './schema.js';

/** Everything the file holds, in the order it was written. */
export interface LoadedState {
  retained: Packet[];
  subscriptions: { clientId: string; topic: string; options: SubscriptionOptions }[];
  outgoing: { id: number; clientId: string; packet: Packet }[];
  incoming: { clientId: string; messageId: number; packet: Packet }[];
  wills: { clientId: string; packet: Packet }[];
  sessionExpiries: SessionExpiryRow[];
}

/** The writes a change of broker state makes; run inside the current group-commit transaction. */
export interface StateWrites {
  putRetained(topic: string, packet: Packet): void;
  delRetained(topic: string): void;
  putSubscription(clientId: string, topic: string, options: SubscriptionOptions): void;
  delSubscription(clientId: string, topic: string): void;
  delSubscriptions(clientId: string): void;
  addOutgoing(id: number, clientId: string, packet: Packet): void;
  setOutgoingMessageId(id: number, messageId: number | undefined): void;
  replaceOutgoing(id: number, packet: Packet): void;
  delOutgoing(id: number): void;
  putIncoming(clientId: string, messageId: number, packet: Packet): void;
  delIncoming(clientId: string, messageId: number): void;
  putWill(clientId: string, packet: Packet): void;
  delWill(clientId: string): void;
  putSessionExpiry(row: SessionExpiryRow): void;
  delSessionExpiry(clientId: string): void;
}

export interface BrokerStateDbDeps {
  file: string;
  clock: Clock;
  logger: Logger;
  /** The whole state as it is in memory, written again after an outage. */
  snapshot: () => LoadedState;
  testing?: {
    /** ms between attempts to save again while writes fail. Default 5,000. */
    retryMs?: number;
    /** Called with the raw handle once the file is open, e.g. to make writes fail. */
    onOpen?: (db: SqliteDatabase) => void;
  };
}

interface Waiter {
  resolve: () => void;
}

/**
 * The broker state file. Every change runs its statements at once, inside one transaction per turn
 * of the event loop that commits on `setImmediate`; the change's promise resolves after that commit,
 * so whatever aedes does next (acknowledge, deliver) happens only once the state is on disk, and a
 * burst of changes costs one commit. When writing fails (disk full, read-only) the broker carries on
 * from memory, the error is logged once, and the whole state is written again when it works.
 */
export class BrokerStateDb {
  private db: SqliteDatabase | undefined;
  private writes: StateWrites | undefined;
  private waiters: Waiter[] = [];
  private commitScheduled: NodeJS.Immediate | undefined;
  private outage: { sinceMs: number; failures: number } | undefined;
  private retryTimer: TimerHandle | undefined;
  /** Failed attempts to save, since open. */
  failures = 0;

  constructor(private readonly deps: BrokerStateDbDeps) {}

  /** Opens (creating) the file and reads everything in it. */
  open(): LoadedState {
    const db = openStateDb(this.deps.file);
    this.db = db;
    this.writes = prepareWrites(db);
    const state = load(db);
    this.deps.testing?.onOpen?.(db);
    return state;
  }

  /**
   * Runs `change` now, in the transaction of this turn of the event loop; resolves once it is
   * committed, or at once during an outage (the state lives on in memory and is saved later).
   */
  run(change: (writes: StateWrites) => void): Promise<void> {
    const db = this.db;
    const writes = this.writes;
    if (!db?.open || !writes || this.outage) return Promise.resolve();
    try {
      if (!db.inTransaction) db.exec('BEGIN');
      change(writes);
    } catch (err) {
      this.failed(err);
      return Promise.resolve();
    }
    this.commitScheduled ??= setImmediate(() => this.commit());
    return new Promise((resolve) => this.waiters.push({ resolve }));
  }

  /** Commits what is pending, tries once more to save after an outage, and closes the file. */
  close(): void {
    if (this.commitScheduled) clearImmediate(this.commitScheduled);
    this.commit();
    this.deps.clock.clearTimer(this.retryTimer);
    this.retryTimer = undefined;
    if (this.outage) this.resync();
    if (this.db?.open) this.db.close();
    this.db = this.writes = undefined;
  }

  private commit(): void {
    this.commitScheduled = undefined;
    const db = this.db;
    const waiters = this.waiters;
    this.waiters = [];
    try {
      if (db?.inTransaction) db.exec('COMMIT');
    } catch (err) {
      this.failed(err);
    }
    for (const w of waiters) w.resolve();
  }

  private failed(err: unknown): void {
    this.failures++;
    const db = this.db;
    try {
      if (db?.inTransaction) db.exec('ROLLBACK');
    } catch {
      // SQLite rolls back by itself after some errors (SQLITE_FULL); nothing is left to undo then.
    }
    if (this.outage) {
      this.outage.failures++;
    } else {
      this.outage = { sinceMs: this.deps.clock.now(), failures: 1 };
      const code = (err as { code?: unknown } | null)?.code;
      this.deps.logger.error(
        `cannot save broker state (sessions, retained messages, messages in flight) to ${this.deps.file}: ${errorMessage(err)}. The broker keeps running from memory and saves everything again once writing works; check free space and that the data directory is writable`,
        {
          code: 'BROKER_STATE_WRITE_FAILED',
          file: this.deps.file,
          sqliteCode: typeof code === 'string' ? code : undefined,
        },
      );
    }
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.retryTimer) return;
    this.retryTimer = this.deps.clock.setTimer(
      'broker-state.retry',
      this.deps.testing?.retryMs ?? 5_000,
      () => {
        this.retryTimer = undefined;
        this.resync();
      },
    );
  }

  /** Writes the whole in-memory state in one transaction, replacing what the file holds. */
  private resync(): void {
    const db = this.db;
    const writes = this.writes;
    const outage = this.outage;
    if (!db?.open || !writes || !outage) return;
    try {
      db.transaction(() => {
        db.exec(
          'DELETE FROM retained; DELETE FROM subscriptions; DELETE FROM outgoing; DELETE FROM incoming; DELETE FROM wills; DELETE FROM session_expiry;',
        );
        const state = this.deps.snapshot();
        for (const p of state.retained) writes.putRetained(String(p.topic), p);
        for (const s of state.subscriptions) writes.putSubscription(s.clientId, s.topic, s.options);
        for (const o of state.outgoing) writes.addOutgoing(o.id, o.clientId, o.packet);
        for (const i of state.incoming) writes.putIncoming(i.clientId, i.messageId, i.packet);
        for (const w of state.wills) writes.putWill(w.clientId, w.packet);
        for (const row of state.sessionExpiries) writes.putSessionExpiry(row);
      })();
    } catch (err) {
      // Still failing: counted, and tried again on the next tick of the retry timer.
      this.failed(err);
      return;
    }
    this.outage = undefined;
    this.deps.logger.info('broker state is saved again', {
      file: this.deps.file,
      outageMs: this.deps.clock.now() - outage.sinceMs,
      failedAttempts: outage.failures,
    });
  }
}

function encode(packet: Packet): Buffer {
  // Only data: aedes hangs callbacks (writeCallback) on packets it passes in.
  const data: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(packet)) {
    if (typeof value !== 'function') data[key] = value;
  }
  return serialize(data);
}

function decode(blob: Buffer): Packet {
  return deserialize(blob) as Packet;
}

function prepareWrites(db: SqliteDatabase): StateWrites {
  const s = (sql: string): Statement => db.prepare(sql);
  const putRetained = s(
    'INSERT INTO retained (topic, packet) VALUES (?, ?) ON CONFLICT (topic) DO UPDATE SET packet = excluded.packet',
  );
  const delRetained = s('DELETE FROM retained WHERE topic = ?');
  const putSubscription = s(
    'INSERT INTO subscriptions (client_id, topic, options) VALUES (?, ?, ?) ON CONFLICT (client_id, topic) DO UPDATE SET options = excluded.options',
  );
  const delSubscription = s('DELETE FROM subscriptions WHERE client_id = ? AND topic = ?');
  const delSubscriptions = s('DELETE FROM subscriptions WHERE client_id = ?');
  const addOutgoing = s('INSERT INTO outgoing (id, client_id, packet, message_id) VALUES (?, ?, ?, ?)');
  const setOutgoingMessageId = s('UPDATE outgoing SET message_id = ? WHERE id = ?');
  const replaceOutgoing = s('UPDATE outgoing SET packet = ?, message_id = ? WHERE id = ?');
  const delOutgoing = s('DELETE FROM outgoing WHERE id = ?');
  const putIncoming = s('INSERT OR REPLACE INTO incoming (client_id, message_id, packet) VALUES (?, ?, ?)');
  const delIncoming = s('DELETE FROM incoming WHERE client_id = ? AND message_id = ?');
  const putWill = s('INSERT OR REPLACE INTO wills (client_id, packet) VALUES (?, ?)');
  const delWill = s('DELETE FROM wills WHERE client_id = ?');
  const putSessionExpiry = s(
    'INSERT OR REPLACE INTO session_expiry (client_id, interval_s, offline_since) VALUES (?, ?, ?)',
  );
  const delSessionExpiry = s('DELETE FROM session_expiry WHERE client_id = ?');
  const messageId = (p: Packet): number | null => (typeof p.messageId === 'number' ? p.messageId : null);
  const writes: StateWrites = {
    putRetained: (topic, packet) => putRetained.run(topic, encode(packet)),
    delRetained: (topic) => delRetained.run(topic),
    putSubscription: (clientId, topic, options) =>
      putSubscription.run(clientId, topic, JSON.stringify(options)),
    delSubscription: (clientId, topic) => delSubscription.run(clientId, topic),
    delSubscriptions: (clientId) => delSubscriptions.run(clientId),
    addOutgoing: (id, clientId, packet) => addOutgoing.run(id, clientId, encode(packet), messageId(packet)),
    setOutgoingMessageId: (id, value) => setOutgoingMessageId.run(value ?? null, id),
    replaceOutgoing: (id, packet) => replaceOutgoing.run(encode(packet), messageId(packet), id),
    delOutgoing: (id) => delOutgoing.run(id),
    putIncoming: (clientId, id, packet) => putIncoming.run(clientId, id, encode(packet)),
    delIncoming: (clientId, id) => delIncoming.run(clientId, id),
    putWill: (clientId, packet) => putWill.run(clientId, encode(packet)),
    delWill: (clientId) => delWill.run(clientId),
    putSessionExpiry: (row) => putSessionExpiry.run(row.clientId, row.intervalS, row.offlineSince),
    delSessionExpiry: (clientId) => delSessionExpiry.run(clientId),
  };
  return writes;
}

function load(db: SqliteDatabase): LoadedState {
  const rows = <T>(sql: string): T[] => db.prepare(sql).all() as T[];
  return {
    retained: rows<{ packet: Buffer }>('SELECT packet FROM retained ORDER BY rowid').map((r) =>
      decode(r.packet),
    ),
    subscriptions: rows<{ client_id: string; topic: string; options: string }>(
      'SELECT client_id, topic, options FROM subscriptions ORDER BY rowid',
    ).map((r) => ({
      clientId: r.client_id,
      topic: r.topic,
      options: JSON.parse(r.options) as SubscriptionOptions,
    })),
    outgoing: rows<{ id: number; client_id: string; packet: Buffer; message_id: number | null }>(
      'SELECT id, client_id, packet, message_id FROM outgoing ORDER BY id',
    ).map((r) => {
      const packet = decode(r.packet);
      if (r.message_id !== null) packet.messageId = r.message_id;
      return { id: r.id, clientId: r.client_id, packet };
    }),
    incoming: rows<{ client_id: string; message_id: number; packet: Buffer }>(
      'SELECT client_id, message_id, packet FROM incoming ORDER BY rowid',
    ).map((r) => ({ clientId: r.client_id, messageId: r.message_id, packet: decode(r.packet) })),
    wills: rows<{ client_id: string; packet: Buffer }>(
      'SELECT client_id, packet FROM wills ORDER BY rowid',
    ).map((r) => ({ clientId: r.client_id, packet: decode(r.packet) })),
    sessionExpiries: rows<{ client_id: string; interval_s: number; offline_since: number | null }>(
      'SELECT client_id, interval_s, offline_since FROM session_expiry',
    ).map((r) => ({ clientId: r.client_id, intervalS: r.interval_s, offlineSince: r.offline_since })),
  };
}

/** Opens the state file, turning "cannot write here" into one actionable error. */
function openStateDb(file: string): SqliteDatabase {
  return openWritableSqlite(file, {
    what: 'the broker state database',
    failCode: 'BROKER_STATE_WRITE_FAILED',
    unusable: 'restart to start with empty sessions',
    prepare: (db) => {
      configureBrokerDb(db);
      createBrokerSchema(db);
    },
  });
}
