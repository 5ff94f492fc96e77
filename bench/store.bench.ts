/**
 * The event store's two speed targets: ingest through append + flush (the broker's hot path) and a
 * one-device, one-hour history query over 5 million stored events (what a dashboard or rule asks).
 *
 * `node --import tsx bench/store.bench.ts` runs it alone; `EDGEHUB_BENCH_EVENTS` scales the big table.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import type { MqttMessage } from '../kernel/index.js';
import { ConsoleLogger, SystemClock } from '../kernel/index.js';
import { EventStore, eventsDbPath, openEventReader } from '../hub/store/index.js';
import type { BenchResult } from './result.js';

const DEVICES = 200;
const METRICS = ['temperature', 'humidity', 'pressure', 'battery'] as const;
/** ms between events across the fleet: each device reports every 12 s, ~300 events per device-hour. */
const SPACING_MS = 60;
const HOUR_MS = 3_600_000;
const T0 = Date.UTC(2026, 0, 1);
const INGEST_EVENTS = 200_000;
const INGEST_RUNS = 3;
const QUERIES = 50;

export interface StoreBenchOptions {
  /** Events in the table the history query runs against; default 5,000,000. */
  storedEvents?: number;
}

/** Synchronous inside (better-sqlite3 is); a Promise to fit the bench runner's suite signature. */
export function storeBench(options: StoreBenchOptions = {}): Promise<BenchResult[]> {
  const stored = options.storedEvents ?? Number(process.env.EDGEHUB_BENCH_EVENTS ?? 5_000_000);
  const dir = mkdtempSync(join(tmpdir(), 'edgehub-store-bench-'));
  try {
    const ingest = measureIngest(join(dir, 'ingest'));
    const history = measureHistory(join(dir, 'history'), stored);
    return Promise.resolve([
      {
        name: 'store: ingest through append + flush (batch 2,000, SQLite WAL, synchronous=NORMAL)',
        figures: {
          'events/s (median of 3)': ingest.median,
          'events/s (each run)': ingest.runs.join(' / '),
          'events per run': INGEST_EVENTS,
        },
        target: '≥ 100,000 events/s',
        pass: ingest.median >= 100_000,
      },
      {
        name: `store: device history, 1-hour window, over ${stored.toLocaleString('en')} events`,
        figures: {
          'p50 ms': history.p50,
          'p95 ms': history.p95,
          'max ms': history.max,
          'rows per query (mean)': history.rows,
          'one metric p50 ms': history.metricP50,
          'first query, fresh reader ms': history.firstReaderMs,
          'queries timed': QUERIES,
          'populate events/s (batch 50,000)': history.populateRate,
          'database MiB': history.dbMiB,
        },
        target: 'p50 and max ≤ 10 ms',
        pass: history.p50 <= 10 && history.max <= 10,
      },
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function openStore(dataDir: string, batchSize: number): EventStore {
  const store = new EventStore({
    file: eventsDbPath(dataDir),
    clock: new SystemClock(),
    logger: new ConsoleLogger({ level: 'warn' }),
    options: {
      flushIntervalMs: 100,
      batchSize,
      // Retention off for the measurement: nothing here is old or over size.
      retention: { maxAgeMs: 100 * 365 * 86_400_000, maxSizeBytes: 1e15, checkEveryMs: 86_400_000 },
    },
  });
  store.start();
  return store;
}

/** The fleet's i-th event: devices round-robin, each cycling through its metrics. */
function fleetEvent(i: number): MqttMessage {
  const device = i % DEVICES;
  const metric = METRICS[Math.floor(i / DEVICES) % METRICS.length] ?? 'temperature';
  return {
    topic: `sensors/dev-${device}/${metric}`,
    payload: Buffer.from(`{"value":${(20 + (i % 997) / 100).toFixed(2)},"seq":${i}}`),
    qos: 1,
    retain: false,
    clientId: `sim-dev-${device}`,
    receivedAt: T0 + i * SPACING_MS,
  };
}

function measureIngest(dataDir: string): { median: number; runs: number[] } {
  const store = openStore(dataDir, 2000);
  // Messages are built first so the figure is the store's cost, not the generator's.
  const messages = Array.from({ length: INGEST_EVENTS }, (_, i) => fleetEvent(i));
  try {
    for (let i = 0; i < 20_000; i++) store.append(messages[i] as MqttMessage); // warm-up: JIT, page cache
    store.flush();
    const runs: number[] = [];
    for (let r = 0; r < INGEST_RUNS; r++) {
      const start = performance.now();
      for (const m of messages) store.append(m);
      store.flush();
      runs.push(Math.round(INGEST_EVENTS / ((performance.now() - start) / 1000)));
    }
    return { median: percentile(runs, 50), runs };
  } finally {
    // The database is closed when stop() returns; its promise is the writer thread exiting.
    void store.stop();
  }
}

function measureHistory(dataDir: string, count: number) {
  const store = openStore(dataDir, 50_000);
  let populateRate: number;
  const timings: number[] = [];
  const metricTimings: number[] = [];
  let rows = 0;
  const random = mulberry32(42);
  const lastTime = T0 + (count - 1) * SPACING_MS;
  const window = () => {
    const device = `dev-${Math.floor(random() * DEVICES)}`;
    const since = T0 + Math.floor(random() * Math.max(1, lastTime - T0 - HOUR_MS));
    return { device, since, until: since + HOUR_MS };
  };
  try {
    const start = performance.now();
    for (let i = 0; i < count; i++) store.append(fleetEvent(i));
    store.flush();
    populateRate = Math.round(count / ((performance.now() - start) / 1000));

    for (let q = 0; q < QUERIES; q++) {
      const { device, since, until } = window();
      const t = performance.now();
      rows += store.history(device, since, until).length;
      timings.push(performance.now() - t);
    }
    for (let q = 0; q < QUERIES; q++) {
      const { device, since, until } = window();
      const t = performance.now();
      store.history(device, 'temperature', since, until);
      metricTimings.push(performance.now() - t);
    }
  } finally {
    // The database is closed when stop() returns; its promise is the writer thread exiting.
    void store.stop();
  }
  // A new connection has an empty SQLite cache: what `edgehub events` pays on its one query.
  const reader = openEventReader(eventsDbPath(dataDir));
  let firstReaderMs: number;
  try {
    const { device, since, until } = window();
    const t = performance.now();
    reader.history(device, since, until);
    firstReaderMs = performance.now() - t;
  } finally {
    reader.close();
  }
  return {
    p50: round(percentile(timings, 50)),
    p95: round(percentile(timings, 95)),
    max: round(Math.max(...timings)),
    rows: Math.round(rows / QUERIES),
    metricP50: round(percentile(metricTimings, 50)),
    firstReaderMs: round(firstReaderMs),
    populateRate,
    dbMiB: Math.round(statSync(eventsDbPath(dataDir)).size / 1024 / 1024),
  };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

/** A seeded PRNG so every run queries the same windows. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const r of await storeBench()) {
    const verdict = r.pass === undefined ? '' : r.pass ? '  PASS' : '  MISS';
    console.log(`\n${r.name}${verdict}`);
    if (r.target) console.log(`  target: ${r.target}`);
    for (const [k, v] of Object.entries(r.figures)) console.log(`  ${k.padEnd(34)} ${v}`);
  }
}
