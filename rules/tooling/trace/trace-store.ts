import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Database as SqliteDatabase, Statement } from 'better-sqlite3';
import {
  EdgehubError,
  errorMessage,
  type Clock,
  type Logger,
  migrate,
  type TimerHandle,
} from '../../../kernel/index.js';
import { RULES_DB_SCHEMA } from '../../engine/state/rules-db-schema.js';
import type { RuleRun, RunOutcome } from '../../engine/rule-run.js';
import { outcomeOf, type TraceOutcome } from './run-view.js';

/**
 * Stored traces: every rule run and near miss, kept per rule by outcome (the last N fired, N blocked,
 * N errors) in the hub's rules database, so "why did / didn't it fire?" can be answered from the CLI
 * and the API, also after a restart. Runs are buffered and written in one transaction per flush, so a
 * busy rule costs one insert per run in a batch, not one fsync.
 */

/** The rules database inside the hub's data directory; the engine keeps durable rule state there too. */
export function rulesDbPath(dataDir: string): string {
  return join(dataDir, RULES_DB_SCHEMA.file);
}

/** One stored run. */
export interface TraceRecord {
  readonly id: number;
  readonly ruleId: string;
  readonly outcome: TraceOutcome;
  /** Epoch ms on the hub clock. */
  readonly startedAt: number;
  readonly finishedAt: number;
  /** The run as the engine reported it (its shape may be newer or older than this code). */
  readonly run: Record<string, unknown>;
}

export interface TraceQuery {
  ruleId: string;
  outcome?: TraceOutcome;
  /** Most records returned, newest first; default 20. */
  limit?: number;
}

/** Per rule: how many runs are stored by outcome, and when the last one started. */
export interface TraceSummary {
  readonly ruleId: string;
  readonly fired: number;
  readonly blocked: number;
  readonly errors: number;
  /** Epoch ms; null without stored runs. */
  readonly lastAt: number | null;
}

export interface TraceReader {
  query(query: TraceQuery): TraceRecord[];
  summary(): TraceSummary[];
}

interface Row {
  id: number;
  rule_id: string;
  outcome: string;
  started_at: number;
  finished_at: number;
  run: string;
}

/** The SQL behind reading traces, shared by the writing store and read-only readers. */
class TraceQueries implements TraceReader {
  private readonly byOutcome: Statement;
  private readonly byRule: Statement;
  private readonly summaryStatement: Statement;

  constructor(db: SqliteDatabase) {
    this.byOutcome = db.prepare(
      'SELECT * FROM rule_traces WHERE rule_id = ? AND outcome = ? ORDER BY id DESC LIMIT ?',
    );
    this.byRule = db.prepare('SELECT * FROM rule_traces WHERE rule_id = ? ORDER BY id DESC LIMIT ?');
    this.summaryStatement = db.prepare(
      `SELECT rule_id, sum(outcome = 'fired') AS fired, sum(outcome = 'blocked') AS blocked,
              sum(outcome = 'error') AS errors, max(started_at) AS last_at
       FROM rule_traces GROUP BY rule_id ORDER BY rule_id`,
    );
  }

  query(query: TraceQuery): TraceRecord[] {
    const limit = query.limit ?? 20;
    const rows = (
      query.outcome === undefined
        ? this.byRule.all(query.ruleId, limit)
        : this.byOutcome.all(query.ruleId, query.outcome, limit)
    ) as Row[];
    return rows.map(toRecord);
  }

  summary(): TraceSummary[] {
    const rows = this.summaryStatement.all() as {
      rule_id: string;
      fired: number;
      blocked: number;
      errors: number;
      last_at: number | null;
    }[];
    return rows.map((r) => ({
      ruleId: r.rule_id,
      fired: r.fired,
      blocked: r.blocked,
      errors: r.errors,
      lastAt: r.last_at,
    }));
  }
}

function toRecord(row: Row): TraceRecord {
  let run: Record<string, unknown>;
  try {
    const parsed = JSON.parse(row.run) as unknown;
    run = parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
  } catch {
    run = {};
  }
  return {
    id: row.id,
    ruleId: row.rule_id,
    outcome: row.outcome as TraceOutcome,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    run,
  };
}

