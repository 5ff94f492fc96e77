import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import BetterSqlite from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { Hub, eventsDbPath, loadConfig, openEventReader } from '../hub/index.js';
import { openBackup, restoreBackup } from '../hub/backup/index.js';
import { schemaChecks } from '../hub/doctor/schema-checks.js';
import { DATA_FOLDER_SCHEMAS } from '../hub/upgrade/index.js';
import { EdgehubError, MemoryLogger, migrate, schemaVersionOf } from '../kernel/index.js';
import { NOTIFICATIONS_DB_SCHEMA } from '../hub/notifiers/index.js';
import {
  FIXTURE_EVENTS,
  FIXTURE_RAW_TOPIC,
  FIXTURE_SECONDS,
  FIXTURE_SERIES,
  FIXTURE_T0,
  PREVIOUS_SCHEMA_DIR,
} from './fixtures/make-previous-schema.js';
import { useHubKit } from './support/hub-kit.js';
import { nextMessage } from './support/mqtt-client.js';
import { writeFiles } from './support/temp.js';

const { temp, pool, keep } = useHubKit();

/** A hub on `dataDir` with rules (so rules.db is used), no HTTP, port 0. */
function makeHub(dataDir: string, logger = new MemoryLogger()): Hub {
  const rulesDir = temp.make('edgehub-upgrade-rules-');
  writeFiles(rulesDir, {
    'r.yaml':
      'rules:\n  - id: too-hot\n    when:\n      mqtt: sensors/+/temperature\n    then:\n      - log: hot\n',
  });
  const config = loadConfig(undefined, { mqttPort: 0, wsPort: null, dataDir, rulesDir, demo: false });
  return keep(new Hub({ config: { ...config, http: { ...config.http, port: null } }, logger }));
}

function previousFolder(): string {
  const data = join(temp.make('edgehub-upgrade-'), 'data');
  mkdirSync(data);
  for (const f of readdirSync(PREVIOUS_SCHEMA_DIR).filter((n) => n.endsWith('.db'))) {
    copyFileSync(join(PREVIOUS_SCHEMA_DIR, f), join(data, f));
  }
  return data;
}

function userVersion(file: string): number {
  const db = new BetterSqlite(file, { readonly: true, fileMustExist: true });
  try {
    return db.pragma('user_version', { simple: true }) as number;
  } finally {
    db.close();
  }
}

/** What SQLite records of a database's tables and indexes, as text, plus its version. */
function schemaOf(file: string): { version: number; objects: unknown[] } {
  const db = new BetterSqlite(file, { readonly: true, fileMustExist: true });
  try {
    return {
      version: db.pragma('user_version', { simple: true }) as number,
      objects: db.prepare('SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY type, name').all(),
    };
  } finally {
    db.close();
  }
}

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

