import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MqttMessage } from '../../kernel/index.js';
import { EdgehubError, MemoryLogger, VirtualClock } from '../../kernel/index.js';
import type { EventStoreDeps, WriterControl } from './event-store.js';
import { EventStore } from './event-store.js';
import { openEventReader } from './event-reader.js';
import { eventsDbPath } from './schema.js';

const FLUSH_MS = 100;
const DAY_MS = 86_400_000;

let dir: string;
let clock: VirtualClock;
let logger: MemoryLogger;
let stores: EventStore[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'edgehub-store-'));
  clock = new VirtualClock(Date.UTC(2026, 0, 1));
  logger = new MemoryLogger();
  stores = [];
});

afterEach(async () => {
  for (const s of stores) await s.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** The error code the store's writer opening `file` fails with, in a process running as nobody. */
function openWriterAsNobody(file: string): string {
  const writer = new URL('./open-writer.ts', import.meta.url).href;
  const script = `import(${JSON.stringify(writer)}).then((m) => { try { m.openWriter(${JSON.stringify(file)}); console.log('opened'); } catch (e) { console.log(e.code); } })`;
  const result = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], {
    uid: 65534,
    gid: 65534,
    encoding: 'utf8',
    // From the project, where tsx resolves.
    cwd: process.cwd(),
  });
  if (result.status !== 0) throw new Error(`the child running as nobody failed: ${result.stderr}`);
  return result.stdout.trim();
}

function makeStore(overrides: Partial<EventStoreDeps['options']> = {}, testing?: EventStoreDeps['testing']) {
  const deps: EventStoreDeps = {
    file: eventsDbPath(dir),
    clock,
    logger,
    options: {
      flushIntervalMs: FLUSH_MS,
      batchSize: 100,
      retention: { maxAgeMs: 30 * DAY_MS, maxSizeBytes: 1024 * 1024 * 1024, checkEveryMs: 600_000 },
      ...overrides,
    },
  };
  if (testing) deps.testing = testing;
  const store = new EventStore(deps);
  stores.push(store);
  return store;
}

function reading(seq: number, device = 'dev1'): MqttMessage {
  return {
    topic: `sensors/${device}/temperature`,
    payload: Buffer.from(JSON.stringify({ value: 20 + seq / 10, seq })),
    qos: 1,
    retain: false,
    clientId: `sim-${device}`,
    receivedAt: clock.now(),
  };
}

