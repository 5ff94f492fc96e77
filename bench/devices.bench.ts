/**
 * 1,000 simulated MQTT devices, one reading per second each, against one hub in its own process for
 * 60 s: every reading sent must be in the store, and the hub's RSS must stay within 150 MB.
 * Runnable alone: `node --import tsx bench/devices.bench.ts` (EDGEHUB_BENCH_DEVICES and
 * EDGEHUB_BENCH_SECONDS shrink it for a quick look).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { Fleet, defaultDemoFleet, type SimSpec } from '../firmware-sim/index.js';
import { MemoryLogger, SystemClock } from '../kernel/index.js';
import { compiledServer } from './compiled-server.js';
import { productNodeEnv, productNodeFlags } from './node-flags.js';
import type { BenchResult } from './result.js';
import type { DevicesServerReply, DevicesServerRequest } from './servers/devices-server.js';

const RSS_TARGET_MB = 150;

/**
 * The V8 flags the `edgehub` command runs with (its shebang). The live heap at 1,000 devices is about
 * 30 MB after a full GC, but with default flags V8 lets the heap grow to about 100 MB of garbage
 * before collecting (RSS ≈ 210 MB after 60 s). A lower heap growing percentage and a 4 MB
 * semi-space bound both generations. EDGEHUB_BENCH_HUB_FLAGS overrides them ("" runs with V8's
 * defaults).
 */
function hubNodeFlags(): string[] {
  const flags = process.env.EDGEHUB_BENCH_HUB_FLAGS;
  return flags === undefined ? productNodeFlags() : flags.split(' ').filter((f) => f !== '');
}

class DevicesServer {
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {}

  static async start(devices: number): Promise<DevicesServer> {
    const child = fork(compiledServer('devices-server'), [String(devices)], {
      execArgv: hubNodeFlags(),
      env: { ...process.env, ...productNodeEnv() },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const port = await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`devices server exited with ${code}`)));
      child.on('message', (m: DevicesServerReply) => {
        if ('ready' in m) resolve(m.ready);
      });
    });
    child.removeAllListeners('exit');
    return new DevicesServer(child, port);
  }

  private ask<K extends 'rss' | 'stored'>(
    request: DevicesServerRequest,
    key: K,
  ): Promise<Extract<DevicesServerReply, Record<K, number>>> {
    return new Promise((resolve) => {
      const onMessage = (m: DevicesServerReply): void => {
        if (key in m) {
          this.child.off('message', onMessage);
          resolve(m as Extract<DevicesServerReply, Record<K, number>>);
        }
      };
      this.child.on('message', onMessage);
      this.child.send(request);
    });
  }

  usage(): Promise<{ rss: number; cpuUs: number }> {
    return this.ask('usage', 'rss');
  }

  /** Stops the hub (flushing the store) and returns the readings it stored. */
  async stop(): Promise<number> {
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    const { stored } = await this.ask('stop', 'stored');
    await exited;
    return stored;
  }
}

function waitMs(ms: number): Promise<void> {
  // The benchmark measures wall time on purpose: it is the one place a real wait is the point.
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function devicesBench(): Promise<BenchResult[]> {
  const devices = Number(process.env.EDGEHUB_BENCH_DEVICES ?? '1000');
  const seconds = Number(process.env.EDGEHUB_BENCH_SECONDS ?? '60');
  const server = await DevicesServer.start(devices);
  const url = `mqtt://127.0.0.1:${server.port}`;
  const specs: SimSpec[] = defaultDemoFleet({ devices, intervalMs: 1000 })
    .filter((s) => s.kind === 'temperature')
    .map((s, i) => ({ ...s, id: `bench-${i + 1}`, profile: 'greenhouse' as const }));
  const fleet = new Fleet({ url, specs }, { clock: new SystemClock(), logger: new MemoryLogger() });
  // Connecting: every device announces itself `online` once its subscriptions are in place.
  const connectStart = performance.now();
  const online = new Set<string>();
  const allOnline = new Promise<void>((resolve) => {
    for (const d of fleet.devices)
      d.events.on(online, 'online', (e) => {
        online.add(e.deviceId);
        if (online.size === devices) resolve();
      });
  });
  await fleet.start();
  await allOnline;
  const connectS = (performance.now() - connectStart) / 1000;

  const before = await server.usage();
  const windowStart = performance.now();
  let peakRss = before.rss;
  for (let t = 0; t < seconds; t += 5) {
    await waitMs(Math.min(5, seconds - t) * 1000);
    const u = await server.usage();
    peakRss = Math.max(peakRss, u.rss);
    process.stderr.write(
      `devices bench: ${Math.min(seconds, t + 5)}/${seconds} s, hub RSS ${(u.rss / 2 ** 20).toFixed(0)} MB\n`,
    );
  }
  const after = await server.usage();
  const wallS = (performance.now() - windowStart) / 1000;
  await fleet.stop();
  const sent = fleet.devices.reduce((n, d) => n + d.stats.readings, 0);
  const stored = await server.stop();
  const cpuPercent = ((after.cpuUs - before.cpuUs) / 1e6 / wallS) * 100;
  const rssMb = peakRss / 2 ** 20;
  const result: BenchResult = {
    name: `devices: ${devices} MQTT devices at 1 reading/s for ${seconds} s`,
    figures: {
      'devices online': online.size,
      'connect s': Number(connectS.toFixed(1)),
      'readings sent': sent,
      'readings stored': stored,
      'readings lost': sent - stored,
      'hub CPU %': Number(cpuPercent.toFixed(1)),
      'hub peak RSS MB': Number(rssMb.toFixed(1)),
      'hub node flags': hubNodeFlags().join(' ') || '(defaults)',
      'hub environment': Object.entries(productNodeEnv())
        .map(([k, v]) => `${k}=${v}`)
        .join(' '),
    },
    target: `no reading lost, hub RSS ≤ ${RSS_TARGET_MB} MB`,
    pass: stored === sent && rssMb <= RSS_TARGET_MB,
  };
  return [result];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const results = await devicesBench();
  for (const r of results) {
    process.stdout.write(`${r.name}\n`);
    for (const [label, value] of Object.entries(r.figures)) process.stdout.write(`  ${label}: ${value}\n`);
    process.stdout.write(`  target: ${r.target ?? '-'} → ${r.pass === true ? 'PASS' : 'FAIL'}\n`);
  }
  process.exit(0);
}
