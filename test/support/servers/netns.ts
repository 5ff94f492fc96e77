import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { ensureDebianPackages, onProcessDeath } from './server-process.js';

/**
 * A network namespace joined to this one by a veth pair on a private /30 (10.231.N.0/30): a "remote
 * host" on this machine whose link a test can take down and bring back. Nothing leaves the machine.
 */
export interface NetNamespace {
  readonly name: string;
  /** The namespace's own address (10.231.N.2), where a server inside listens. */
  readonly address: string;
  /** This side's address of the link (10.231.N.1). */
  readonly hostAddress: string;
  /** `command args` as run inside the namespace. */
  wrap(command: string, args: readonly string[]): { command: string; args: string[] };
  /**
   * Takes the link down. A new connection to `address` fails (no route to host); an open one
   * stalls, its packets going nowhere, and carries on after heal() if it has not timed out by then.
   */
  cut(): void;
  heal(): void;
  /** Kills what still runs inside, deletes the namespace, the veth pair and the route; idempotent. */
  remove(): void;
}

/** Serialises the choice of N between test files that make namespaces at once. */
const NETNS_LOCK = '/tmp/edgehub-netns.lock';

/** Debian's iproute2 for `ip`, installed when missing. */
export function ensureIproute2(): void {
  ensureDebianPackages(['iproute2'], ['ip']);
}

/*
 * Made in one shell script under the lock: N is the first of the candidates no route of this
 * machine uses yet. With its veth down, the namespace's address would fall to the default route,
 * and this sandbox's outbound proxy answers any TCP connect there: a "cut" link would still connect.
 * An `unreachable` route with a high metric catches what the link's own route no longer does.
 */
const CREATE = `
set -e
tag=$1; shift
used=" $(ip -o -4 route show | sed -n 's|.*10\\.231\\.\\([0-9]*\\)\\.0/30.*|\\1|p' | tr '\\n' ' ') "
for n in "$@"; do
  case "$used" in *" $n "*) continue ;; esac
  ns="eh-$tag-$n"; out="eh$tag"n"$n"o; in="eh$tag"n"$n"i
  trap 'ip link del "$out" 2>/dev/null; ip netns del "$ns" 2>/dev/null; ip route del unreachable 10.231.$n.0/30 metric 4000 2>/dev/null' EXIT
  ip netns add "$ns"
  ip link add "$out" type veth peer name "$in"
  ip link set "$in" netns "$ns"
  ip addr add 10.231.$n.1/30 dev "$out"
  ip route add unreachable 10.231.$n.0/30 metric 4000
  ip link set "$out" up
  ip -n "$ns" addr add 10.231.$n.2/30 dev "$in"
  ip -n "$ns" link set "$in" up
  ip -n "$ns" link set lo up
  trap - EXIT
  echo "$n"
  exit 0
done
echo "no free 10.231.N.0/30 among the candidates" >&2
exit 3
`;

/**
 * Makes the namespace; needs root and iproute2 (installed when missing). Throws, saying why, where
 * the sandbox does not allow network namespaces. Removed at process exit if the test does not.
 */
export function createNetNamespace(): NetNamespace {
  if (process.platform !== 'linux' || process.getuid?.() !== 0)
    throw new Error('the network-cut tests need Linux and root, for ip netns and veth pairs');
  ensureIproute2();
  const tag = String(process.pid % 100_000);
  const candidates = Array.from({ length: 250 }, (_, i) => i + 1).sort(() => Math.random() - 0.5);
  const made = spawnSync('flock', [NETNS_LOCK, 'sh', '-c', CREATE, 'sh', tag, ...candidates.map(String)], {
    encoding: 'utf8',
  });
  const n = made.stdout.trim();
  if (made.status !== 0 || !/^\d+$/.test(n))
    throw new Error(
      `making a network namespace failed (this machine may not allow ip netns add or veth pairs: ` +
        `it needs CAP_SYS_ADMIN and CAP_NET_ADMIN): ${(made.error?.message ?? made.stderr).trim()}`,
    );
  const name = `eh-${tag}-${n}`;
  const outside = `eh${tag}n${n}o`;
  const removeScript =
    `ip netns pids ${name} 2>/dev/null | xargs -r kill -KILL 2>/dev/null; ` +
    `ip link del ${outside} 2>/dev/null; ip route del unreachable 10.231.${n}.0/30 metric 4000 2>/dev/null; ` +
    `ip netns del ${name} 2>/dev/null; true`;
  const removeNow = (): void => void spawnSync('sh', ['-c', removeScript], { stdio: 'ignore' });
  const cancelReaper = onProcessDeath(removeScript, removeNow);
  let removed = false;
  return {
    name,
    address: `10.231.${n}.2`,
    hostAddress: `10.231.${n}.1`,
    wrap: (command, args) => ({ command: 'ip', args: ['netns', 'exec', name, command, ...args] }),
    cut: () => ip('link', 'set', outside, 'down'),
    heal: () => ip('link', 'set', outside, 'up'),
    remove: () => {
      if (removed) return;
      removed = true;
      removeNow();
      cancelReaper();
    },
  };
}

/**
 * Spawns `command args` inside `ns`. The caller owns the child; the namespace's remove() kills it
 * if it still runs then. The servers' `netns` option uses the same `ip netns exec`.
 */
export function runIn(
  ns: NetNamespace,
  command: string,
  args: readonly string[],
  options: SpawnOptions = {},
): ChildProcess {
  const wrapped = ns.wrap(command, args);
  return spawn(wrapped.command, wrapped.args, options);
}

function ip(...args: string[]): void {
  const run = spawnSync('ip', args, { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`ip ${args.join(' ')} failed: ${run.stderr.trim()}`);
}
