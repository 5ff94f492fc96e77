import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const entry = fileURLToPath(new URL('./edgehub-cli.ts', import.meta.url));

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

export function spawnCli(args: readonly string[]): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, ['--import', 'tsx', entry, ...args], { stdio: 'pipe' });
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

/** `edgehub start` in its own process on free ports; resolves with its MQTT URL once it listens. */
export async function startHubProcess(
  data: string,
  extraArgs: readonly string[] = [],
): Promise<{ hub: ChildProcessWithoutNullStreams; url: string }> {
  const hub = spawnCli([
    'start',
    '--no-demo',
    '--mqtt-port',
    '0',
    '--ws-port',
    '0',
    '--data',
    data,
    ...extraArgs,
  ]);
  const line = await waitForLog(hub, /MQTT broker listening/);
  const port = /mqtt=[\d.]+:(\d+)/.exec(line)?.[1];
  return { hub, url: `mqtt://127.0.0.1:${port}` };
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

/**
 * Resolves once `check` holds. For conditions another process drives through many network events
 * (acknowledgements from a killed hub, rows in its database): re-checked every 20 ms, up to a deadline.
 */
export async function until(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
