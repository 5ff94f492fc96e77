/**
 * What the dashboard costs the hub, side by side in one run:
 * - the pipeline's gateway shape with 10 live-stream clients attached against the same hub with
 *   none, closed loop (throughput) and paced at 2,000 events/s (p99), turns alternating; the
 *   clients read in a process of their own, as browsers would;
 * - the chart query: 30 days of one metric at one reading per 10 s (~260k rows) downsampled to
 *   1,000 points through `GET /api/history`;
 * - RSS of the hub with the dashboard served and 3 clients against a hub without HTTP;
 * - the page weight of the built dashboard, gzipped, with the rule editor's chunks apart.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { MemoryLogger, SystemClock } from '../kernel/index.js';
import { EventStore, eventsDbPath } from '../hub/store/index.js';
import { BrokerProcess } from './broker-process.js';
import { SHAPES, Subject, type Shape } from './pipeline.bench.js';
import type { BenchResult } from './result.js';
import { percentile, round } from './stats.js';

const STREAM_CLIENTS = 10;
const TURNS = 3;
const DAY_MS = 86_400_000;
const CHART_DEVICE = 'bench-chart';
const CHART_EVERY_MS = 10_000;
const CHART_QUERIES = 20;
const DASHBOARD_DIR = fileURLToPath(new URL('../dist/dashboard/', import.meta.url));

/** Clients holding `GET /api/stream` open and reading everything, in their own process (bench/stream-readers.ts). */
class StreamClients {
  received = 0;

  private constructor(private readonly child: ChildProcess) {}

  static async open(port: number, count: number): Promise<StreamClients> {
    const child = fork(
      fileURLToPath(new URL('./stream-readers.ts', import.meta.url)),
      [String(port), String(count)],
      {
        execArgv: ['--import', 'tsx'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      },
    );
    await new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`the stream readers exited with ${code}`)));
      child.once('message', (m: { ready?: boolean; error?: string }) =>
        m.ready ? resolve() : reject(new Error(`the stream readers failed: ${m.error}`)),
      );
    });
    child.removeAllListeners('exit');
    return new StreamClients(child);
  }

  async close(): Promise<void> {
    const done = new Promise<number>((resolve) =>
      this.child.once('message', (m: { received: number }) => resolve(m.received)),
    );
    this.child.send('close');
    this.received = await done;
  }
}

function withHttp<T>(value: '0' | '1', start: () => Promise<T>): Promise<T> {
  const before = process.env.EDGEHUB_BENCH_HTTP;
  process.env.EDGEHUB_BENCH_HTTP = value;
  return start().finally(() => {
    if (before === undefined) delete process.env.EDGEHUB_BENCH_HTTP;
    else process.env.EDGEHUB_BENCH_HTTP = before;
  });
}

function httpPortOf(s: Subject): number {
  if (s.httpPort === undefined) throw new Error(`${s.name} runs no HTTP API`);
  return s.httpPort;
}

