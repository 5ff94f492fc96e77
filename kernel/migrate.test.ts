import BetterSqlite from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { EdgehubError } from './errors.js';
import { migrate, readSchemaVersion, schemaVersionOf, type DatabaseSchema } from './migrate.js';

const SCHEMA: DatabaseSchema = {
  file: 'things.db',
  what: 'things',
  migrations: [
    { to: 1, why: 'things', sql: 'CREATE TABLE IF NOT EXISTS things (id INTEGER PRIMARY KEY, name TEXT)' },
    { to: 2, why: 'things by name', sql: 'CREATE INDEX IF NOT EXISTS things_name ON things (name)' },
  ],
};

function tables(db: BetterSqlite.Database): string[] {
  return (db.prepare('SELECT name FROM sqlite_schema ORDER BY name').all() as { name: string }[]).map(
    (r) => r.name,
  );
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof EdgehubError ? err.code : `not an EdgehubError: ${String(err)}`;
  }
  return undefined;
}

describe('migrate', () => {
  it('runs every step on a new file and stamps the last version', () => {
    const db = new BetterSqlite(':memory:');
    expect(migrate(db, SCHEMA)).toEqual({ from: 0, to: 2 });
    expect(readSchemaVersion(db)).toBe(schemaVersionOf(SCHEMA));
    expect(tables(db)).toEqual(['things', 'things_name']);
    expect(migrate(db, SCHEMA)).toEqual({ from: 2, to: 2 });
  });

  it('stamps a file made before versions (user_version 0, tables there) and keeps its rows', () => {
    const db = new BetterSqlite(':memory:');
    db.exec(
      "CREATE TABLE things (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO things (name) VALUES ('a')",
    );
    expect(migrate(db, SCHEMA)).toEqual({ from: 0, to: 2 });
    expect(db.prepare('SELECT name FROM things').pluck().all()).toEqual(['a']);
    expect(tables(db)).toEqual(['things', 'things_name']);
  });

  it('runs only the steps after the version found', () => {
    const db = new BetterSqlite(':memory:');
    db.exec('CREATE TABLE things (id INTEGER PRIMARY KEY, name TEXT)');
    db.pragma('user_version = 1');
    expect(migrate(db, SCHEMA)).toEqual({ from: 1, to: 2 });
    expect(tables(db)).toEqual(['things', 'things_name']);
  });

  it('leaves the file as it was when a step fails', () => {
    const db = new BetterSqlite(':memory:');
    migrate(db, { ...SCHEMA, migrations: SCHEMA.migrations.slice(0, 1) });
    const broken: DatabaseSchema = {
      ...SCHEMA,
      migrations: [
        ...SCHEMA.migrations,
        {
          to: 3,
          why: 'a step that fails halfway',
          sql: 'CREATE TABLE more (x); CREATE INDEX bad ON nowhere (x)',
        },
      ],
    };
    expect(() => migrate(db, broken)).toThrow(/nowhere/);
    expect(readSchemaVersion(db)).toBe(1);
    expect(tables(db)).toEqual(['things']);
  });

  it('refuses a file from a newer schema with DATA_FOLDER_NEWER, naming file and versions', () => {
    const db = new BetterSqlite(':memory:');
    db.pragma('user_version = 5');
    expect(codeOf(() => migrate(db, SCHEMA, '/data/things.db'))).toBe('DATA_FOLDER_NEWER');
    expect(() => migrate(db, SCHEMA, '/data/things.db')).toThrow(/\/data\/things\.db.*version 5.*up to 2/);
    expect(tables(db)).toEqual([]);
  });
});
