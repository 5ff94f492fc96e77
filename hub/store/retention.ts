import type { Database, Statement } from 'better-sqlite3';
import { ROLLUP_MS } from './schema.js';

export interface RetentionLimits {
  /** Events older than this (ms before now) are deleted. */
  maxAgeMs: number;
  /** Bytes of live database pages (events, their indexes, `latest`) to stay under. */
  maxSizeBytes: number;
}

/** What one retention step did. */
export interface RetentionStep {
  deletedByAge: number;
  deletedBySize: number;
  /** True when nothing is left to delete now. */
  done: boolean;
}

/**
 * Deletes old events in bounded steps, so a large backlog (a month of events after a config change)
 * is worked off between MQTT messages instead of in one long write that stalls the hub.
 */
export class Retention {
  private readonly deleteOlder: Statement<[number, number]>;
  private readonly deleteOldest: Statement<[number]>;
  private readonly minId: Statement<[], number | null>;
  private readonly maxId: Statement<[], number | null>;
  private readonly pruneLatestStmt: Statement;
  private readonly nextSeries: Statement<[string, string], { device_id: string; metric: string } | undefined>;
  private readonly oldestTime: Statement<[], number | null>;
  private readonly pruneSeries: Statement<[string, string, number]>;

  constructor(
    private readonly db: Database,
    private readonly limits: RetentionLimits,
  ) {
    // Through events_time: finding the oldest rows costs a range scan, not a table scan.
    this.deleteOlder = db.prepare(
      'DELETE FROM events WHERE id IN (SELECT id FROM events WHERE time < ? ORDER BY time LIMIT ?)',
    );
    // Oldest by id (arrival order): a rowid range, the cheapest rows to find and free.
    this.deleteOldest = db.prepare(
      'DELETE FROM events WHERE id IN (SELECT id FROM events ORDER BY id LIMIT ?)',
    );
    // Two statements: SQLite answers a lone min() or max() from the b-tree edge, but not both at once.
    this.minId = db.prepare<[], number | null>('SELECT min(id) FROM events').pluck();
    this.maxId = db.prepare<[], number | null>('SELECT max(id) FROM events').pluck();
    this.pruneLatestStmt = db.prepare(
      'DELETE FROM latest WHERE NOT EXISTS (SELECT 1 FROM events WHERE events.id = latest.event_id)',
    );
    // One series after another by the primary key, each found by a seek rather than a scan of all.
    this.nextSeries = db.prepare(
      'SELECT device_id, metric FROM rollups WHERE (device_id, metric) > (?, ?) ORDER BY device_id, metric LIMIT 1',
    );
    this.oldestTime = db.prepare<[], number | null>('SELECT min(time) FROM events').pluck();
    this.pruneSeries = db.prepare('DELETE FROM rollups WHERE device_id = ? AND metric = ? AND minute < ?');
  }

  /**
   * Bytes in use: deleted rows go to SQLite's freelist and are reused by later inserts, so the file
   * stays at its high-water mark; the live pages are what the size limit is about.
   */
  liveBytes(): number {
    const pageSize = this.db.pragma('page_size', { simple: true }) as number;
    const pages = this.db.pragma('page_count', { simple: true }) as number;
    const free = this.db.pragma('freelist_count', { simple: true }) as number;
    return (pages - free) * pageSize;
  }

  /** Deletes at most `maxRows` events: first those past the age limit, then the oldest while over size. */
  step(nowMs: number, maxRows: number): RetentionStep {
    const byAge = this.deleteOlder.run(nowMs - this.limits.maxAgeMs, maxRows).changes;
    if (byAge >= maxRows) return { deletedByAge: byAge, deletedBySize: 0, done: false };
    const excess = this.liveBytes() - this.limits.maxSizeBytes;
    if (excess <= 0) return { deletedByAge: byAge, deletedBySize: 0, done: true };
    const rows = Math.min(this.rowsFor(excess), maxRows - byAge);
    const bySize = this.deleteOldest.run(rows).changes;
    // Freed pages are only known after the delete; the next step measures again.
    return { deletedByAge: byAge, deletedBySize: bySize, done: bySize === 0 };
  }

  /** Drops `latest` entries whose event retention deleted, so `latest` never points at a missing event. */
  pruneLatest(): number {
    return this.pruneLatestStmt.run().changes;
  }

  /**
   * Drops the per-minute rollups older than the oldest event left, so a chart never shows minutes
   * whose events are gone. Returns the rows deleted.
   */
  pruneRollups(): number {
    const oldest = this.oldestTime.get() ?? null;
    const before = oldest === null ? Number.MAX_SAFE_INTEGER : Math.floor(oldest / ROLLUP_MS);
    let deleted = 0;
    let series = this.nextSeries.get('', '');
    while (series) {
      deleted += this.pruneSeries.run(series.device_id, series.metric, before).changes;
      series = this.nextSeries.get(series.device_id, series.metric);
    }
    return deleted;
  }

  /** Events to delete to free about `excessBytes`, from the average live bytes per event. */
  private rowsFor(excessBytes: number): number {
    const min = this.minId.get() ?? 0;
    const max = this.maxId.get() ?? 0;
    // The id span over-counts rows when age retention left gaps, which only makes each step smaller.
    const span = Math.max(1, max - min + 1);
    const perRow = Math.max(1, this.liveBytes() / span);
    return Math.max(1, Math.ceil(excessBytes / perRow));
  }
}
