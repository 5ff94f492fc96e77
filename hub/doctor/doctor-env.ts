import { execFile } from 'node:child_process';
import { statfs } from 'node:fs/promises';
import { connect, createServer } from 'node:net';

/** What `fs.statfs` says about a file system, in blocks of `bsize` bytes. */
export interface DiskSpace {
  /** Bytes per block. */
  bsize: number;
  blocks: number;
  /** Blocks an unprivileged user may still use (the hub runs unprivileged). */
  bavail: number;
  /** Inodes in all; 0 on file systems that do not count them (btrfs). */
  files: number;
  ffree: number;
}

export interface CommandOutput {
  /** Null when the command could not be run at all (not installed) or was killed. */
  code: number | null;
  stdout: string;
  /** Why it could not be run, e.g. `spawn timedatectl ENOENT`. */
  error?: string;
}

/**
 * Everything `edgehub doctor` asks of the machine besides the files a config names, so tests can
 * give it a temporary root with a fake /proc, a fixed clock and canned command output.
 */
export interface DoctorEnv {
  /** Prefix of the system paths read (/proc, /dev/serial/by-id, /etc/passwd, /etc/group); '' for the machine. */
  readonly root: string;
  /** ms since the epoch. */
  now(): number;
  /** `process.versions.node`. */
  readonly nodeVersion: string;
  /** This process: its pid (never reported as holding anything) and who it runs as. */
  readonly pid: number;
  readonly uid: number;
  readonly gid: number;
  /** Supplementary group ids of this process (the groups of the current login session). */
  readonly groups: readonly number[];
  /** Runs a program without a shell; never throws. */
  run(command: string, args: readonly string[], timeoutMs: number): Promise<CommandOutput>;
  statfs(path: string): Promise<DiskSpace>;
  /** Tries to bind `host:port`: null when it could, else the error code (`EADDRINUSE`, `EACCES`, ...). */
  tryListen(host: string, port: number): Promise<string | null>;
  /** Opens a TCP connection and closes it: null when it connected, else why not. */
  tcpConnect(host: string, port: number, timeoutMs: number): Promise<string | null>;
  /** Loads better-sqlite3 and opens an in-memory database; throws when it cannot. */
  openMemorySqlite(): Promise<void>;
  /** Loads serialport's native bindings and lists ports; throws when it cannot (loaded says how far it got). */
  listSerialPorts(): Promise<{ loaded: boolean; ports?: number; error?: string }>;
}

/** The machine this runs on. */
export function systemEnv(): DoctorEnv {
  return {
    root: '',
    now: () => Date.now(),
    nodeVersion: process.versions.node,
    pid: process.pid,
    uid: process.getuid?.() ?? -1,
    gid: process.getgid?.() ?? -1,
    groups: process.getgroups?.() ?? [],
    run: runCommand,
    statfs: async (path) => {
      const s = await statfs(path);
      return { bsize: s.bsize, blocks: s.blocks, bavail: s.bavail, files: s.files, ffree: s.ffree };
    },
    tryListen,
    tcpConnect,
    openMemorySqlite: async () => {
      const { default: Database } = await import('better-sqlite3');
      const db = new Database(':memory:');
      try {
        db.prepare('SELECT 1').get();
      } finally {
        db.close();
      }
    },
    listSerialPorts: async () => {
      // serialport's SerialPort.binding is @serialport/bindings-cpp's autoDetect(); importing it loads the addon.
      let binding;
      try {
        binding = (await import('serialport')).SerialPort.binding;
      } catch (err) {
        return { loaded: false, error: err instanceof Error ? err.message : String(err) };
      }
      try {
        return { loaded: true, ports: (await binding.list()).length };
      } catch (err) {
        return { loaded: true, error: err instanceof Error ? err.message : String(err) };
      }
    },
  };
}

function runCommand(command: string, args: readonly string[], timeoutMs: number): Promise<CommandOutput> {
  return new Promise((resolve) => {
    execFile(command, [...args], { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout) => {
      if (!err) return resolve({ code: 0, stdout });
      const code = (err as { code?: unknown }).code;
      if (typeof code === 'number') return resolve({ code, stdout });
      resolve({ code: null, stdout, error: err.message });
    });
  });
}

function tryListen(host: string, port: number): Promise<string | null> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(null)));
  });
}

function tcpConnect(host: string, port: number, timeoutMs: number): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (result: string | null): void => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => done(`no answer within ${timeoutMs} ms`));
    socket.once('connect', () => done(null));
    socket.once('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
  });
}
