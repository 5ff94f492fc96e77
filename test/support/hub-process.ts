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
