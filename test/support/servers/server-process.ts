import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NetNamespace } from './netns.js';

/** A real server a test started: where it listens, and how to stop, kill or restart it. */
export interface ServerHandle {
  readonly host: string;
  readonly port: number;
  /** Its data and log folder, kept across kill() and restart(), removed by stop(). */
  readonly dir: string;
  /** The server's stdout and stderr, in `dir`. */
  readonly logFile: string;
  /** ms the last start (or restart) took until the server answered. */
  readonly startedInMs: number;
  /** Ends it (SIGTERM, SIGKILL after 10 s) and removes its folder; a second call does nothing. */
  stop(): Promise<void>;
  /** SIGKILL to the server and its children, keeping its folder, for restart(). */
  kill(): Promise<void>;
  /** Starts it again (after a SIGTERM if it runs) on the same port with the same data; resolves once it answers. */
  restart(): Promise<void>;
}

/** Where downloads (Kafka's jars, moto's virtualenv) are kept between runs. */
export function cacheDir(): string {
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'edgehub-tests');
}

/** One lock for all apt work, shared by every test file that installs a Debian package. */
export const APT_LOCK = '/tmp/edgehub-apt.lock';

/*
 * Servers run in process groups of their own (detached), so a Ctrl-C in the terminal does not reach
 * them and a RabbitMQ script's Erlang child dies with its script. Two nets keep them from outliving
 * the test process: an exit hook for a normal exit, and a reaper for a death by signal (vitest ending
 * a worker, SIGKILL), where no hook runs.
 */
const running = new Set<ChildProcess>();
const exitSteps = new Set<() => void>();
process.once('exit', () => {
  for (const child of running) signalGroup(child, 'SIGKILL');
  for (const step of exitSteps) step();
});

/**
 * Runs `script` (sh) once this process is gone, however it ends: a detached shell waits on a pipe
 * only this process holds, and the kernel closes it at death. The returned function cancels it.
 * `onExit`, when given, runs synchronously from a normal exit as well, so cleanup is immediate then.
 */
export function onProcessDeath(script: string, onExit?: () => void): () => void {
  const reaper = spawn('sh', ['-c', `read _ignored; ${script}`], {
    detached: true,
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  reaper.unref();
  // A pipe's write end is a net.Socket; unref'd, it does not keep the test process alive.
  (reaper.stdin as Socket | null)?.unref();
  if (onExit) exitSteps.add(onExit);
  return () => {
    if (onExit) exitSteps.delete(onExit);
    reaper.kill('SIGKILL');
  };
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, signal);
  } catch {
    child.kill(signal);
  }
}

/** A free TCP port on loopback (bound to port 0, then closed). */
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

/**
 * Installs Debian packages with apt-get when one of `binaries` (names on PATH or absolute paths) is
 * missing, as root, under the one apt lock; else throws naming what to install. A missing server
 * fails its tests with that message, it never skips them. A policy-rc.d that answers 101 keeps
 * Debian from starting the packages' own services (a system RabbitMQ, Redis, Mosquitto): the tests
 * start their own.
 */
export function ensureDebianPackages(
  packages: readonly string[],
  binaries: readonly string[],
  /** A check of its own, for a package that brings no binary (python3-venv). */
  present?: () => boolean,
): void {
  const missing = (): string[] => [
    ...binaries.filter((b) => !onPath(b)),
    ...(present && !present() ? packages : []),
  ];
  if (missing().length === 0) return;
  const list = packages.join(' ');
  if (process.platform !== 'linux' || process.getuid?.() !== 0)
    throw new Error(
      `these tests need ${missing().join(', ')}, from Debian's ${list}: sudo apt-get install ${list}`,
    );
  // DPkg::Lock::Timeout waits for an apt run that does not take our lock (socat.ts, a person's).
  const install = `apt-get install -y -qq -o DPkg::Lock::Timeout=300 ${list}`;
  const script = [
    'made=; if [ ! -e /usr/sbin/policy-rc.d ]; then printf "#!/bin/sh\\nexit 101\\n" > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && made=1; fi',
    `(${install} || (apt-get update -qq -o DPkg::Lock::Timeout=300 && ${install}))`,
    'status=$?; if [ -n "$made" ]; then rm -f /usr/sbin/policy-rc.d; fi; exit $status',
  ].join('; ');
  const run = spawnSync('flock', [APT_LOCK, 'sh', '-c', script], {
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    encoding: 'utf8',
  });
  const still = missing();
  if (still.length > 0)
    throw new Error(
      `these tests need ${still.join(', ')}, and apt-get install ${list} failed ` +
        `(run it by hand as root): ${(run.error?.message ?? run.stderr + run.stdout).slice(-800)}`,
    );
}

function onPath(binary: string): boolean {
  if (binary.startsWith('/')) return existsSync(binary);
  return spawnSync('sh', ['-c', 'command -v "$0"', binary], { stdio: 'ignore' }).status === 0;
}