export async function liveStreamCost(): Promise<BenchResult[]> {
  const gateway = SHAPES.find((s) => s.key === 'b0') as Shape;
  const streamed: Shape = { ...gateway, key: 'b0-streams' };
  const hub = await withHttp('1', () => Subject.start('edgehub-server'));
  const port = httpPortOf(hub);
  let messages = 0;
  for (let turn = 0; turn < TURNS; turn++) {
    await hub.turn(gateway, turn === 0);
    const clients = await StreamClients.open(port, STREAM_CLIENTS);
    await hub.turn(streamed, turn === 0);
    await clients.close();
    messages = Math.max(messages, clients.received);
  }
  await hub.measurePaced(gateway);
  const bare = hub.paced;
  const clients = await StreamClients.open(port, STREAM_CLIENTS);
  await hub.measurePaced(gateway);
  const attached = hub.paced;
  await clients.close();
  await hub.stop();
  if (!bare || !attached) throw new Error('a paced phase did not run');

  const none = hub.figures(gateway.key);
  const ten = hub.figures(streamed.key);
  const ratio = round(ten.median.eventsPerSec / none.median.eventsPerSec);
  const p99Over = round(attached.p99 - bare.p99);
  return [
    {
      name: `dashboard: gateway shape with ${STREAM_CLIENTS} live-stream clients against none (median of ${TURNS} turns, alternating)`,
      figures: {
        'with clients events/s': ten.median.eventsPerSec,
        'without events/s': none.median.eventsPerSec,
        ratio,
        'with clients turns': ten.all.join(' / '),
        'without turns': none.all.join(' / '),
        'stream messages, busiest turn': messages,
      },
      target: '≥ 0.9× the same run with no client',
      pass: ratio >= 0.9,
    },
    {
      name: `dashboard: gateway shape paced at 2,000 events/s, ${STREAM_CLIENTS} live-stream clients against none`,
      figures: {
        'with clients p50/p99 ms': `${attached.p50} / ${attached.p99}`,
        'without p50/p99 ms': `${bare.p50} / ${bare.p99}`,
        'p99 over, ms': p99Over,
      },
      target: 'p99 within 1 ms of the run with no client',
      pass: p99Over <= 1,
    },
  ];
}

/** A data folder holding 30 days of one metric at one reading per 10 s, beside a second device's. */
async function chartData(): Promise<{ dir: string; rows: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'edgehub-bench-chart-'));
  process.env.EDGEHUB_BENCH_DATA = dir;
  // A hub starts on it once, so the events database has this edgehub's schema.
  const first = await withHttp('0', () => BrokerProcess.start('edgehub-server'));
  await first.stop();
  // Written through the event store, as the hub writes them: payload, number and per-minute rollups.
  const store = new EventStore({
    file: eventsDbPath(dir),
    clock: new SystemClock(),
    logger: new MemoryLogger(),
    options: {
      flushIntervalMs: 100,
      batchSize: 2_000,
      retention: { maxAgeMs: 365 * DAY_MS, maxSizeBytes: 1e12, checkEveryMs: DAY_MS },
    },
  });
  store.start();
  const append = (receivedAt: number, topic: string, payload: string) =>
    store.append({
      topic,
      payload: Buffer.from(payload),
      qos: 0,
      retain: false,
      clientId: 'bench',
      receivedAt,
    });
  // Inside the default 30-day retention, so the hub keeps every row at start.
  const end = Date.now();
  const start = end - 30 * DAY_MS + 3_600_000;
  let rows = 0;
  for (let t = start, i = 0; t < end; t += CHART_EVERY_MS, i++) {
    const value = round(20 + 5 * Math.sin(i / 500) + Math.random(), 2);
    append(t, `sensors/${CHART_DEVICE}/temperature`, `{"value":${value},"seq":${i}}`);
    append(t + 1, 'sensors/other/humidity', `{"value":${value + 30}}`);
    rows++;
    if (rows % 10_000 === 0) await store.flushed();
  }
  await store.stop();
  return { dir, rows };
}

async function chartQuery(): Promise<BenchResult> {
  const { dir, rows } = await chartData();
  const hub = await withHttp('1', () => BrokerProcess.start('edgehub-server'));
  delete process.env.EDGEHUB_BENCH_DATA;
  const url = `http://127.0.0.1:${hub.httpPort}/api/history?device=${CHART_DEVICE}&metric=temperature&since=30d&points=1000`;
  const times: number[] = [];
  let points = 0;
  let counted = 0;
  for (let i = 0; i < CHART_QUERIES + 2; i++) {
    const t0 = performance.now();
    const res = await fetch(url);
    const body = (await res.json()) as { points?: { n: number }[]; error?: { message: string } };
    const ms = performance.now() - t0;
    if (!res.ok || !body.points)
      throw new Error(`GET /api/history answered ${res.status}: ${body.error?.message}`);
    // The first two warm the page cache and the prepared statement.
    if (i >= 2) times.push(ms);
    points = body.points.length;
    counted = body.points.reduce((sum, p) => sum + p.n, 0);
  }
  await hub.stop();
  rmSync(dir, { recursive: true, force: true });
  const p50 = round(percentile(times, 50), 1);
  return {
    name: `dashboard: chart query, 30 days of one metric at one reading per 10 s, downsampled (GET /api/history, median of ${CHART_QUERIES})`,
    figures: {
      'rows of the metric': rows,
      'rows in the answer’s buckets': counted,
      points,
      'p50 ms': p50,
      'p95 ms': round(percentile(times, 95), 1),
    },
    target: 'p50 ≤ 50 ms',
    pass: p50 <= 50 && counted === rows,
  };
}