export interface TraceStoreDeps {
  /** The rules database (`rulesDbPath`), opened by the hub; the store migrates it to this edgehub's schema if needed. */
  db: SqliteDatabase;
  clock: Clock;
  logger: Logger;
  /** Runs kept per rule and outcome. */
  keep: number;
  /** Buffered runs are written at least this often, ms; default 250. */
  flushIntervalMs?: number;
  /** Runs held while writes fail; beyond it the oldest are dropped and counted. Default 10,000. */
  maxBuffered?: number;
}

const FLUSH_TIMER = 'rules.traces-flush';

/** The writing side: buffers runs from the engine's `onRun` and writes them in batches. */
export class TraceStore implements TraceReader {
  private queries: TraceQueries | undefined;
  private insert: Statement | undefined;
  private prune: Statement | undefined;
  /**
   * Runs waiting for the next flush, per rule and outcome, newest last. Only the newest `keep` of
   * each can survive the flush, so older ones are let go at once: a rule firing 30,000 times a
   * second would otherwise hold thousands of runs per flush interval, all of them garbage later.
   */
  private pending = new Map<string, Record<RunOutcome, Pending[]>>();
  /** Runs in `pending`. */
  private buffered = 0;
  /** Orders pending runs across rules and outcomes, so they are inserted in the order they finished. */
  private seq = 0;
  private timer: TimerHandle | undefined;
  private failing = false;
  private counters = { stored: 0, dropped: 0 };

  constructor(private readonly deps: TraceStoreDeps) {}

  /** Brings the rules database to this edgehub's schema if needed. */
  start(): void {
    if (this.queries) return;
    const { db } = this.deps;
    migrate(db, RULES_DB_SCHEMA, db.name);
    this.queries = new TraceQueries(db);
    this.insert = db.prepare(
      'INSERT INTO rule_traces (rule_id, outcome, started_at, finished_at, run) VALUES (?, ?, ?, ?, ?)',
    );
    // Everything older than the newest `keep` of one rule and outcome; the index makes it a range delete.
    this.prune = db.prepare(
      `DELETE FROM rule_traces WHERE rule_id = @rule AND outcome = @outcome AND id < (
         SELECT id FROM rule_traces WHERE rule_id = @rule AND outcome = @outcome
         ORDER BY id DESC LIMIT 1 OFFSET @offset)`,
    );
  }

  /** Takes a finished run (the engine's `onRun`); written on the next flush. */
  record(run: RuleRun): void {
    let lists = this.pending.get(run.ruleId);
    if (!lists) {
      lists = { fired: [], blocked: [], error: [] };
      this.pending.set(run.ruleId, lists);
    }
    const list = lists[run.outcome];
    list.push({ seq: this.seq++, run });
    this.buffered++;
    if (list.length > this.deps.keep) {
      list.shift();
      this.buffered--;
      this.counters.dropped++;
    }
    const max = this.deps.maxBuffered ?? 10_000;
    if (this.buffered > max) this.dropOldest(this.buffered - max);
    this.timer ??= this.deps.clock.setTimer(FLUSH_TIMER, this.deps.flushIntervalMs ?? 250, () => {
      this.timer = undefined;
      this.flush();
    });
  }

  /** Writes the buffered runs now; on failure they stay buffered for the next attempt. */
  flush(): void {
    const { db, keep, logger } = this.deps;
    if (this.buffered === 0 || !this.insert || !this.prune || !db.open) return;
    const batch = inOrder(this.pending);
    const insert = this.insert;
    const prune = this.prune;
    try {
      db.transaction(() => {
        const touched = new Map<string, [string, string]>();
        for (const run of batch) {
          const outcome = outcomeOf(run);
          insert.run(run.ruleId, outcome, run.startedAt, run.finishedAt, serialise(run));
          touched.set(`${run.ruleId}\u0000${outcome}`, [run.ruleId, outcome]);
        }
        for (const [rule, outcome] of touched.values()) prune.run({ rule, outcome, offset: keep - 1 });
      })();
      this.counters.stored += batch.length;
      this.pending = new Map();
      this.buffered = 0;
      if (this.failing) logger.info('writing rule traces works again');
      this.failing = false;
    } catch (err) {
      if (!this.failing) logger.error('writing rule traces failed; retrying', { error: errorMessage(err) });
      this.failing = true;
      this.timer ??= this.deps.clock.setTimer(FLUSH_TIMER, this.deps.flushIntervalMs ?? 250, () => {
        this.timer = undefined;
        this.flush();
      });
    }
  }