/** Events in the file as another process sees them, by their `seq`. */
function seqsOnDisk(): number[] {
  const reader = openEventReader(eventsDbPath(dir));
  try {
    return reader.query({ order: 'asc' }).map((e) => (e.payload as { seq: number }).seq);
  } finally {
    reader.close();
  }
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

describe('batching', () => {
  it('writes a batch as soon as batchSize events are waiting, the rest on the flush timer', async () => {
    const store = makeStore({ batchSize: 100 });
    store.start();
    for (let i = 0; i < 250; i++) store.append(reading(i));
    await store.idle();
    expect(store.stats()).toMatchObject({ stored: 200, buffered: 50 });
    expect(seqsOnDisk()).toEqual(range(0, 200));

    clock.advance(FLUSH_MS);
    await store.idle();
    expect(store.stats()).toMatchObject({ stored: 250, buffered: 0, dropped: 0, writeErrors: 0 });
    expect(seqsOnDisk()).toEqual(range(0, 250));
  });

  it('writes nothing before the flush interval when the batch is not full', async () => {
    const store = makeStore({ batchSize: 100 });
    store.start();
    for (let i = 0; i < 10; i++) store.append(reading(i));
    clock.advance(FLUSH_MS - 1);
    await store.idle();
    expect(seqsOnDisk()).toEqual([]);
    clock.advance(1);
    await store.idle();
    expect(seqsOnDisk()).toEqual(range(0, 10));
  });

  it('stop() writes every buffered event, is idempotent, and a restarted store keeps them', async () => {
    const store = makeStore({ batchSize: 1000 });
    store.start();
    for (let i = 0; i < 37; i++) store.append(reading(i));
    await store.stop();
    await store.stop();
    expect(store.stats()).toMatchObject({ stored: 37, buffered: 0, dropped: 0 });
    expect(seqsOnDisk()).toEqual(range(0, 37));
    expect(clock.pending()).toEqual([]);

    const again = makeStore();
    again.start();
    again.append(reading(37));
    expect(again.query({ order: 'asc' }).map((e) => (e.payload as { seq: number }).seq)).toEqual(
      range(0, 38),
    );
  });

  it('counts messages appended after stop() as dropped instead of throwing', async () => {
    const store = makeStore();
    store.start();
    await store.stop();
    expect(() => store.append(reading(1))).not.toThrow();
    expect(store.stats().dropped).toBe(1);
    expect(logger.entries.filter((e) => e.level === 'warn')).toHaveLength(1);
  });

  it('keeps events appended before start() and writes them once started', async () => {
    const store = makeStore();
    store.append(reading(0));
    store.start();
    clock.advance(FLUSH_MS);
    await store.idle();
    expect(seqsOnDisk()).toEqual([0]);
  });

  it('queries on the store see events that are still buffered', () => {
    const store = makeStore({ batchSize: 1000 });
    store.start();
    store.append(reading(1));
    expect(store.query()).toHaveLength(1);
  });
});

describe('opening the database', () => {
  it('creates a missing data directory', () => {
    dir = join(dir, 'nested', 'data');
    const store = makeStore();
    store.start();
    store.append(reading(1));
    store.flush();
    expect(seqsOnDisk()).toEqual([1]);
  });

  it('fails with DATA_DIR_UNWRITABLE naming the path when the directory cannot be created', () => {
    const blocker = join(dir, 'not-a-dir');
    writeFileSync(blocker, 'a file where the data directory should be');
    const store = new EventStore({
      file: eventsDbPath(join(blocker, 'data')),
      clock,
      logger,
      options: {
        flushIntervalMs: FLUSH_MS,
        batchSize: 10,
        retention: { maxAgeMs: DAY_MS, maxSizeBytes: 1e9, checkEveryMs: 60_000 },
      },
    });
    const err = catchError(() => store.start());
    expect(err).toBeInstanceOf(EdgehubError);
    expect((err as EdgehubError).code).toBe('DATA_DIR_UNWRITABLE');
    expect((err as EdgehubError).message).toContain(join(blocker, 'data'));
    expect((err as EdgehubError).message).toContain('hub.data_dir');
  });

  it('fails with DATA_DIR_UNWRITABLE for a read-only directory', async () => {
    const { chmodSync } = await import('node:fs');
    chmodSync(dir, 0o555);
    try {
      // Root writes anywhere, so as root the store is opened by a child running as nobody.
      const code =
        process.getuid?.() === 0
          ? openWriterAsNobody(eventsDbPath(dir))
          : (catchError(() => makeStore().start()) as EdgehubError).code;
      expect(code).toBe('DATA_DIR_UNWRITABLE');
    } finally {
      chmodSync(dir, 0o700);
    }
  });

  it('refuses a file that is not a database with STORE_WRITE_FAILED', () => {
    writeFileSync(eventsDbPath(dir), 'x'.repeat(4096));
    const err = catchError(() => makeStore().start());
    expect((err as EdgehubError).code).toBe('STORE_WRITE_FAILED');
  });
});

describe('a second writer', () => {
  it('is told the database is locked, instead of waiting on it', async () => {
    makeStore().start();
    await stores[0]?.stop();
    const other = new BetterSqlite(eventsDbPath(dir));
    try {
      other.exec('BEGIN IMMEDIATE');
      const err = catchError(() => makeStore().start()) as EdgehubError;
      expect(err.code).toBe('STORE_WRITE_FAILED');
      expect(err.message).toContain('another edgehub');
    } finally {
      other.close();
    }
  });
});

describe('write failures', () => {
  let handle: WriterControl | undefined;
  const grab = { onOpen: (writer: WriterControl) => (handle = writer) };

  function errors() {
    return logger.entries.filter((e) => e.level === 'error');
  }

  it('keeps events buffered while the database is read-only and stores them once it is writable', async () => {
    const store = makeStore({ batchSize: 10 }, grab);
    store.start();
    handle?.pragma('query_only = ON');
    for (let i = 0; i < 35; i++) store.append(reading(i));
    await store.idle();
    for (let tick = 0; tick < 5; tick++) {
      clock.advance(FLUSH_MS);
      await store.idle();
    }
    expect(store.stats()).toMatchObject({ stored: 0, buffered: 35, dropped: 0 });
    expect(store.stats().writeErrors).toBeGreaterThanOrEqual(5);
    expect(errors()).toHaveLength(1);
    expect(errors()[0]?.fields).toMatchObject({ code: 'STORE_WRITE_FAILED', file: eventsDbPath(dir) });

    handle?.pragma('query_only = OFF');
    clock.advance(FLUSH_MS);
    await store.idle();
    expect(store.stats()).toMatchObject({ stored: 35, buffered: 0, dropped: 0 });
    expect(seqsOnDisk()).toEqual(range(0, 35));
    expect(logger.entries.at(-1)).toMatchObject({
      level: 'info',
      fields: { file: eventsDbPath(dir), dropped: 0 },
    });
  });

  it('reports as lag how long the oldest batch has waited for its commit, 0 once written', async () => {
    const store = makeStore({ batchSize: 10 }, grab);
    store.start();
    expect(store.lagMs()).toBe(0);
    handle?.pragma('query_only = ON');
    for (let i = 0; i < 15; i++) store.append(reading(i));
    await store.idle();
    for (let tick = 0; tick < 5; tick++) {
      clock.advance(FLUSH_MS);
      await store.idle();
    }
    // The first batch went to the writer when it filled, before the first tick.
    expect(store.lagMs()).toBe(5 * FLUSH_MS);

    handle?.pragma('query_only = OFF');
    clock.advance(FLUSH_MS);
    await store.idle();
    expect(store.stats()).toMatchObject({ stored: 15, buffered: 0 });
    expect(store.lagMs()).toBe(0);
  });

  it('drops the oldest events beyond the buffer cap and counts them as the gap', async () => {
    const store = makeStore({ batchSize: 10, maxBufferedEvents: 50 }, grab);
    store.start();
    handle?.pragma('query_only = ON');
    for (let i = 0; i < 80; i++) store.append(reading(i));
    await store.idle();
    expect(store.stats()).toMatchObject({ buffered: 50, dropped: 30 });

    handle?.pragma('query_only = OFF');
    clock.advance(FLUSH_MS);
    await store.idle();
    expect(store.stats()).toMatchObject({ stored: 50, buffered: 0, dropped: 30 });
    expect(seqsOnDisk()).toEqual(range(30, 80));
    const recovered = logger.entries.at(-1);
    expect(recovered?.level).toBe('warn');
    expect(recovered?.fields).toMatchObject({ dropped: 30 });
    expect(errors()).toHaveLength(1);
  });

  it('keeps the newest events up to the cap when acknowledged messages pour in during an outage', async () => {
    const store = makeStore({ batchSize: 1000, maxBufferedEvents: 50 }, grab);
    store.start();
    handle?.pragma('query_only = ON');
    // The first attempt fails and starts the outage; from then on nothing waits for a commit.
    const first = store.appendDurable({ ...reading(0), qos: 1 });
    await first;
    await store.idle();
    for (let i = 1; i < 80; i++) expect(store.appendDurable({ ...reading(i), qos: 1 })).toBeUndefined();
    clock.advance(FLUSH_MS);
    await store.idle();
    expect(store.stats()).toMatchObject({ buffered: 50, dropped: 30 });

    handle?.pragma('query_only = OFF');
    clock.advance(FLUSH_MS);
    await store.idle();
    expect(seqsOnDisk()).toEqual(range(30, 80));
  });

  it('survives a full disk and logs each new outage once', async () => {
    const store = makeStore({ batchSize: 10 }, grab);
    store.start();
    store.append(reading(0));
    store.flush();
    const pages = handle?.pragma('page_count', { simple: true }) as number;
    // A disk that is full: the database may not grow by a single page.
    handle?.pragma(`max_page_count = ${pages}`);
    const big = (i: number): MqttMessage => ({
      ...reading(i),
      payload: Buffer.from(JSON.stringify({ seq: i, pad: 'x'.repeat(2000) })),
    });
    for (let i = 1; i <= 20; i++) store.append(big(i));
    for (let tick = 0; tick < 3; tick++) {
      clock.advance(FLUSH_MS);
      await store.idle();
    }
    expect(store.stats().buffered).toBe(20);
    expect(errors()).toHaveLength(1);
    expect(errors()[0]?.fields).toMatchObject({ sqliteCode: 'SQLITE_FULL' });

    handle?.pragma('max_page_count = 1073741823');
    clock.advance(FLUSH_MS);
    await store.idle();
    expect(seqsOnDisk()).toEqual(range(0, 21));

    handle?.pragma(`max_page_count = ${handle.pragma('page_count', { simple: true }) as number}`);
    for (let i = 21; i <= 40; i++) store.append(big(i));
    clock.advance(FLUSH_MS);
    await store.idle();
    expect(errors()).toHaveLength(2);
  });

  it('loses buffered events at stop() only when they cannot be written, and says how many', async () => {
    const store = makeStore({ batchSize: 100 }, grab);
    store.start();
    handle?.pragma('query_only = ON');
    for (let i = 0; i < 7; i++) store.append(reading(i));
    await store.stop();
    expect(store.stats()).toMatchObject({ buffered: 0, dropped: 7 });
    expect(errors().at(-1)?.fields).toMatchObject({ code: 'STORE_WRITE_FAILED', lost: 7 });
  });
});

describe('readers', () => {
  it('see committed events while the hub keeps the database open', async () => {
    const store = makeStore({ batchSize: 1000 });
    store.start();
    const reader = openEventReader(eventsDbPath(dir));
    try {
      store.append(reading(1));
      await store.idle();
      expect(reader.query()).toHaveLength(0);
      clock.advance(FLUSH_MS);
      await store.idle();
      expect(reader.query().map((e) => e.topic)).toEqual(['sensors/dev1/temperature']);
      store.append(reading(2));
      clock.advance(FLUSH_MS);
      await store.idle();
      expect(reader.latest()).toEqual([
        expect.objectContaining({ deviceId: 'dev1', metric: 'temperature', value: 20.2 }),
      ]);
    } finally {
      reader.close();
    }
  });

  it('report a missing database by its path', () => {
    const file = eventsDbPath(join(dir, 'nowhere'));
    const err = catchError(() => openEventReader(file));
    expect((err as EdgehubError).code).toBe('USAGE');
    expect((err as EdgehubError).message).toContain(file);
  });

  it('refuse a file that is not an event database', () => {
    const text = join(dir, 'notes.txt');
    writeFileSync(text, 'not sqlite at all, just text long enough to be a header'.repeat(10));
    const other = join(dir, 'other.db');
    new BetterSqlite(other).exec('CREATE TABLE things (id INTEGER)').close();
    for (const file of [text, other]) {
      const err = catchError(() => openEventReader(file)) as EdgehubError;
      expect(err.message).toContain(`${file} is not an edgehub event database`);
    }
  });
});

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
}
