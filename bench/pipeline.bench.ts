/**
 * End to end, on the workload shapes edgehub is deployed with: sensors publish
 * `{"value": V, "seq": S}` to `sensors/<device>/temperature`; a rule publishes `actuators/<device>/fan`
 * with the same seq when V > 30. Measured against edgehub (every event stored) and, in the same run,
 * bare aedes with the rule hand-written in its publish hook: the ceiling for a JavaScript broker.
 *
 * The shapes: (a) many sensor clients, each its own device; (b) one gateway client publishing for
 * 100 devices, at QoS 0 and at QoS 1; (c) fan-out, one sensor topic read by 50 subscribers; (d) a
 * mixed fleet of 1,000 devices at their real rates. The two brokers take turns, several short ones
 * per shape, so a slow stretch of the shared machine falls on both; the spread is printed.
 *
 * `EDGEHUB_BENCH_SHAPES=b0,c` runs only those shapes' turns (for profiling with
 * `EDGEHUB_BENCH_PROFILE=DIR`, see broker-process.ts).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import mqtt, { type MqttClient } from 'mqtt';
import { BrokerProcess } from './broker-process.js';
import { RoundTrips } from './round-trips.js';
import { productNodeEnv, productNodeFlags } from './node-flags.js';
import type { BenchResult } from './result.js';
import { MiB, percentile, round } from './stats.js';

const WARMUP_MS = 1500;
const TURN_MS = 5000;
/** Turns per broker and shape; the median is the figure, min–max the spread. */
const TURNS = 3;
const PACED_RATE = 2000;
const PACED_MS = 10_000;
const FLEET_MS = 20_000;

/** A closed-loop workload: which clients publish for which devices, how many messages in flight. */
export interface Shape {
  key: string;
  title: string;
  /** Publishing clients; device d publishes through client d % clients. */
  clients: number;
  devices: number;
  /** Messages in flight, over all devices. */
  inFlight: number;
  qos: 0 | 1;
  /** Extra subscribers reading every sensor topic (fan-out). */
  readers: number;
}

export const SHAPES: Shape[] = [
  {
    key: 'a',
    title: '(a) 50 sensor clients, each its own device, 8 in flight each',
    clients: 50,
    devices: 50,
    inFlight: 400,
    qos: 0,
    readers: 0,
  },
  {
    key: 'b0',
    title: '(b) one gateway client for 100 devices, QoS 0, 500 in flight',
    clients: 1,
    devices: 100,
    inFlight: 500,
    qos: 0,
    readers: 0,
  },
  {
    key: 'b1',
    title: '(b) one gateway client for 100 devices, QoS 1, 500 in flight',
    clients: 1,
    devices: 100,
    inFlight: 500,
    qos: 1,
    readers: 0,
  },
  {
    key: 'c',
    title: '(c) fan-out: one sensor topic read by 50 subscribers, 16 in flight',
    clients: 1,
    devices: 1,
    inFlight: 16,
    qos: 0,
    readers: 50,
  },
];

/** The clients of one shape on one broker, and what they measured. */
class Load {
  readonly trips = new RoundTrips<number>();
  /** Messages the fan-out readers received. */
  read = 0;
  private onDone: ((device: number) => void) | undefined;

  private constructor(
    private readonly shape: Shape,
    private readonly publishers: MqttClient[],
    private readonly others: MqttClient[],
  ) {
    const listener = others[0];
    listener?.on('message', (_topic, payload) => {
      const sent = this.trips.answer(payload);
      if (sent) this.onDone?.(sent.data);
    });
    for (const reader of others.slice(1)) reader.on('message', () => void this.read++);
  }

  static async connect(port: number, shape: Shape): Promise<Load> {
    const url = `mqtt://127.0.0.1:${port}`;
    const opts = { reconnectPeriod: 0 };
    const listener = await mqtt.connectAsync(url, opts);
    await listener.subscribeAsync('actuators/+/fan');
    const readers = await Promise.all(
      Array.from({ length: shape.readers }, async () => {
        const reader = await mqtt.connectAsync(url, opts);
        await reader.subscribeAsync('sensors/+/temperature');
        return reader;
      }),
    );
    const publishers = await Promise.all(
      Array.from({ length: shape.clients }, (_, i) =>
        mqtt.connectAsync(url, { ...opts, clientId: `bench-${shape.key}-${i}` }),
      ),
    );
    return new Load(shape, publishers, [listener, ...readers]);
  }