  /** Newest first; buffered runs are written first so a query sees every finished run. */
  query(query: TraceQuery): TraceRecord[] {
    this.flush();
    return this.queries?.query(query) ?? [];
  }

  summary(): TraceSummary[] {
    this.flush();
    return this.queries?.summary() ?? [];
  }

  /** Runs written, and runs dropped (beyond `keep` within one batch, or while writes failed). */
  stats(): { stored: number; dropped: number; buffered: number } {
    return { ...this.counters, buffered: this.buffered };
  }

  /** Writes what is buffered and stops the flush timer; the hub closes the database. Idempotent. */
  stop(): void {
    this.deps.clock.clearTimer(this.timer);
    this.timer = undefined;
    this.flush();
  }

  /** Beyond `maxBuffered` (many rules while writes fail): the oldest runs of any rule go first. */
  private dropOldest(count: number): void {
    for (let n = 0; n < count; n++) {
      let oldest: Pending[] | undefined;
      for (const lists of this.pending.values()) {
        for (const list of [lists.fired, lists.blocked, lists.error]) {
          const first = list[0];
          if (first && (oldest?.[0]?.seq ?? Infinity) > first.seq) oldest = list;
        }
      }
      if (!oldest) return;
      oldest.shift();
      this.buffered--;
      this.counters.dropped++;
    }
  }
}

interface Pending {
  readonly seq: number;
  readonly run: RuleRun;
}

/** The pending runs of every rule and outcome, oldest first. */
function inOrder(pending: ReadonlyMap<string, Record<RunOutcome, readonly Pending[]>>): RuleRun[] {
  const all: Pending[] = [];
  for (const lists of pending.values()) all.push(...lists.fired, ...lists.blocked, ...lists.error);
  all.sort((a, b) => a.seq - b.seq);
  return all.map((p) => p.run);
}

/** JSON with Buffers as text, so a binary payload does not become a list of byte values. */
function serialise(run: RuleRun): string {
  try {
    return JSON.stringify(run, (_key, value: unknown) => {
      if (value !== null && typeof value === 'object' && (value as { type?: unknown }).type === 'Buffer') {
        const data = (value as { data?: unknown }).data;
        return Array.isArray(data) ? Buffer.from(data as number[]).toString('utf8') : value;
      }
      return typeof value === 'bigint' ? value.toString() : value;
    });
  } catch (err) {
    // A run whose values cannot be turned into JSON still leaves its outcome and times.
    return JSON.stringify({ ruleId: run.ruleId, outcome: outcomeOf(run), unserialisable: errorMessage(err) });
  }
}

/** Read-only traces for the CLI; safe while the hub writes them (WAL). */
export function openTraceReader(file: string): TraceReader & { close(): void } {
  if (!existsSync(file)) {
    throw new EdgehubError(
      'TRACES_UNAVAILABLE',
      `no rules database at ${file}; the hub creates it when it runs rules (hub.data_dir), or pass the data directory it uses`,
    );
  }
  let db: SqliteDatabase;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 5000');
  } catch (err) {
    throw new EdgehubError('TRACES_UNAVAILABLE', `cannot read ${file}: ${errorMessage(err)}`, { cause: err });
  }
  let queries: TraceQueries;
  try {
    queries = new TraceQueries(db);
  } catch (err) {
    db.close();
    throw new EdgehubError('TRACES_UNAVAILABLE', `${file} holds no rule traces: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  return {
    query: (q) => queries.query(q),
    summary: () => queries.summary(),
    close: () => {
      if (db.open) db.close();
    },
  };
}

/** Opens (creating) the rules database for writing: WAL, so `edgehub trace` reads while the hub writes. */
export function openRulesDb(file: string): SqliteDatabase {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  // NORMAL in WAL mode fsyncs only at checkpoints; losing the last traces on power loss is acceptable.
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 1000');
  // KiB when negative. Traces are appended and pruned, rule state is a handful of rows: SQLite's
  // default 2 MiB cache would only fill with trace pages written once.
  db.pragma('cache_size = -512');
  return db;
}