/** What an open dashboard fetches: the page, its files, the devices and a chart, then the live stream. */
async function openDashboard(port: number): Promise<void> {
  const base = `http://127.0.0.1:${port}`;
  const html = await (await fetch(`${base}/`, { headers: { accept: 'text/html' } })).text();
  const files = [...html.matchAll(/(?:src|href)="(\/[^"]+)"/g)].map((m) => m[1] ?? '');
  for (const f of files)
    await (await fetch(base + f, { headers: { 'accept-encoding': 'br, gzip' } })).arrayBuffer();
  await (await fetch(`${base}/api/devices`)).arrayBuffer();
  await (await fetch(`${base}/api/history?device=none&metric=temperature&since=24h`)).arrayBuffer();
}

async function servedRss(): Promise<BenchResult> {
  const without = await withHttp('0', () => Subject.start('edgehub-server'));
  const served = await withHttp('1', () => Subject.start('edgehub-server'));
  const port = httpPortOf(served);
  for (let i = 0; i < 3; i++) await openDashboard(port);
  const clients = await StreamClients.open(port, 3);
  const withClients = await served.rssMiB();
  const withoutNow = await without.rssMiB();
  await clients.close();
  await Promise.all([without.stop(), served.stop()]);
  const over = round(withClients - withoutNow, 1);
  return {
    name: 'dashboard: RSS with the dashboard served and 3 clients, beside the hub without HTTP (median of 5 reads)',
    figures: {
      'with HTTP, 3 clients MiB': withClients,
      'with HTTP, before the clients MiB': served.idleRssMiB,
      'without HTTP MiB': withoutNow,
      'over MiB': over,
    },
    target: '≤ 15 MB (14.3 MiB) over the hub without HTTP',
    pass: over * 1024 * 1024 <= 15e6,
  };
}

/** The built dashboard's JS and CSS, gzipped; the rule editor's chunks are those index.html does not name and whose name says editor. */
function pageWeight(): BenchResult {
  const assets = join(DASHBOARD_DIR, 'assets');
  const html = readFileSync(join(DASHBOARD_DIR, 'index.html'), 'utf8');
  let total = 0;
  let editor = 0;
  let entry = 0;
  for (const name of readdirSync(assets)) {
    if (!/\.(js|css)$/.test(name)) continue;
    const file = join(assets, name);
    if (!statSync(file).isFile()) continue;
    const gz = gzipSync(readFileSync(file), { level: 9 }).length;
    total += gz;
    if (html.includes(name)) entry += gz;
    else if (/editor|codemirror/i.test(name)) editor += gz;
  }
  const kb = (n: number) => round(n / 1000, 1);
  return {
    name: 'dashboard: page weight, JS + CSS gzipped',
    figures: {
      'everything KB': kb(total),
      'named by index.html KB': kb(entry),
      'rule editor chunks KB': kb(editor),
    },
    target: '≤ 250 KB in all, the rule editor loaded only on its page',
    pass: total <= 250_000 && editor > 0,
  };
}

export async function dashboardBench(): Promise<BenchResult[]> {
  return [...(await liveStreamCost()), await chartQuery(), await servedRss(), pageWeight()];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.table(await dashboardBench());
}
