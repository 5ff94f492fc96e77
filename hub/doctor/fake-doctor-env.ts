import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { CommandOutput, DiskSpace, DoctorEnv } from './doctor-env.js';

/** 2026-06-01, a clock that has been set. */
export const FAKE_NOW = Date.UTC(2026, 5, 1);

/** Plenty of room: 10 GiB free of 20, a million inodes free. */
export const ROOMY_DISK: DiskSpace = {
  bsize: 4096,
  blocks: 5_242_880,
  bavail: 2_621_440,
  files: 2_000_000,
  ffree: 1_000_000,
};

/**
 * A machine for the doctor's unit tests: a temporary root to build /proc, /dev and /etc in, a fixed
 * clock, and canned answers for commands, ports and connections (`commands` keyed by `cmd args...`).
 */
export class FakeMachine {
  readonly root = mkdtempSync(join(tmpdir(), 'edgehub-doctor-'));
  readonly commands = new Map<string, CommandOutput>();
  /** host:port → error code; unlisted ports are free. */
  readonly taken = new Map<string, string>();
  /** host:port → why it is unreachable; unlisted remotes answer. */
  readonly unreachable = new Map<string, string>();
  disk: DiskSpace = ROOMY_DISK;

  env(over: Partial<DoctorEnv> = {}): DoctorEnv {
    return {
      root: this.root,
      now: () => FAKE_NOW,
      nodeVersion: '20.19.0',
      pid: 1_000_000,
      // Whoever runs the tests, so the files the tests make are theirs.
      uid: process.getuid?.() ?? 0,
      gid: process.getgid?.() ?? 0,
      groups: process.getgroups?.() ?? [],
      run: (command, args) =>
        Promise.resolve(
          this.commands.get([command, ...args].join(' ')) ?? {
            code: null,
            stdout: '',
            error: `spawn ${command} ENOENT`,
          },
        ),
      statfs: () => Promise.resolve(this.disk),
      tryListen: (host, port) => Promise.resolve(this.taken.get(`${host}:${port}`) ?? null),
      tcpConnect: (host, port) => Promise.resolve(this.unreachable.get(`${host}:${port}`) ?? null),
      openMemorySqlite: () => Promise.resolve(),
      listSerialPorts: () => Promise.resolve({ loaded: true, ports: 0 }),
      ...over,
    };
  }

  /** Writes `<root>/<path>`, making its folders. */
  file(path: string, text: string): string {
    const at = join(this.root, path);
    mkdirSync(dirname(at), { recursive: true });
    writeFileSync(at, text);
    return at;
  }

  /** Makes `<root>/<path>` a symbolic link to `target` (which need not exist: /proc fd links name sockets). */
  link(path: string, target: string): void {
    const at = join(this.root, path);
    mkdirSync(dirname(at), { recursive: true });
    symlinkSync(target, at);
  }

  /** A process in the fake /proc with `fds` (fd number → link target). */
  process(pid: number, comm: string, argv: readonly string[], fds: Record<string, string> = {}): void {
    this.file(`/proc/${pid}/comm`, `${comm}\n`);
    this.file(`/proc/${pid}/cmdline`, argv.map((a) => `${a}\0`).join(''));
    mkdirSync(join(this.root, `/proc/${pid}/fd`), { recursive: true });
    for (const [fd, target] of Object.entries(fds)) this.link(`/proc/${pid}/fd/${fd}`, target);
  }

  cleanup(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}
