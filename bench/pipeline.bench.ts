/**
 * End to end: N simulated sensors publish `{"value": V, "seq": S}` to `sensors/<id>/temperature`;
 * a rule publishes `actuators/<id>/fan` with the same seq when V > 30. Measured against edgehub
 * (store on) and, in the same run, bare aedes with the rule hand-written in its publish hook.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import mqtt, { type MqttClient } from 'mqtt';
import { BrokerProcess } from './broker-process.js';
import { productNodeEnv, productNodeFlags } from './node-flags.js';
import type { BenchResult } from './result.js';
import { MiB, percentile, round } from './stats.js';

const SENSORS = 50;
/** Messages in flight per sensor in the closed loop. */
const WINDOW = 8;
const WARMUP_MS = 2000;
const CLOSED_LOOP_MS = 10_000;
/**
 * Closed-loop runs per broker, taken in turns; the median is the figure. On two cores shared with
 * the load generator, one 10 s run of the same build varies by ±10 %.
 */
const CLOSED_LOOP_RUNS = 5;
const PACED_RATE = 2000;
const PACED_MS = 10_000;

interface LoadFigures {
  /** The median closed-loop run. */
  eventsPerSec: number;
  /** Every closed-loop run, in order. */
  runs: number[];
  closedP50Ms: number;
  closedP99Ms: number;
  pacedP50Ms: number;
  pacedP99Ms: number;
  pacedRate: number;
  /** The highest of the samples taken each second of the paced phase (after its warm-up). */
  pacedRssMiB: number;
  /** Their median. */
  pacedRssMedianMiB: number;
  /** After the saturating closed loop. */
  rssMiB: number;
  cpuPercent: number;
}

class Load {
  private seq = 0;
  private readonly sentAt = new Map<number, number>();
  latencies: number[] = [];
  completed = 0;
  private onDone: ((device: number) => void) | undefined;

  private constructor(
    private readonly sensors: MqttClient[],
    private readonly listener: MqttClient,
  ) {
    listener.on('message', (_topic, payload) => {
      const { seq } = JSON.parse(payload.toString()) as { seq: number };
      const t0 = this.sentAt.get(seq);
      if (t0 === undefined) return;
      this.sentAt.delete(seq);
      this.latencies.push(performance.now() - t0);
      this.completed++;
      this.onDone?.(seq % SENSORS);
    });
  }

  static async connect(port: number): Promise<Load> {
    const url = `mqtt://127.0.0.1:${port}`;
    const listener = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
    await listener.subscribeAsync('actuators/+/fan');
    const sensors = await Promise.all(
      Array.from({ length: SENSORS }, (_, i) =>
        mqtt.connectAsync(url, { clientId: `bench-s${i}`, reconnectPeriod: 0 }),
      ),
    );
    return new Load(sensors, listener);
  }

  private send(device: number): void {
    // seq % SENSORS names the sensor, so a reply tells which sensor may send again.
    const seq = this.seq * SENSORS + device;
    this.seq++;
    this.sentAt.set(seq, performance.now());
    this.sensors[device]?.publish(`sensors/s${device}/temperature`, `{"value":31.5,"seq":${seq}}`);
  }

  /** Each sensor keeps WINDOW readings in flight; a reply lets it send the next. */
  async closedLoop(ms: number): Promise<void> {
    this.reset();
    let running = true;
    this.onDone = (device) => {
      if (running) this.send(device);
    };
    for (let d = 0; d < SENSORS; d++) for (let w = 0; w < WINDOW; w++) this.send(d);
    await sleep(ms);
    running = false;
    this.onDone = undefined;
    await sleep(200);
  }

  /** Sends at a fixed rate regardless of replies, in 10 ms ticks. */
  async paced(rate: number, ms: number): Promise<void> {
    this.reset();
    const perTick = rate / 100;
    let owed = 0;
    let device = 0;
    const timer = setInterval(() => {
      owed += perTick;
      for (; owed >= 1; owed--) {
        this.send(device);
        device = (device + 1) % SENSORS;
      }
    }, 10);
    await sleep(ms);
    clearInterval(timer);
    await sleep(300);
  }

