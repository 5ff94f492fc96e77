/**
 * Soak: 500 MQTT clients (QoS 0, 1 and 2 in turn) each send a hot reading once a second for 10
 * minutes to one hub in its own process; the hub's rule answers every reading with a fan command,
 * which a listener times end to end. Prints throughput, p99 latency and the hub's RSS once a
 * minute, and checks RSS at the end is within 10 % of RSS after the first minute (no leak: growth
 * counts, a fall after warm-up does not).
 *
 * Not run by CI. Alone: `node --import tsx bench/soak.bench.ts --minutes 1 --clients 500`;
 * with the others: `npm run bench -- soak`.
 */
import { pathToFileURL } from 'node:url';
import mqtt, { type MqttClient } from 'mqtt';
import { BrokerProcess } from './broker-process.js';
import { RoundTrips } from './round-trips.js';
import type { BenchResult } from './result.js';
import { MiB, percentile, round } from './stats.js';

export interface SoakOptions {
  /** Length of the measured run, in minutes. */
  minutes?: number;
  clients?: number;
}

/**
 * Readings per second each client sends; 500 clients make 500 readings/s (and as many commands),
 * a busy greenhouse rather than a peak: a soak looks for growth over time, not for the ceiling.
 */
const READINGS_PER_CLIENT_PER_SEC = 1;
/** The pacing tick, in ms: each tick sends the readings that fell due. */
const TICK_MS = 10;
const MINUTE_MS = 60_000;
/** A reading whose command has not come back after this long is counted lost, in ms. */
const LOST_AFTER_MS = 30_000;
/** Clients connect this many at a time, so the ramp-up is not itself a connection storm. */
const CONNECT_BATCH = 50;
/**
 * Allowed RSS growth from the end of minute 1 to the end of the run. Only growth counts: RSS
 * falling after the first minute is warm-up garbage being returned, not a leak. (At 500 readings/s
 * RSS levels off from minute 3 or 4, once SQLite's page caches have filled.)
 */
const RSS_GROWTH_LIMIT = 0.1;
/** RSS is sampled this often, in ms, and each minute reports the median of its samples, so one
 * sample taken just before or after a garbage collection does not make the line jump. */
const RSS_SAMPLE_MS = 5000;
/**
 * The hub runs as the README recommends on a Pi. With V8's defaults its heap swings by tens of MB
 * between collections (RSS 190–220 MB at this load), which would drown a leak check of 10 %.
 */

interface MinuteFigures {
  minute: number;
  sent: number;
  received: number;
  p99Ms: number;
  /** Median of the minute's RSS samples, for the per-minute line. */
  rssMiB: number;
  /** RSS read as the minute ended, for the leak check. */
  rssEndMiB: number;
}

class SoakLoad {
  private readonly trips = new RoundTrips();
  private sent = 0;
  lost = 0;
  /** Clients whose connection closed while the load ran. */
  dropped = 0;
  private closing = false;

  private constructor(
    private readonly clients: MqttClient[],
    private readonly listener: MqttClient,
  ) {
    listener.on('message', (_topic, payload) => void this.trips.answer(payload));
    for (const c of clients) {
      c.once('close', () => {
        if (!this.closing) this.dropped++;
      });
    }
  }

  static async connect(port: number, count: number): Promise<SoakLoad> {
    const url = `mqtt://127.0.0.1:${port}`;
    const listener = await mqtt.connectAsync(url, { clientId: 'soak-listener', reconnectPeriod: 0 });
    await listener.subscribeAsync('actuators/+/fan', { qos: 1 });
    const clients: MqttClient[] = [];
    for (let i = 0; i < count; i += CONNECT_BATCH) {
      const batch = Array.from({ length: Math.min(CONNECT_BATCH, count - i) }, (_, j) =>
        mqtt.connectAsync(url, {
          clientId: `soak-${i + j}`,
          protocolVersion: (i + j) % 2 === 0 ? 5 : 4,
          reconnectPeriod: 0,
        }),
      );
      clients.push(...(await Promise.all(batch)));
    }
    return new SoakLoad(clients, listener);
  }

