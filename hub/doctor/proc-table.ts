import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { basename, join } from 'node:path';

/** A process as /proc shows it. */
export interface ProcessInfo {
  pid: number;
  /** `/proc/PID/comm`: the executable's name, at most 15 characters (`ModemManager`, `agetty`, `node`). */
  comm: string;
  /** The command line, arguments joined by spaces; `comm` when it cannot be read (kernel threads). */
  command: string;
  /** True when it is an edgehub (the CLI or the installed service). */
  edgehub: boolean;
}

/** A process holding a file open, and which of its descriptors does. */
export interface FdHolder {
  process: ProcessInfo;
  fd: string;
}

/** Reads processes and their open files from `<root>/proc`; what cannot be read is left out. */
export class ProcTable {
  constructor(
    private readonly root: string,
    /** This process, never reported. */
    private readonly selfPid: number,
  ) {}

  pids(): number[] {
    try {
      return readdirSync(join(this.root, '/proc'))
        .filter((name) => /^\d+$/.test(name))
        .map(Number)
        .filter((pid) => pid !== this.selfPid);
    } catch {
      return [];
    }
  }

  info(pid: number): ProcessInfo {
    const dir = join(this.root, '/proc', String(pid));
    const comm = readOr(join(dir, 'comm')).trim();
    const argv = readOr(join(dir, 'cmdline'))
      .split('\0')
      .filter((a) => a !== '');
    const command = argv.length > 0 ? argv.join(' ') : comm;
    return { pid, comm, command, edgehub: isEdgehubCommand(comm, argv) };
  }

  /** Every open descriptor of every process whose link satisfies `match`. */
  holders(match: (link: string) => boolean): FdHolder[] {
    const found: FdHolder[] = [];
    for (const pid of this.pids()) {
      const dir = join(this.root, '/proc', String(pid), 'fd');
      let fds: string[];
      try {
        fds = readdirSync(dir);
      } catch {
        continue; // gone, or another user's process we may not look into
      }
      for (const fd of fds) {
        let link: string;
        try {
          link = readlinkSync(join(dir, fd));
        } catch {
          continue;
        }
        if (match(link)) found.push({ process: this.info(pid), fd });
      }
    }
    return found;
  }

  /** The pty index (N of /dev/pts/N) a `/dev/ptmx` descriptor is the master of, from its fdinfo. */
  ptyIndex(pid: number, fd: string): number | undefined {
    const text = readOr(join(this.root, '/proc', String(pid), 'fdinfo', fd));
    const m = /^tty-index:\s*(\d+)$/m.exec(text);
    return m ? Number(m[1]) : undefined;
  }

  /** Inodes of the TCP sockets listening on `port` (IPv4 and IPv6, any address). */
  listeningInodes(port: number): string[] {
    const inodes: string[] = [];
    for (const table of ['tcp', 'tcp6']) {
      const lines = readOr(join(this.root, '/proc/net', table))
        .split('\n')
        .slice(1);
      for (const line of lines) {
        const cols = line.trim().split(/\s+/);
        const local = cols[1];
        // st 0A is TCP_LISTEN; column 9 is the inode.
        if (local === undefined || cols[3] !== '0A' || cols[9] === undefined) continue;
        const hexPort = local.slice(local.lastIndexOf(':') + 1);
        if (parseInt(hexPort, 16) === port) inodes.push(cols[9]);
      }
    }
    return inodes;
  }

  /** The processes holding the sockets listening on `port`. */
  portHolders(port: number): ProcessInfo[] {
    const links = new Set(this.listeningInodes(port).map((inode) => `socket:[${inode}]`));
    if (links.size === 0) return [];
    return unique(this.holders((link) => links.has(link)).map((h) => h.process));
  }
}

/** One entry per pid. */
export function unique(processes: readonly ProcessInfo[]): ProcessInfo[] {
  const seen = new Map<number, ProcessInfo>();
  for (const p of processes) seen.set(p.pid, p);
  return [...seen.values()];
}

/** `pid 123 (mosquitto -c /etc/mosquitto/mosquitto.conf)`, cut to one readable line. */
export function describeProcess(p: ProcessInfo): string {
  const command = p.command.length > 80 ? `${p.command.slice(0, 77)}...` : p.command;
  return `pid ${p.pid} (${command || '?'})`;
}

/**
 * An edgehub process: `edgehub ...` (comm), or node running `bin/edgehub.js`, the installed
 * `edgehub` link, or the test entry `edgehub-cli.ts`.
 */
function isEdgehubCommand(comm: string, argv: readonly string[]): boolean {
  if (comm === 'edgehub') return true;
  return argv.slice(1).some((arg) => /^edgehub(\.js|-cli\.ts)?$/.test(basename(arg)));
}

function readOr(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