describe('a hub started on a data folder made by the previous schema', () => {
  it('backs the folder up, migrates every database, and keeps every event', async () => {
    const data = previousFolder();
    const logger = new MemoryLogger();
    const hub = makeHub(data, logger);
    await hub.start();
    // The broker state came through: the retained message of the old folder is delivered.
    const client = await pool.connect(`mqtt://127.0.0.1:${hub.broker.mqttAddress?.port}`);
    const retained = nextMessage(client, 'status/greenhouse-1');
    await client.subscribeAsync('status/#');
    expect((await retained).payload.toString()).toBe('online');
    await pool.closeAll();
    await hub.stop();

    // The backup was taken first, and the log says where.
    const backups = readdirSync(join(data, 'backups'));
    expect(backups).toHaveLength(1);
    expect(backups[0]).toMatch(
      /^pre-migrate-events\.db-2-to-4-rules\.db-0-to-1-notifications\.db-0-to-1-\d{8}T\d{6}Z\.tar$/,
    );
    const archive = join(data, 'backups', backups[0]!);
    const logged = logger.entries.find((e) => e.msg.includes('backed up before migrating'));
    expect(logged?.fields?.['backup']).toBe(archive);

    // Every database is at this edgehub's version, and its tables are those a new folder gets.
    const fresh = join(temp.make('edgehub-upgrade-fresh-'), 'data');
    const freshHub = makeHub(fresh);
    await freshHub.start();
    await freshHub.stop();
    // The hub without notifiers makes no notifications.db: that one is made as its store would.
    const blank = new BetterSqlite(join(fresh, 'notifications.db'));
    migrate(blank, NOTIFICATIONS_DB_SCHEMA);
    blank.close();
    for (const schema of DATA_FOLDER_SCHEMAS) {
      const migrated = schemaOf(join(data, schema.file));
      expect({ file: schema.file, version: migrated.version }).toEqual({
        file: schema.file,
        version: schemaVersionOf(schema),
      });
      expect(migrated).toEqual(schemaOf(join(fresh, schema.file)));
    }
    const indexes = schemaOf(eventsDbPath(data)).objects.map((o) => (o as { name: string }).name);
    expect(indexes).toContain('events_device_metric_time');

    // Every event of the old folder is still there, byte for byte where it was binary.
    const reader = openEventReader(eventsDbPath(data));
    try {
      const old = reader.query({ until: FIXTURE_T0 + FIXTURE_SECONDS * 1000, order: 'asc' });
      expect(old).toHaveLength(FIXTURE_EVENTS);
      expect(old.at(-1)?.topic).toBe(FIXTURE_RAW_TOPIC);
      expect(old.at(-1)?.payload).toEqual(Buffer.from([0xff, 0x00, 0xfe]));
      for (const [device, metric] of FIXTURE_SERIES) {
        const series = reader.history(device, metric, FIXTURE_T0, FIXTURE_T0 + FIXTURE_SECONDS * 1000);
        expect(series.map((e) => e.metric)).toEqual(Array(FIXTURE_SECONDS).fill(metric));
        // Each old reading's number was filled in, so its chart counts every one.
        const chart = reader.downsample({
          device,
          metric,
          since: FIXTURE_T0,
          until: FIXTURE_T0 + FIXTURE_SECONDS * 1000,
          bucketMs: FIXTURE_SECONDS * 1000 + 1,
        });
        expect(chart.map((b) => b.n)).toEqual([FIXTURE_SECONDS]);
      }
    } finally {
      reader.close();
    }

    // The archive restores the folder as it was before the migration.
    const restored = join(temp.make('edgehub-upgrade-restored-'), 'data');
    restoreBackup(openBackup(archive), { dataDir: restored, force: false });
    expect(userVersion(eventsDbPath(restored))).toBe(2);
    expect(userVersion(join(restored, 'rules.db'))).toBe(0);
    const before = openEventReader(eventsDbPath(restored));
    try {
      expect(before.query()).toHaveLength(FIXTURE_EVENTS);
    } finally {
      before.close();
    }
  });

  it('migrates nothing and takes no backup the second time', async () => {
    const data = previousFolder();
    const first = makeHub(data);
    await first.start();
    await first.stop();
    const logger = new MemoryLogger();
    const again = makeHub(data, logger);
    await again.start();
    expect(readdirSync(join(data, 'backups'))).toHaveLength(1);
    expect(logger.entries.filter((e) => e.msg.includes('migrat'))).toEqual([]);
  });
});

describe('a hub started on a data folder from a newer edgehub', () => {
  it('refuses with DATA_FOLDER_NEWER naming the file and both versions, and touches nothing', async () => {
    const data = previousFolder();
    const events = eventsDbPath(data);
    const db = new BetterSqlite(events);
    db.pragma('user_version = 99');
    db.close();
    const files = readdirSync(data).filter((f) => f.endsWith('.db'));
    const hashes = files.map((f) => [f, sha256(join(data, f))]);

    const hub = makeHub(data);
    const err = await hub.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(EdgehubError);
    expect((err as EdgehubError).code).toBe('DATA_FOLDER_NEWER');
    const message = (err as EdgehubError).message;
    expect(message).toContain(events);
    expect(message).toContain('schema version 99');
    expect(message).toContain('knows only up to 4');

    // Reading the versions may leave an empty -wal and -shm beside a file; the databases are as they were.
    expect(files.map((f) => [f, sha256(join(data, f))])).toEqual(hashes);
    expect(readdirSync(data).filter((f) => f.endsWith('.db'))).toEqual(files);
    expect(existsSync(join(data, 'backups'))).toBe(false);
  });
});

describe('edgehub doctor on data folders of each kind', () => {
  const verdicts = (data: string) => schemaChecks(data).map((r) => [r.check, r.status]);

  it('warns of a pending migration, fails a newer file, and says each version', async () => {
    const data = previousFolder();
    expect(verdicts(data)).toEqual([
      ['schema.events.db', 'WARN'],
      ['schema.broker.db', 'OK'],
      ['schema.rules.db', 'WARN'],
      ['schema.notifications.db', 'WARN'],
    ]);
    expect(schemaChecks(data)[0]?.message).toMatch(/schema version 2; this edgehub migrates it to 4/);

    await makeHub(data).start();
    await pool.closeAll();
    expect(verdicts(data).map(([, status]) => status)).toEqual(['OK', 'OK', 'OK', 'OK']);
    expect(schemaChecks(data)[0]?.message).toContain('schema version 4');

    const db = new BetterSqlite(join(data, 'broker.db'));
    db.pragma('user_version = 7');
    db.close();
    const newer = schemaChecks(data).find((r) => r.check === 'schema.broker.db');
    expect(newer?.status).toBe('FAIL');
    expect(newer?.message).toContain('schema version 7, newer than 2');
  });
});
