import type { DatabaseSchema } from '../../../kernel/index.js';

/**
 * The hub's rules database (`<data_dir>/rules.db`): `rule_state` and `rule_alerts` are the engine's
 * durable timing state and alerts, `rule_traces` the stored runs `edgehub trace` reads. Each owner
 * runs `migrate` on its own connection before using its tables, and the hub runs it at start.
 */
export const RULES_DB_SCHEMA: DatabaseSchema = {
  file: 'rules.db',
  what: 'rule traces and rule state',
  migrations: [
    {
      to: 1,
      // Before versions, both owners created their tables and left user_version at 0. The text is
      // theirs, indentation included: SQLite keeps it in sqlite_schema, where new and old files match.
      why: 'rule state, alerts and traces',
      sql: `
      CREATE TABLE IF NOT EXISTS rule_state (
        rule_id TEXT NOT NULL,
        slot TEXT NOT NULL,
        key TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (rule_id, slot, key)
      ) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS rule_alerts (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rule_traces (
  id INTEGER PRIMARY KEY,
  rule_id TEXT NOT NULL,
  outcome TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  finished_at INTEGER NOT NULL,
  run TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS rule_traces_rule ON rule_traces (rule_id, outcome, id);`,
    },
  ],
};
