import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const entry = fileURLToPath(new URL('./edgehub-cli.ts', import.meta.url));
const clockAhead = new URL('./clock-ahead.ts', import.meta.url).href;

export interface SpawnOptions {
  /** ms the process's wall clock (Date.now) runs ahead of the test's (see clock-ahead.ts). */
  clockAheadMs?: number;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `edgehub ARGS` to completion. */
export function runCli(args: readonly string[]): Promise<CliResult> {
  const child = spawnCli(args);
  return collect(child);
}

export function spawnCli(
  args: readonly string[],
  options: SpawnOptions = {},
): ChildProcessWithoutNullStreams {
  if (options.clockAheadMs === undefined)
    return spawn(process.execPath, ['--import', 'tsx', entry, ...args], { stdio: 'pipe' });
  return spawn(process.execPath, ['--import', 'tsx', '--import', clockAhead, entry, ...args], {
    stdio: 'pipe',
    env: { ...process.env, EDGEHUB_TEST_CLOCK_AHEAD_MS: String(options.clockAheadMs) },
  });
}

export function collect(child: ChildProcessWithoutNullStreams): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

/** Resolves with the first stderr line matching `pattern` (the hub logs to stderr). */
export function waitForLog(child: ChildProcessWithoutNullStreams, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const onData = (chunk: Buffer): void => {
      buffered += chunk.toString();
      const line = buffered.split('\n').find((l) => pattern.test(l));
      if (line !== undefined) {
        child.stderr.off('data', onData);
        resolve(line);
      }
    };
    child.stderr.on('data', onData);
    child.once('close', (code) =>
      reject(new Error(`edgehub exited (${code}) before logging ${pattern}: ${buffered}`)),
    );
  });
}

/** Every stderr line of a hub process from now on, with a wait that is woken by each new line. */
export class HubLog {
  readonly lines: string[] = [];
  private partial = '';
  private readonly waiting = new Set<() => void>();

  constructor(child: ChildProcessWithoutNullStreams) {
    child.stderr.on('data', (chunk: Buffer) => {
      const parts = (this.partial + chunk.toString()).split('\n');
      this.partial = parts.pop() ?? '';
      this.lines.push(...parts);
      for (const wake of [...this.waiting]) wake();
    });
  }

  /** Lines containing `text`. */
  matching(text: string): string[] {
    return this.lines.filter((l) => l.includes(text));
  }

  /** Resolves with the first line containing `text`, logged already or when it is logged. */
  waitFor(text: string, timeoutMs = 15_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const line = this.lines.find((l) => l.includes(text));
        if (line === undefined) return;
        this.waiting.delete(check);
        clearTimeout(timer);
        resolve(line);
      };
      const timer = setTimeout(() => {
        this.waiting.delete(check);
        reject(new Error(`the hub did not log "${text}" within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.add(check);
      check();
    });
  }
}

/** `edgehub start` in its own process on free ports; resolves with its MQTT URL once it listens. */
export async function startHubProcess(
  data: string,
  extraArgs: readonly string[] = [],
  options: SpawnOptions = {},
): Promise<{ hub: ChildProcessWithoutNullStreams; url: string }> {
  const hub = spawnCli(
    ['start', '--no-demo', '--mqtt-port', '0', '--ws-port', '0', '--data', data, ...extraArgs],
    options,
  );
  const line = await waitForLog(hub, /MQTT broker listening/);
  const port = /mqtt=[\d.]+:(\d+)/.exec(line)?.[1];
  return { hub, url: `mqtt://127.0.0.1:${port}` };
}

/** The hub processes a test file starts; `killAll()` (after each test) ends those still running. */
export class HubProcesses {
  private readonly started: ChildProcessWithoutNullStreams[] = [];

  async start(
    data: string,
    extraArgs: readonly string[] = [],
    options: SpawnOptions = {},
  ): Promise<{ hub: ChildProcessWithoutNullStreams; url: string }> {
    const started = await startHubProcess(data, extraArgs, options);
    this.started.push(started.hub);
    return started;
  }

  async killAll(): Promise<void> {
    for (const hub of this.started.splice(0)) await signalAndWait(hub, 'SIGKILL');
  }
}

/** Sends `signal` and resolves once the process has exited. */
export function signalAndWait(child: ChildProcessWithoutNullStreams, signal: NodeJS.Signals): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve();
      return;
    }
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}

export { until } from './until.js';