  private send(device: number): void {
    const seq = this.trips.start(device);
    const client = this.publishers[device % this.publishers.length];
    client?.publish(`sensors/d${device}/temperature`, `{"value":31.5,"seq":${seq}}`, {
      qos: this.shape.qos,
    });
  }

  /** Keeps `inFlight` readings out, spread over the devices; each reply lets its device send again. */
  async closedLoop(ms: number): Promise<void> {
    this.reset();
    let running = true;
    this.onDone = (device) => {
      if (running) this.send(device);
    };
    for (let i = 0; i < this.shape.inFlight; i++) this.send(i % this.shape.devices);
    await sleep(ms);
    running = false;
    this.onDone = undefined;
    await sleep(200);
  }

  /** Sends at a fixed rate regardless of replies, in 10 ms ticks, round robin over the devices. */
  async paced(rate: number, ms: number): Promise<void> {
    this.reset();
    const perTick = rate / 100;
    let owed = 0;
    let device = 0;
    const timer = setInterval(() => {
      owed += perTick;
      for (; owed >= 1; owed--) {
        this.send(device);
        device = (device + 1) % this.shape.devices;
      }
    }, 10);
    await sleep(ms);
    clearInterval(timer);
    await sleep(300);
  }

  private reset(): void {
    this.trips.reset();
    this.read = 0;
  }

  async close(): Promise<void> {
    await Promise.all([...this.publishers, ...this.others].map((c) => c.endAsync(true)));
  }
}

/**
 * (d) 1,000 devices at rates real ones have: 600 climate sensors every 10 s, 300 power meters every
 * second, 100 vibration sensors at 4 Hz, each its own client, about 760 readings/s. Every reading
 * goes to `sensors/<device>/temperature` so the rule sees all of them; latency is reading to fan.
 */
class Fleet {
  readonly trips = new RoundTrips();
  private readonly timers: NodeJS.Timeout[] = [];

  private constructor(
    private readonly devices: MqttClient[],
    private readonly listener: MqttClient,
  ) {
    listener.on('message', (_topic, payload) => void this.trips.answer(payload));
  }

  static readonly RATES_MS = [
    ...Array<number>(600).fill(10_000),
    ...Array<number>(300).fill(1000),
    ...Array<number>(100).fill(250),
  ];

  static async connect(port: number): Promise<Fleet> {
    const url = `mqtt://127.0.0.1:${port}`;
    const listener = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
    await listener.subscribeAsync('actuators/+/fan');
    const devices: MqttClient[] = [];
    // In batches: a thousand CONNECTs at once would measure the connect storm, not the fleet.
    for (let i = 0; i < Fleet.RATES_MS.length; i += 100) {
      devices.push(
        ...(await Promise.all(
          Fleet.RATES_MS.slice(i, i + 100).map((_, j) =>
            mqtt.connectAsync(url, { clientId: `bench-fleet-${i + j}`, reconnectPeriod: 0 }),
          ),
        )),
      );
    }
    return new Fleet(devices, listener);
  }

  run(ms: number): Promise<void> {
    Fleet.RATES_MS.forEach((every, d) => {
      const start = setTimeout(() => {
        this.timers.push(setInterval(() => this.send(d), every));
      }, Math.random() * every);
      this.timers.push(start);
    });
    return sleep(ms).then(() => {
      for (const t of this.timers) clearTimeout(t);
      return sleep(300);
    });
  }

  private send(device: number): void {
    const seq = this.trips.start(undefined);
    this.devices[device]?.publish(`sensors/f${device}/temperature`, `{"value":31.5,"seq":${seq}}`);
  }

