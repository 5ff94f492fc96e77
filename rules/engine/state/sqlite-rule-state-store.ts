import type { Database as SqliteDatabase, Statement } from 'better-sqlite3';
import { migrate } from '../../../kernel/index.js';
import type { AlertRecord, RuleStateStore, StoredState } from './rule-state-store.js';
import { RULES_DB_SCHEMA } from './rules-db-schema.js';

interface Statements {
  all: Statement<[], StateRow>;
  put: Statement<[string, string, string, string, string]>;
  del: Statement<[string, string, string]>;
  alerts: Statement<[], { value: string }>;
  putAlert: Statement<[string, string]>;
}

interface StateRow {
  rule_id: string;
  fingerprint: string;
  slot: string;
  key: string;
  value: string;
}

/**
 * {@link RuleStateStore} on a better-sqlite3 handle: the hub's rules database (`rulesDbPath`), which
 * the trace store shares; these two tables are the engine's. Each change is one small statement; the
 * engine writes only when state changes (a crossing, a pending `for`, a parked run), not per reading.
 */
export class SqliteRuleStateStore implements RuleStateStore {
  private ready: { db: SqliteDatabase; stmts: Statements } | undefined;
  private closed = false;

  /**
   * `db` is a handle, or a function that opens one on first use (so a hub's constructor does no
   * I/O). `ownsHandle`: close the database in {@link close}.
   */
  constructor(
    private readonly db: SqliteDatabase | (() => SqliteDatabase),
    private readonly ownsHandle = false,
  ) {}

  private get open(): { db: SqliteDatabase; stmts: Statements } {
    if (this.ready) return this.ready;
    const db = typeof this.db === 'function' ? this.db() : this.db;
    migrate(db, RULES_DB_SCHEMA, db.name);
    const stmts: Statements = {
      all: db.prepare('SELECT rule_id, fingerprint, slot, key, value FROM rule_state'),
      put: db.prepare(
        `INSERT INTO rule_state (rule_id, slot, key, fingerprint, value) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (rule_id, slot, key) DO UPDATE SET fingerprint = excluded.fingerprint, value = excluded.value`,
      ),
      del: db.prepare('DELETE FROM rule_state WHERE rule_id = ? AND slot = ? AND key = ?'),
      alerts: db.prepare('SELECT value FROM rule_alerts'),
      putAlert: db.prepare(
        'INSERT INTO rule_alerts (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      ),
    };
    this.ready = { db, stmts };
    return this.ready;
  }

  entries(): StoredState[] {
    return this.open.stmts.all.all().map((r) => ({
      ruleId: r.rule_id,
      fingerprint: r.fingerprint,
      slot: r.slot,
      key: r.key,
      value: JSON.parse(r.value) as unknown,
    }));
  }

  put(entry: StoredState): void {
    this.open.stmts.put.run(
      entry.ruleId,
      entry.slot,
      entry.key,
      entry.fingerprint,
      JSON.stringify(entry.value ?? null),
    );
  }

  delete(ruleId: string, slot: string, key: string): void {
    this.open.stmts.del.run(ruleId, slot, key);
  }

  deleteRule(ruleId: string, keepSlots: readonly string[] = []): void {
    const marks = keepSlots.map(() => '?').join(', ');
    const sql =
      keepSlots.length === 0
        ? 'DELETE FROM rule_state WHERE rule_id = ?'
        : `DELETE FROM rule_state WHERE rule_id = ? AND slot NOT IN (${marks})`;
    this.open.db.prepare(sql).run(ruleId, ...keepSlots);
  }

  alerts(): AlertRecord[] {
    return this.open.stmts.alerts.all().map((r) => JSON.parse(r.value) as AlertRecord);
  }

  putAlert(alert: AlertRecord): void {
    this.open.stmts.putAlert.run(alert.key, JSON.stringify(alert));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsHandle && this.ready) this.ready.db.close();
  }
}