export interface ServerSpec {
  name: string;
  /** Where the server listens and `ready` reaches it; 127.0.0.1 unless in a namespace. */
  host?: string;
  port: number;
  dir: string;
  /** The command and its arguments; run again as they are by restart(). */
  command: string;
  args: readonly string[];
  env?: NodeJS.ProcessEnv;
  /** Runs the command inside this network namespace (`ip netns exec`). */
  netns?: NetNamespace | undefined;
  /** What the server prints once it accepts connections (its own log line). */
  readyLine: RegExp;
  /** Resolves true once the server answers; rejects (or returns false) while it does not. */
  ready(): Promise<boolean>;
  /** ms to wait for `ready` at most, in all. */
  startTimeoutMs?: number;
  /** ms one `ready` call may take before it counts as "not yet". */
  probeTimeoutMs?: number;
}

/**
 * Waits for the server's own word that it is up (`spec.readyLine` in what it prints), then for a
 * probe to get an answer; a probe that fails is tried again when the server prints more. Nothing
 * is polled: the deadline only turns a server that never comes up into an error.
 */
function readiness(
  proc: ChildProcess,
  spec: ServerSpec,
  timeoutMs: number,
): Promise<'ready' | 'exited' | 'timeout'> {
  return new Promise((resolve) => {
    let printed = '';
    let seen = false;
    let probing = false;
    let settled = false;
    const finish = (outcome: 'ready' | 'exited' | 'timeout'): void => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      proc.stdout?.off('data', onOutput);
      proc.stderr?.off('data', onOutput);
      resolve(outcome);
    };
    const check = async (): Promise<void> => {
      if (!seen || probing || settled) return;
      probing = true;
      const ok = await probe(spec);
      probing = false;
      if (ok) finish('ready');
    };
    const onOutput = (chunk: Buffer): void => {
      if (!seen) {
        // Kept short: only the line that says it is up is looked for.
        printed = (printed + chunk.toString()).slice(-4096);
        seen = spec.readyLine.test(printed);
      }
      void check();
    };
    const deadline = setTimeout(() => finish('timeout'), timeoutMs);
    proc.stdout?.on('data', onOutput);
    proc.stderr?.on('data', onOutput);
    proc.once('close', () => finish('exited'));
  });
}

/** Starts the server of `spec` and waits until it answers. */
export async function startServer(spec: ServerSpec): Promise<ServerHandle> {
  let child: ChildProcess | undefined;
  let cancelReaper: (() => void) | undefined;
  let startedInMs = 0;
  const logFile = join(spec.dir, `${spec.name}.log`);
  const startTimeoutMs = spec.startTimeoutMs ?? 60_000;
  const { command, args } = spec.netns
    ? spec.netns.wrap(spec.command, spec.args)
    : { command: spec.command, args: [...spec.args] };

  const launch = async (): Promise<void> => {
    const started = Date.now();
    const log = createWriteStream(logFile, { flags: 'a' });
    const proc = spawn(command, args, {
      cwd: spec.dir,
      env: { ...process.env, ...spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    // Everything it prints goes on to its log file, for as long as it runs.
    proc.stdout?.pipe(log, { end: false });
    proc.stderr?.pipe(log, { end: false });
    child = proc;
    running.add(proc);
    proc.once('error', () => undefined); // a missing binary: reported below as an exit
    proc.once('close', () => {
      running.delete(proc);
      log.end();
    });
    if (proc.pid !== undefined) cancelReaper = onProcessDeath(`kill -KILL -${proc.pid} 2>/dev/null`);
    const outcome = await readiness(proc, spec, startTimeoutMs);
    if (outcome !== 'ready') {
      if (outcome === 'timeout') await end('SIGKILL');
      const what =
        outcome === 'exited' ? 'exited while starting' : `did not answer within ${startTimeoutMs} ms`;
      throw new Error(`${spec.name} ${what}; ${logFile} ends:\n${tail(logFile)}`);
    }
    startedInMs = Date.now() - started;
  };

  const end = async (signal: NodeJS.Signals): Promise<void> => {
    const proc = child;
    child = undefined;
    if (!proc) return;
    if (proc.exitCode === null && proc.signalCode === null) {
      const closed = new Promise<void>((resolve) => proc.once('close', () => resolve()));
      // The whole group: RabbitMQ runs as a shell script whose Erlang VM is its child.
      signalGroup(proc, signal);
      const timer = setTimeout(() => signalGroup(proc, 'SIGKILL'), 10_000);
      await closed;
      clearTimeout(timer);
    }
    // Whatever the group still holds (a child that ignored the leader's SIGTERM) goes too.
    signalGroup(proc, 'SIGKILL');
    cancelReaper?.();
    cancelReaper = undefined;
  };

  await launch();
  return {
    host: spec.host ?? '127.0.0.1',
    port: spec.port,
    dir: spec.dir,
    logFile,
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

/** One readiness probe, bounded so a server that takes the connection and never answers is "not yet". */
async function probe(spec: ServerSpec): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), spec.probeTimeoutMs ?? 5_000);
  });
  try {
    return await Promise.race([spec.ready().catch(() => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-30).join('\n');
  } catch {
    return '(no log)';
  }
}
