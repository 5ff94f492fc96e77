import { fork, type ChildProcess } from 'node:child_process';
import type { ChildMessage, Usage } from './servers/server-process.js';

/** A broker under test, running in its own process so its RSS and CPU are its own. */
export class BrokerProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {}

  /** `nodeFlags` go to the broker's node, e.g. the memory flags the README recommends for a Pi. */
  static async start(script: URL, nodeFlags: readonly string[] = []): Promise<BrokerProcess> {
    // EDGEHUB_BENCH_PROFILE=DIR writes a CPU profile of each broker process there.
    const profile = process.env.EDGEHUB_BENCH_PROFILE;
    const child = fork(script, [], {
      execArgv: [
        '--import',
        'tsx',
        ...nodeFlags,
        ...(profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : []),
      ],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const port = await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`${script.pathname} exited with ${code}`)));
      child.on('message', (m: ChildMessage) => {
        if ('ready' in m) resolve(m.ready);
      });
    });
    child.removeAllListeners('exit');
    return new BrokerProcess(child, port);
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

  stop(): Promise<void> {
    return new Promise((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.send('stop');
    });
  }
}