  private reset(): void {
    this.latencies = [];
    this.completed = 0;
    this.sentAt.clear();
  }

  async close(): Promise<void> {
    await Promise.all([...this.sensors, this.listener].map((c) => c.endAsync(true)));
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * One broker under measurement with its load. The two brokers run side by side and take turns, so a
 * slow stretch of the shared machine falls on both rather than on whichever was measured then.
 */
class Subject {
  // Percentiles, not the latencies: a run's 500,000 of them, kept for ten runs, slowed the load
  // generator's later runs.
  private readonly runs: { eventsPerSec: number; p50: number; p99: number; cpuPercent: number }[] = [];
  private paced: { p50: number; p99: number; rate: number; rss: number[] } | undefined;

  private constructor(
    private readonly broker: BrokerProcess,
    private readonly load: Load,
  ) {}

  static async start(server: string): Promise<Subject> {
    // Both brokers run bundled, with the node flags and environment the `edgehub` command uses.
    const broker = await BrokerProcess.start(server);
    return new Subject(broker, await Load.connect(broker.port));
  }

  /**
   * The paced phase comes first, so the memory read during it is what a hub at 2,000 events/s holds,
   * not what a saturating burst left behind; the figure after the closed loop is printed too.
   */
  async measurePaced(): Promise<void> {
    await this.load.paced(PACED_RATE, WARMUP_MS);
    const sampler = this.broker.sampleRss(1000);
    await this.load.paced(PACED_RATE, PACED_MS);
    const rss = await sampler.take();
    sampler.stop();
    this.paced = {
      p50: percentile(this.load.latencies, 50),
      p99: percentile(this.load.latencies, 99),
      rate: Math.round(this.load.completed / (PACED_MS / 1000)),
      rss,
    };
  }

  warmUp(): Promise<void> {
    return this.load.closedLoop(WARMUP_MS);
  }

  async closedRun(): Promise<void> {
    const cpu0 = (await this.broker.usage()).cpuUs;
    const t0 = performance.now();
    await this.load.closedLoop(CLOSED_LOOP_MS);
    const elapsed = performance.now() - t0 - 200;
    const cpu1 = (await this.broker.usage()).cpuUs;
    await this.broker.settle();
    this.runs.push({
      eventsPerSec: Math.round(this.load.completed / (CLOSED_LOOP_MS / 1000)),
      p50: percentile(this.load.latencies, 50),
      p99: percentile(this.load.latencies, 99),
      cpuPercent: round(((cpu1 - cpu0) / 1000 / elapsed) * 100, 0),
    });
  }

  async finish(): Promise<LoadFigures> {
    const median = [...this.runs].sort((a, b) => a.eventsPerSec - b.eventsPerSec)[
      Math.floor(this.runs.length / 2)
    ];
    const paced = this.paced;
    if (!median || !paced) throw new Error('no closed-loop run or no paced phase');
    const usage = await this.broker.usage();
    await this.load.close();
    await this.broker.stop();
    return {
      eventsPerSec: median.eventsPerSec,
      runs: this.runs.map((r) => r.eventsPerSec),
      closedP50Ms: round(median.p50),
      closedP99Ms: round(median.p99),
      pacedP50Ms: round(paced.p50),
      pacedP99Ms: round(paced.p99),
      pacedRate: paced.rate,
      pacedRssMiB: round(Math.max(...paced.rss) / MiB, 1),
      pacedRssMedianMiB: round(percentile(paced.rss, 50) / MiB, 1),
      rssMiB: round(usage.rss / MiB, 1),
      cpuPercent: median.cpuPercent,
    };
  }
}

async function measureBoth(): Promise<{ baseline: LoadFigures; edgehub: LoadFigures }> {
  const baseline = await Subject.start('aedes-baseline');
  const edgehub = await Subject.start('edgehub-server');
  const both = [baseline, edgehub];
  for (const s of both) await s.measurePaced();
  for (const s of both) await s.warmUp();
  for (let i = 0; i < CLOSED_LOOP_RUNS; i++) for (const s of both) await s.closedRun();
  return { baseline: await baseline.finish(), edgehub: await edgehub.finish() };
}

/** Milliseconds from `edgehub start` to the MQTT listener being up, median of runs. */
async function startToListening(runs = 5): Promise<number> {
  const bin = fileURLToPath(new URL('../bin/edgehub.js', import.meta.url));
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const data = mkdtempSync(join(tmpdir(), 'edgehub-start-'));
    const t0 = performance.now();
    // The command itself, so its shebang's node flags apply as they do for a user.
    const child = spawn(
      bin,
      ['start', '--no-demo', '--mqtt-port', '0', '--ws-port', '0', '--http-port', '0', '--data', data],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    await new Promise<void>((resolve, reject) => {
      let err = '';
      child.stderr.on('data', (chunk: Buffer) => {
        err += chunk.toString();
        if (err.includes('MQTT broker listening')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`edgehub exited with ${code}: ${err}`)));
    });
    times.push(performance.now() - t0);
    child.removeAllListeners('exit');
    await new Promise((resolve) => {
      child.once('exit', resolve);
      child.kill('SIGTERM');
    });
    rmSync(data, { recursive: true, force: true });
  }
  return round(percentile(times, 50), 0);
}

export async function pipelineBench(): Promise<BenchResult[]> {
  const { baseline, edgehub } = await measureBoth();
  const ratio = round(edgehub.eventsPerSec / baseline.eventsPerSec);
  const startMs = await startToListening();
  return [
    {
      name: `pipeline: ${SENSORS} sensors, rule V > 30 → fan (closed loop, ${WINDOW} in flight each, median of ${CLOSED_LOOP_RUNS} × ${CLOSED_LOOP_MS / 1000} s, brokers in turns)`,
      figures: {
        'edgehub events/s': edgehub.eventsPerSec,
        'baseline events/s': baseline.eventsPerSec,
        ratio,
        'edgehub runs': edgehub.runs.join(' / '),
        'baseline runs': baseline.runs.join(' / '),
        'edgehub p50/p99 ms': `${edgehub.closedP50Ms} / ${edgehub.closedP99Ms}`,
        'baseline p50/p99 ms': `${baseline.closedP50Ms} / ${baseline.closedP99Ms}`,
        'edgehub CPU %': edgehub.cpuPercent,
        'baseline CPU %': baseline.cpuPercent,
      },
      target: 'throughput ≥ 0.8× baseline, every event stored',
      pass: ratio >= 0.8,
    },
    {
      name: `pipeline: paced at ${PACED_RATE} events/s`,
      figures: {
        'edgehub p50/p99 ms': `${edgehub.pacedP50Ms} / ${edgehub.pacedP99Ms}`,
        'baseline p50/p99 ms': `${baseline.pacedP50Ms} / ${baseline.pacedP99Ms}`,
        'edgehub events/s': edgehub.pacedRate,
      },
      target: 'p99 ≤ 5 ms',
      pass: edgehub.pacedP99Ms <= 5,
    },
    {
      name: 'pipeline: memory',
      figures: {
        'edgehub RSS MiB at 2,000/s, peak': edgehub.pacedRssMiB,
        'edgehub RSS MiB at 2,000/s, median': edgehub.pacedRssMedianMiB,
        'baseline RSS MiB at 2,000/s, peak': baseline.pacedRssMiB,
        'edgehub RSS MiB after saturation': edgehub.rssMiB,
        'baseline RSS MiB after saturation': baseline.rssMiB,
        'node flags (both)': [
          ...Object.entries(productNodeEnv()).map(([k, v]) => `${k}=${v}`),
          ...productNodeFlags(),
        ].join(' '),
      },
      target: 'RSS ≤ 100 MB (95.4 MiB) at 2,000 events/s, judged on the peak of 1 s samples',
      pass: edgehub.pacedRssMiB * MiB <= 100e6,
    },
    {
      name: 'start to listening (median of 5, compiled CLI)',
      figures: { ms: startMs },
      target: '≤ 1 s',
      pass: startMs <= 1000,
    },
  ];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.table(await pipelineBench());
}
