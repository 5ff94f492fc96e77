import type { Database as SqliteDatabase, Statement } from 'better-sqlite3';
import { EdgehubError, errorMessage } from '../../kernel/index.js';

/** One kept text of a rule file, as listed. */
export interface RuleFileVersionInfo {
  /** Counts up per file from 1; never reused, also after old versions are pruned. */
  readonly version: number;
  /** Epoch ms when this text was written to the rules directory (the file's modification time then). */
  readonly savedAt: number;
  /** Epoch ms, on the hub clock, when a save replaced it. */
  readonly replacedAt: number;
  /** Bytes of UTF-8. */
  readonly size: number;
}

export interface RuleFileVersion extends RuleFileVersionInfo {
  readonly text: string;
}

/**
 * In the rules database of the data folder (`<data_dir>/rules.db`), not beside the rules: the
 * installed service may write only its data folder (`ProtectSystem=strict`), and `edgehub backup`
 * copies every database there, so the history goes wherever the data goes.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS rule_file_versions (
  name        TEXT    NOT NULL,
  version     INTEGER NOT NULL,
  saved_at    INTEGER NOT NULL,
  replaced_at INTEGER NOT NULL,
  text        TEXT    NOT NULL,
  PRIMARY KEY (name, version)
) WITHOUT ROWID;
`;

export interface RuleFileVersionsDeps {
  /** Opens the database (`openRulesDb(rulesDbPath(dataDir))`); called by `start`. */
  open(): SqliteDatabase;
  /** Versions kept per file; older ones are deleted as new ones are added. */
  keep: number;
}

interface Statements {
  readonly last: Statement;
  readonly insert: Statement;
  readonly prune: Statement;
  readonly list: Statement;
  readonly get: Statement;
  readonly remove: Statement;
}

/** The previous texts of the rule files, a bounded number per file. */
export class RuleFileVersions {
  private db: SqliteDatabase | undefined;
  private statements: Statements | undefined;

  constructor(private readonly deps: RuleFileVersionsDeps) {}

  start(): void {
    if (this.db) return;
    let db: SqliteDatabase;
    try {
      db = this.deps.open();
      db.exec(SCHEMA);
    } catch (err) {
      throw new EdgehubError(
        'DATA_DIR_UNWRITABLE',
        `cannot open the rule file history: ${errorMessage(err)} (hub.data_dir)`,
        { cause: err },
      );
    }
    this.db = db;
    this.statements = {
      last: db.prepare('SELECT MAX(version) AS v FROM rule_file_versions WHERE name = ?'),
      insert: db.prepare(
        'INSERT INTO rule_file_versions (name, version, saved_at, replaced_at, text) VALUES (?, ?, ?, ?, ?)',
      ),
      prune: db.prepare('DELETE FROM rule_file_versions WHERE name = ? AND version <= ?'),
      list: db.prepare(
        `SELECT version, saved_at, replaced_at, length(CAST(text AS BLOB)) AS size
         FROM rule_file_versions WHERE name = ? ORDER BY version DESC`,
      ),
      get: db.prepare(
        'SELECT version, saved_at, replaced_at, text FROM rule_file_versions WHERE name = ? AND version = ?',
      ),
      remove: db.prepare('DELETE FROM rule_file_versions WHERE name = ? AND version = ?'),
    };
  }

  /** Safe to call more than once. */
  stop(): void {
    if (this.db?.open) this.db.close();
    this.db = this.statements = undefined;
  }

  /** Keeps `text` as the next version of `name`, drops the ones beyond `keep`; the new number. */
  add(name: string, text: string, savedAt: number, replacedAt: number): number {
    const s = this.require();
    const db = this.db as SqliteDatabase;
    return db.transaction(() => {
      const last = (s.last.get(name) as { v: number | null }).v ?? 0;
      const version = last + 1;
      s.insert.run(name, version, Math.round(savedAt), Math.round(replacedAt), text);
      s.prune.run(name, version - this.deps.keep);
      return version;
    })();
  }

  /** Newest first. */
  list(name: string): RuleFileVersionInfo[] {
    const rows = this.require().list.all(name) as {
      version: number;
      saved_at: number;
      replaced_at: number;
      size: number;
    }[];
    return rows.map((r) => ({
      version: r.version,
      savedAt: r.saved_at,
      replacedAt: r.replaced_at,
      size: r.size,
    }));
  }

  get(name: string, version: number): RuleFileVersion | undefined {
    const row = this.require().get.get(name, version) as
      { version: number; saved_at: number; replaced_at: number; text: string } | undefined;
    if (!row) return undefined;
    return {
      version: row.version,
      savedAt: row.saved_at,
      replacedAt: row.replaced_at,
      size: Buffer.byteLength(row.text),
      text: row.text,
    };
  }

  /** Takes back a version added for a save that then failed to write. */
  remove(name: string, version: number): void {
    this.require().remove.run(name, version);
  }

  private require(): Statements {
    if (!this.statements) {
      throw new EdgehubError(
        'RULE_FILE_WRITE_FAILED',
        'the rule file history is not open (the hub is stopped)',
      );
    }
    return this.statements;
  }
}
