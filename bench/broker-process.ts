import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { compiledServer } from './compiled-server.js';
import { productNodeEnv, productNodeFlags } from './node-flags.js';
import type { ChildMessage, Usage } from './servers/server-process.js';

/** A broker under test, running in its own process so its RSS and CPU are its own. */
export class BrokerProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    /** The HTTP API's port, when the server runs one. */
    readonly httpPort: number | undefined,
  ) {}

  /**
   * Runs bench/servers/`name`.ts bundled, under plain node with the `edgehub` command's node flags
   * and environment, so the two brokers compared differ only in their code.
   */
  static async start(name: string): Promise<BrokerProcess> {
    // EDGEHUB_BENCH_PROFILE=DIR writes a CPU profile of each broker process there;
    // EDGEHUB_BENCH_NODE_FLAGS adds node flags to them (`--trace-gc`, say).
    const profile = process.env.EDGEHUB_BENCH_PROFILE;
    const child = fork(compiledServer(name), [], {
      execArgv: [
        ...productNodeFlags(),
        ...(process.env.EDGEHUB_BENCH_NODE_FLAGS?.split(' ').filter(Boolean) ?? []),
        ...(profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : []),
      ],
      env: { ...process.env, ...productNodeEnv() },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const ready = await new Promise<{ ready: number; http?: number }>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`${name} exited with ${code}`)));
      child.on('message', (m: ChildMessage) => {
        if ('ready' in m) resolve(m);
      });
    });
    child.removeAllListeners('exit');
    return new BrokerProcess(child, ready.ready, ready.http);
  }

  usage(): Promise<Usage> {
    return new Promise((resolve) => {
      const onMessage = (m: ChildMessage): void => {
        if ('rss' in m) {
          this.child.off('message', onMessage);
          resolve(m);
        }
      };
      this.child.on('message', onMessage);
      this.child.send('rss');
    });
  }

  /**
   * Samples RSS every `everyMs` (it moves by a few MB with where the garbage collector is in its
   * cycle); `take()` returns the samples so far, with one read now, and starts a new set.
   */
  sampleRss(everyMs: number): { take(): Promise<number[]>; stop(): void } {
    let samples: number[] = [];
    const timer = setInterval(() => {
      void this.usage().then(({ rss }) => samples.push(rss));
    }, everyMs);
    return {
      take: async () => {
        const { rss } = await this.usage();
        const taken = [...samples, rss];
        samples = [];
        return taken;
      },
      stop: () => clearInterval(timer),
    };
  }

  /**
   * Resolves once the process is idle (under 5 % of a core over 250 ms), or after `maxMs`, and what
   * it wrote is on disk: after a saturating load the hub's store still writes what it buffered, and
   * the kernel writes the dirty pages back some 30 s later. Neither may land on the next broker's turn.
   */
  async settle(maxMs = 10_000): Promise<void> {
    const every = 250;
    let last = (await this.usage()).cpuUs;
    for (let waited = 0; waited < maxMs; waited += every) {
      await new Promise((resolve) => setTimeout(resolve, every));
      const now = (await this.usage()).cpuUs;
      if (now - last < every * 1000 * 0.05) break;
      last = now;
    }
    execFileSync('sync');
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.send('stop');
    });
  }
}
