import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A real server a test started: where it listens, and how to stop, kill or restart it. */
export interface ServerHandle {
  readonly host: string;
  readonly port: number;
  /** Its data and log folder, kept across restart(), removed by stop(). */
  readonly dir: string;
  /** ms the last start took until the server answered. */
  readonly startedInMs: number;
  /** Ends it (SIGTERM, then SIGKILL) and removes its folder. */
  stop(): Promise<void>;
  /** SIGKILL, keeping its folder, for restart(). */
  kill(): Promise<void>;
  /** Starts it again on the same port with the same data; resolves once it answers. */
  restart(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** A free TCP port on loopback. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no free port');
  return address.port;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Installs Debian packages with apt-get when missing (as root); throws naming them otherwise. */
export function ensureDebianPackages(packages: readonly string[], binaries: readonly string[]): void {
  const missing = (): string[] =>
    binaries.filter((b) => spawnSync('sh', ['-c', `command -v ${b}`]).status !== 0);
  if (missing().length === 0) return;
  const list = packages.join(' ');
  if (process.platform !== 'linux' || process.getuid?.() !== 0)
    throw new Error(`these tests need ${list}; install them with: sudo apt-get install ${list}`);
  // policy-rc.d keeps Debian from starting the packages' own services: the tests start their own.
  const script = [
    'printf "#!/bin/sh\\nexit 101\\n" > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d',
    `(apt-get install -y -qq ${list} || (apt-get update -qq && apt-get install -y -qq ${list}))`,
    'status=$?; rm -f /usr/sbin/policy-rc.d; exit $status',
  ].join('; ');
  const run = spawnSync('flock', ['/tmp/edgehub-apt.lock', 'sh', '-c', script], {
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    encoding: 'utf8',
  });
  if (missing().length > 0)
    throw new Error(`apt-get install ${list} failed: ${(run.stderr || run.stdout || '').slice(-800)}`);
}

export interface ServerSpec {
  name: string;
  host?: string;
  port: number;
  dir: string;
  /** The command and its arguments; run again as they are by restart(). */
  command: string;
  args: readonly string[];
  env?: NodeJS.ProcessEnv;
  /** Resolves once the server answers; rejects (or returns false) while it does not. */
  ready(): Promise<boolean>;
  /** ms to wait for `ready` at most. */
  startTimeoutMs?: number;
  /** Extra cleanup after the process ended (e.g. a second process a server forks). */
  afterStop?: () => void;
}

/** Starts the server of `spec` and waits until it answers. */
export async function startServer(spec: ServerSpec): Promise<ServerHandle> {
  let child: ChildProcess | undefined;
  let startedInMs = 0;
  const logFile = join(spec.dir, `${spec.name}.log`);
  const launch = async (): Promise<void> => {
    const started = Date.now();
    const log = openSync(logFile, 'a');
    const proc = spawn(spec.command, [...spec.args], {
      cwd: spec.dir,
      env: { ...process.env, ...spec.env },
      stdio: ['ignore', log, log],
      detached: true,
    });
    closeSync(log);
    child = proc;
    running.add(proc);
    let exited = false;
    proc.once('exit', () => {
      exited = true;
      running.delete(proc);
    });
    const deadline = started + (spec.startTimeoutMs ?? 60_000);
    for (;;) {
      if (exited) throw new Error(`${spec.name} exited while starting:\n${tail(logFile)}`);
      if (await spec.ready().catch(() => false)) break;
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        throw new Error(
          `${spec.name} did not answer within ${spec.startTimeoutMs ?? 60_000} ms:\n${tail(logFile)}`,
        );
      }
      await new Promise((r) => setTimeout(r, 150));
    }
    startedInMs = Date.now() - started;
  };
  const end = async (signal: NodeJS.Signals): Promise<void> => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    // The whole process group: some servers (RabbitMQ) run as a shell script and its children.
    try {
      process.kill(-(proc.pid ?? 0), signal);
    } catch {
      proc.kill(signal);
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-(proc.pid ?? 0), 'SIGKILL');
      } catch {
        proc.kill('SIGKILL');
      }
    }, 10_000);
    await exited;
    clearTimeout(timer);
    spec.afterStop?.();
  };
  await launch();
  return {
    host: spec.host ?? '127.0.0.1',
    port: spec.port,
    dir: spec.dir,
    get startedInMs() {
      return startedInMs;
    },
    stop: async () => {
      await end('SIGTERM');
      rmSync(spec.dir, { recursive: true, force: true });
    },
    kill: () => end('SIGKILL'),
    restart: async () => {
      await end('SIGTERM');
      await launch();
    },
  };
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-30).join('\n');
  } catch {
    return '(no log)';
  }
}