  async close(): Promise<void> {
    await Promise.all([...this.devices, this.listener].map((c) => c.endAsync(true)));
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

interface Turn {
  eventsPerSec: number;
  p50: number;
  p99: number;
  cpuPercent: number;
}

/** A broker under the pipeline's load, turn by turn; the connectors bench runs it too. */
export class Subject {
  readonly turns = new Map<string, Turn[]>();
  idleRssMiB = 0;
  paced: { p50: number; p99: number; rate: number; rssPeakMiB: number } | undefined;
  fleet: { p50: number; p99: number; rate: number; cpuPercent: number; rssPeakMiB: number } | undefined;

  private constructor(
    readonly name: string,
    private readonly broker: BrokerProcess,
  ) {}

  static async start(server: string): Promise<Subject> {
    // Both brokers run bundled, with the node flags and environment the `edgehub` command uses.
    const broker = await BrokerProcess.start(server);
    const subject = new Subject(server, broker);
    await sleep(2000);
    subject.idleRssMiB = await subject.rssMiB();
    return subject;
  }

  /** The HTTP API's port; undefined when the server runs none. */
  get httpPort(): number | undefined {
    return this.broker.httpPort;
  }

  /** RSS now, MiB: it moves by a few MiB with where the garbage collector is in its cycle, so the median of five reads 400 ms apart. */
  async rssMiB(): Promise<number> {
    const samples: number[] = [];
    for (let i = 0; i < 5; i++) {
      if (i > 0) await sleep(400);
      samples.push((await this.broker.usage()).rss);
    }
    return round(percentile(samples, 50) / MiB, 1);
  }

  async turn(shape: Shape, warmUp: boolean): Promise<void> {
    const load = await Load.connect(this.broker.port, shape);
    if (warmUp) await load.closedLoop(WARMUP_MS);
    // The closed loop waits 200 ms for the last replies after it stops sending.
    const cpuPercent = round(await this.cpuDuring(() => load.closedLoop(TURN_MS), 200), 0);
    const { p50, p99, perSec } = load.trips.figures(TURN_MS);
    const turn: Turn = { eventsPerSec: perSec, p50, p99, cpuPercent };
    await load.close();
    await this.broker.settle();
    this.turns.set(shape.key, [...(this.turns.get(shape.key) ?? []), turn]);
  }

  /** The gateway shape at 2,000 events/s: latency and the memory a hub at that rate holds. */
  async measurePaced(shape: Shape): Promise<void> {
    const load = await Load.connect(this.broker.port, shape);
    await load.paced(PACED_RATE, WARMUP_MS);
    const sampler = this.broker.sampleRss(1000);
    await load.paced(PACED_RATE, PACED_MS);
    const rss = await sampler.take();
    sampler.stop();
    const { p50, p99, perSec } = load.trips.figures(PACED_MS);
    this.paced = { p50, p99, rate: perSec, rssPeakMiB: round(Math.max(...rss) / MiB, 1) };
    await load.close();
    await this.broker.settle();
  }

  async measureFleet(): Promise<void> {
    const fleet = await Fleet.connect(this.broker.port);
    await sleep(1000);
    const sampler = this.broker.sampleRss(1000);
    const cpuPercent = round(await this.cpuDuring(() => fleet.run(FLEET_MS)), 1);
    const rss = await sampler.take();
    sampler.stop();
    const { p50, p99, perSec } = fleet.trips.figures(FLEET_MS);
    this.fleet = { p50, p99, rate: perSec, cpuPercent, rssPeakMiB: round(Math.max(...rss) / MiB, 1) };
    await fleet.close();
    await this.broker.settle();
  }

  /** % of one core the broker process used while `run` ran, less its last `tailMs`. */
  private async cpuDuring(run: () => Promise<void>, tailMs = 0): Promise<number> {
    const cpu0 = (await this.broker.usage()).cpuUs;
    const t0 = performance.now();
    await run();
    const elapsed = performance.now() - t0 - tailMs;
    const cpu1 = (await this.broker.usage()).cpuUs;
    return ((cpu1 - cpu0) / 1000 / elapsed) * 100;
  }

  /** The median turn of a shape, and the slowest and fastest. */
  figures(key: string): { median: Turn; min: number; max: number; all: number[] } {
    const turns = this.turns.get(key) ?? [];
    const sorted = [...turns].sort((a, b) => a.eventsPerSec - b.eventsPerSec);
    const median = sorted[Math.floor(sorted.length / 2)];
    if (!median) throw new Error(`no turn of shape ${key}`);
    return {
      median,
      min: sorted[0]?.eventsPerSec ?? 0,
      max: sorted.at(-1)?.eventsPerSec ?? 0,
      all: turns.map((t) => t.eventsPerSec),
    };
  }

  stop(): Promise<void> {
    return this.broker.stop();
  }
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
  const only = process.env.EDGEHUB_BENCH_SHAPES?.split(',');
  const shapes = only ? SHAPES.filter((s) => only.includes(s.key)) : SHAPES;
  const baseline = await Subject.start('aedes-baseline');
  const edgehub = await Subject.start('edgehub-server');
  const both = [baseline, edgehub];
  const gateway = SHAPES.find((s) => s.key === 'b0') as Shape;
  // Memory first, so what is read is what a hub at 2,000 events/s holds, not a burst's leftovers.
  if (!only) for (const s of both) await s.measurePaced(gateway);
  for (const shape of shapes)
    for (let turn = 0; turn < TURNS; turn++) for (const s of both) await s.turn(shape, turn === 0);
  if (!only) for (const s of both) await s.measureFleet();
  const startMs = only ? 0 : await startToListening();
  await Promise.all(both.map((s) => s.stop()));

  const results: BenchResult[] = shapes.map((shape) => {
    const e = edgehub.figures(shape.key);
    const b = baseline.figures(shape.key);
    const ratio = round(e.median.eventsPerSec / b.median.eventsPerSec);
    return {
      name: `pipeline ${shape.title} (median of ${TURNS} × ${TURN_MS / 1000} s turns, brokers alternating)`,
      figures: {
        'edgehub events/s': e.median.eventsPerSec,
        'aedes + rule events/s': b.median.eventsPerSec,
        ratio,
        'edgehub turns (spread)': `${e.all.join(' / ')} (${e.min}–${e.max})`,
        'aedes turns (spread)': `${b.all.join(' / ')} (${b.min}–${b.max})`,
        'edgehub p50/p99 ms': `${e.median.p50} / ${e.median.p99}`,
        'aedes p50/p99 ms': `${b.median.p50} / ${b.median.p99}`,
        'edgehub / aedes CPU %': `${e.median.cpuPercent} / ${b.median.cpuPercent}`,
        ...(shape.readers > 0 && {
          'deliveries/s (edgehub, aedes)': `${e.median.eventsPerSec * (shape.readers + 1)}, ${b.median.eventsPerSec * (shape.readers + 1)}`,
        }),
      },
      target: '≥ 1.0× bare aedes with the rule inline, every event stored',
      pass: ratio >= 1,
    };
  });
  if (only) return results;
  const ep = edgehub.paced;
  const bp = baseline.paced;
  const ef = edgehub.fleet;
  const bf = baseline.fleet;
  if (!ep || !bp || !ef || !bf) throw new Error('a paced or fleet phase did not run');
  results.push(
    {
      name: `pipeline: gateway shape paced at ${PACED_RATE} events/s`,
      figures: {
        'edgehub p50/p99 ms': `${ep.p50} / ${ep.p99}`,
        'aedes p50/p99 ms': `${bp.p50} / ${bp.p99}`,
        'edgehub events/s': ep.rate,
      },
      target: 'p99 ≤ 1 ms',
      pass: ep.p99 <= 1,
    },
    {
      name: `pipeline (d) mixed fleet: 1,000 devices at real rates for ${FLEET_MS / 1000} s`,
      figures: {
        'readings → fan /s': `${ef.rate} (aedes ${bf.rate})`,
        'edgehub p50/p99 ms': `${ef.p50} / ${ef.p99}`,
        'aedes p50/p99 ms': `${bf.p50} / ${bf.p99}`,
        'edgehub / aedes CPU %': `${ef.cpuPercent} / ${bf.cpuPercent}`,
        'CPU ratio (aedes / edgehub)': round(bf.cpuPercent / ef.cpuPercent),
        'edgehub / aedes RSS peak MiB': `${ef.rssPeakMiB} / ${bf.rssPeakMiB}`,
      },
      target: 'CPU ≥ 1.0× as cheap as bare aedes; RSS ≤ 150 MB (143 MiB)',
      pass: bf.cpuPercent / ef.cpuPercent >= 1 && ef.rssPeakMiB * MiB <= 150e6,
    },
    {
      name: 'pipeline: memory',
      figures: {
        'edgehub RSS MiB idle': edgehub.idleRssMiB,
        'aedes RSS MiB idle': baseline.idleRssMiB,
        'edgehub RSS MiB at 2,000/s, peak': ep.rssPeakMiB,
        'aedes RSS MiB at 2,000/s, peak': bp.rssPeakMiB,
        'node flags (both)': [
          ...Object.entries(productNodeEnv()).map(([k, v]) => `${k}=${v}`),
          ...productNodeFlags(),
        ].join(' '),
      },
      target: 'RSS ≤ 60 MB (57.2 MiB) idle, ≤ 100 MB (95.4 MiB) at 2,000 events/s',
      pass: edgehub.idleRssMiB * MiB <= 60e6 && ep.rssPeakMiB * MiB <= 100e6,
    },
    {
      name: 'start to listening (median of 5, compiled CLI)',
      figures: { ms: startMs },
      target: '≤ 1 s',
      pass: startMs <= 1000,
    },
  );
  return results;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.table(await pipelineBench());
}
