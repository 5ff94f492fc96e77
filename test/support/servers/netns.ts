import { spawnSync } from 'node:child_process';
import { ensureDebianPackages } from './server-process.js';

/**
 * A network namespace joined to this one by a veth pair on a private /30: a "remote host" on this
 * machine whose link a test can take down and up. Nothing leaves the machine.
 */
export interface NetNamespace {
  readonly name: string;
  /** The namespace's own address, where a server inside listens. */
  readonly address: string;
  /** `command args` run inside the namespace. */
  wrap(command: string, args: readonly string[]): { command: string; args: string[] };
  /** Takes the link down: packets to the namespace go nowhere. */
  cut(): void;
  heal(): void;
  remove(): void;
}

function ip(...args: string[]): void {
  const run = spawnSync('ip', args, { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`ip ${args.join(' ')} failed: ${run.stderr.trim()}`);
}

/** Makes the namespace; needs root and iproute2 (installed when missing). */
export function createNetNamespace(): NetNamespace {
  if (process.getuid?.() !== 0) throw new Error('the network-cut tests need root, for ip netns and veth');
  ensureDebianPackages(['iproute2'], ['ip']);
  const n = 1 + Math.floor(Math.random() * 250);
  const tag = `${process.pid % 10000}${n}`;
  const name = `eh${tag}`;
  const outside = `veh${tag}o`;
  const inside = `veh${tag}i`;
  const base = `10.231.${n}`;
  ip('netns', 'add', name);
  ip('link', 'add', outside, 'type', 'veth', 'peer', 'name', inside);
  ip('link', 'set', inside, 'netns', name);
  ip('addr', 'add', `${base}.1/30`, 'dev', outside);
  ip('link', 'set', outside, 'up');
  ip('netns', 'exec', name, 'ip', 'addr', 'add', `${base}.2/30`, 'dev', inside);
  ip('netns', 'exec', name, 'ip', 'link', 'set', inside, 'up');
  ip('netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up');
  return {
    name,
    address: `${base}.2`,
    wrap: (command, args) => ({ command: 'ip', args: ['netns', 'exec', name, command, ...args] }),
    cut: () => ip('link', 'set', outside, 'down'),
    heal: () => ip('link', 'set', outside, 'up'),
    remove: () => {
      spawnSync('ip', ['link', 'del', outside]);
      spawnSync('ip', ['netns', 'del', name]);
    },
  };
}