  /** Sends at a fixed rate regardless of replies (an open loop), round-robin over the clients. */
  run(
    ms: number,
    onMinute: (m: { sent: number; received: number; latencies: number[] }) => Promise<void>,
  ): Promise<void> {
    const perTick = (this.clients.length * READINGS_PER_CLIENT_PER_SEC * TICK_MS) / 1000;
    let owed = 0;
    let next = 0;
    const ticker = setInterval(() => {
      owed += perTick;
      for (; owed >= 1; owed--) {
        this.send(next);
        next = (next + 1) % this.clients.length;
      }
    }, TICK_MS);
    return new Promise<void>((resolve) => {
      const started = performance.now();
      const minute = setInterval(() => {
        const { completed: received, latencies } = this.trips;
        const window = { sent: this.sent, received, latencies };
        this.sent = 0;
        // Readings still in flight may yet come back next minute.
        this.trips.reset(false);
        this.lost += this.trips.dropOlderThan(LOST_AFTER_MS);
        const done = performance.now() - started >= ms - 1000;
        if (done) {
          clearInterval(ticker);
          clearInterval(minute);
        }
        void onMinute(window).then(() => done && resolve());
      }, MINUTE_MS);
    });
  }

  private send(i: number): void {
    const client = this.clients[i];
    if (!client?.connected) return;
    const seq = this.trips.start(undefined);
    this.sent++;
    client.publish(`sensors/soak-${i}/temperature`, `{"value":31.5,"seq":${seq}}`, {
      qos: (i % 3) as 0 | 1 | 2,
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all([...this.clients, this.listener].map((c) => c.endAsync(true)));
  }
}

export async function soakBench(opts: SoakOptions = {}): Promise<BenchResult[]> {
  const minutes = Math.max(1, Math.round(opts.minutes ?? 10));
  const clients = opts.clients ?? 500;
  const broker = await BrokerProcess.start('edgehub-server');
  const load = await SoakLoad.connect(broker.port, clients);
  const rate = clients * READINGS_PER_CLIENT_PER_SEC;
  process.stdout.write(`soak: ${clients} clients, ${rate} readings/s, ${minutes} min\n`);
  const rows: MinuteFigures[] = [];
  const sampler = broker.sampleRss(RSS_SAMPLE_MS);
  await load.run(minutes * MINUTE_MS, async (w) => {
    const samples = await sampler.take();
    const rss = percentile(samples, 50);
    const now = samples.at(-1) ?? rss;
    const row: MinuteFigures = {
      minute: rows.length + 1,
      sent: Math.round(w.sent / 60),
      received: Math.round(w.received / 60),
      p99Ms: round(percentile(w.latencies, 99)),
      rssMiB: round(rss / MiB, 1),
      rssEndMiB: round(now / MiB, 1),
    };
    rows.push(row);
    process.stdout.write(
      `  minute ${String(row.minute).padStart(2)}: ${row.received}/s of ${row.sent}/s, p99 ${row.p99Ms} ms, RSS ${row.rssMiB} MiB\n`,
    );
  });
  sampler.stop();
  await load.close();
  await broker.stop();

  // As asked: RSS after the first minute against RSS at the end, both read at a minute's end.
  const first = rows[0]?.rssEndMiB ?? NaN;
  const last = rows.at(-1)?.rssEndMiB ?? NaN;
  const growth = (last - first) / first;
  const figures: Record<string, number | string> = {
    'readings/s sent (mean)': Math.round(rows.reduce((n, r) => n + r.sent, 0) / rows.length),
    'commands/s received (mean)': Math.round(rows.reduce((n, r) => n + r.received, 0) / rows.length),
    'p99 ms (worst minute)': Math.max(...rows.map((r) => r.p99Ms)),
    lost: load.lost,
    'clients dropped': load.dropped,
    'RSS after minute 1 MiB': first,
    'RSS at the end MiB': last,
    'RSS growth %': round(growth * 100, 1),
  };
  for (const r of rows) figures[`minute ${r.minute}`] = `${r.received}/s, p99 ${r.p99Ms} ms, ${r.rssMiB} MiB`;
  return [
    {
      name: `soak: ${clients} clients, QoS 0/1/2, ${rate} readings/s through the rule for ${minutes} min`,
      figures,
      target: 'RSS at the end at most 10 % above RSS after minute 1; no reading lost, no client dropped',
      pass: growth <= RSS_GROWTH_LIMIT && load.lost === 0 && load.dropped === 0,
    },
  ];
}

function argument(name: string): number | undefined {
  const i = process.argv.indexOf(`--${name}`);
  const value = i >= 0 ? Number(process.argv[i + 1]) : NaN;
  return Number.isFinite(value) ? value : undefined;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const minutes = argument('minutes');
  const clients = argument('clients');
  const results = await soakBench({
    ...(minutes !== undefined && { minutes }),
    ...(clients !== undefined && { clients }),
  });
  for (const r of results) {
    console.log(`\n${r.name}  ${r.pass ? 'PASS' : 'MISS'}\n  target: ${r.target ?? ''}`);
    for (const [k, v] of Object.entries(r.figures)) console.log(`  ${k.padEnd(28)} ${v}`);
  }
}
