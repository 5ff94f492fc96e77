import type { Database, Statement, Transaction } from 'better-sqlite3';
import type { OutboxEntry, OutboxLimit, ReplayRow } from './writer-protocol.js';

/**
 * The writer thread's side of the outbox: what connectors delivered or gave up on leaves it, what
 * is beyond a connector's bounds is dropped, rules' `forward` rows and replays go in. Each call is
 * one transaction on the writing connection, between the event batches.
 */
export class OutboxWriter {
  private readonly bury: Statement;
  private readonly settleRows: Statement;
  private readonly insert: Statement;
  private readonly trimAge: Statement;
  private readonly trimCount: Statement;
  private readonly countRows: Statement;
  private readonly reviveSome: Statement;
  private readonly reviveAll: Statement;
  private readonly dropDeadSome: Statement;
  private readonly dropDeadAll: Statement;
  private readonly replayRow: Statement;
  private readonly settleTx: Transaction<
    (connector: string, throughId: number, nowMs: number, dead: { id: number; reason: string }[]) => number
  >;
  private readonly trimTx: Transaction<(nowMs: number, limits: OutboxLimit[]) => Record<string, number>>;
  private readonly addTx: Transaction<(entries: OutboxEntry[]) => number>;
  private readonly reviveTx: Transaction<(connector: string, ids: number[]) => number>;
  private readonly replayTx: Transaction<(connector: string, nowMs: number, rows: ReplayRow[]) => number>;

  constructor(db: Database) {
    this.bury = db.prepare(
      `INSERT OR REPLACE INTO outbox_dead (id, connector, route, event_id, time, key, message, destination, reason, failed_at)
       SELECT id, connector, route, event_id, time, key, message, destination, ?, ? FROM outbox WHERE id = ? AND connector = ?`,
    );
    this.settleRows = db.prepare('DELETE FROM outbox WHERE connector = ? AND id <= ?');
    this.insert = db.prepare(
      'INSERT INTO outbox (connector, route, event_id, time, key, message, destination) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.trimAge = db.prepare('DELETE FROM outbox WHERE connector = ? AND id > ? AND time < ?');
    this.trimCount = db.prepare(
      'DELETE FROM outbox WHERE connector = ? AND id IN (SELECT id FROM outbox WHERE connector = ? AND id > ? ORDER BY id LIMIT ?)',
    );
    this.countRows = db.prepare('SELECT count(*) AS n FROM outbox WHERE connector = ?').pluck();
    const revive = `INSERT INTO outbox (connector, route, event_id, time, key, message, destination)
       SELECT connector, route, event_id, time, key, message, destination FROM outbox_dead WHERE connector = ?`;
    this.reviveSome = db.prepare(`${revive} AND id = ?`);
    this.reviveAll = db.prepare(`${revive} ORDER BY id`);
    this.dropDeadSome = db.prepare('DELETE FROM outbox_dead WHERE connector = ? AND id = ?');
    this.dropDeadAll = db.prepare('DELETE FROM outbox_dead WHERE connector = ?');
    this.replayRow = db.prepare(
      `INSERT INTO outbox (connector, route, event_id, time, key)
       SELECT ?, ?, id, ?, ? FROM events WHERE id = ?`,
    );
    this.settleTx = db.transaction((connector, throughId, nowMs, dead) => {
      for (const d of dead) this.bury.run(d.reason, nowMs, d.id, connector);
      return this.settleRows.run(connector, throughId).changes;
    });
    this.trimTx = db.transaction((nowMs, limits) => {
      const dropped: Record<string, number> = {};
      for (const limit of limits) {
        let n = 0;
        const after = limit.keepThrough ?? 0;
        if (limit.maxAgeMs > 0) n += this.trimAge.run(limit.connector, after, nowMs - limit.maxAgeMs).changes;
        if (limit.maxEvents > 0) {
          const excess = (this.countRows.get(limit.connector) as number) - limit.maxEvents;
          if (excess > 0) n += this.trimCount.run(limit.connector, limit.connector, after, excess).changes;
        }
        if (n > 0) dropped[limit.connector] = n;
      }
      return dropped;
    });
    this.addTx = db.transaction((entries) => {
      for (const e of entries)
        this.insert.run(e.connector, e.route, null, e.time, e.key, Buffer.from(e.message), e.destination);
      return entries.length;
    });
    this.reviveTx = db.transaction((connector, ids) => {
      if (ids.length === 0) {
        const n = this.reviveAll.run(connector).changes;
        this.dropDeadAll.run(connector);
        return n;
      }
      let n = 0;
      for (const id of ids) {
        n += this.reviveSome.run(connector, id).changes;
        this.dropDeadSome.run(connector, id);
      }
      return n;
    });
    this.replayTx = db.transaction((connector, nowMs, rows) => {
      let n = 0;
      for (const [route, eventId, key] of rows)
        n += this.replayRow.run(connector, route, nowMs, key, eventId).changes;
      return n;
    });
  }

  /** Removes what a connector delivered (every row through `throughId`), burying `dead` first. */
  settle(
    connector: string,
    throughId: number,
    nowMs: number,
    dead: { id: number; reason: string }[],
  ): number {
    return this.settleTx(connector, throughId, nowMs, dead);
  }

  /** Drops rows beyond each bound, oldest first; returns the count dropped per connector. */
  trim(nowMs: number, limits: OutboxLimit[]): Record<string, number> {
    return this.trimTx(nowMs, limits);
  }

  add(entries: OutboxEntry[]): number {
    return this.addTx(entries);
  }

  /** Dead letters back into the outbox, behind what waits there; returns how many. */
  revive(connector: string, ids: number[]): number {
    return this.reviveTx(connector, ids);
  }

  /** Stored events into a connector's outbox again, behind what waits there. */
  replay(connector: string, nowMs: number, rows: ReplayRow[]): number {
    return this.replayTx(connector, nowMs, rows);
  }
}
