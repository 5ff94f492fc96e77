import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import amqp from 'amqplib';
import type { NetNamespace } from './netns.js';
import { ensureDebianPackages, freePort, startServer, tempDir, type ServerHandle } from './server-process.js';

export interface RabbitOptions {
  /** Users added (with all permissions on vhost /) once the node is up; guest/guest stays. */
  users?: readonly { name: string; password: string }[];
  /** Runs it inside this namespace, listening on the namespace's address unless `host` says otherwise. */
  netns?: NetNamespace;
  /** The address to listen on; 127.0.0.1 by default. */
  host?: string;
}

export interface RabbitHandle extends ServerHandle {
  url: string;
  /** The Erlang node name, for rabbitmqctl -n. */
  node: string;
  /** Runs rabbitmqctl against this node, e.g. `ctl('add_user', 'site1', 'secret')`; its stdout. */
  ctl(...args: string[]): string;
  /**
   * Writes the node's definitions (queues, exchanges, bindings, users) into its table files, as a
   * clean stop would, so that a kill() keeps them. Call it after declaring what must outlive a
   * kill(): RabbitMQ answers a declaration once Mnesia has logged the transaction, but the record
   * that marks it committed may not be on disk yet, and a restart then drops the queue (seen with
   * 3.10 in about one kill in five). Messages need no such help: a confirmed persistent message is
   * on disk.
   */
  syncDefinitions(): void;
}

/** The scripts themselves: /usr/sbin's are wrappers that switch to the rabbitmq user. */
function rabbitBin(): string {
  return ['/usr/lib/rabbitmq/bin', '/usr/sbin'].find((d) => existsSync(join(d, 'rabbitmq-server'))) ?? '';
}

/** Debian's RabbitMQ (3.10), installed when missing (its own service is kept from starting). */
export function ensureRabbitMq(): string {
  if (!rabbitBin()) ensureDebianPackages(['rabbitmq-server'], ['/usr/lib/rabbitmq/bin/rabbitmq-server']);
  return rabbitBin();
}

/**
 * RabbitMQ as a node of its own: its port, distribution port, data, logs and Erlang cookie (HOME)
 * in a temporary folder, no plugins (so no management UI). The default user guest/guest works from
 * anywhere. A start takes seconds (an Erlang VM and Mnesia): `startedInMs` says how many.
 */
export async function startRabbitMq(options: RabbitOptions = {}): Promise<RabbitHandle> {
  const bin = ensureRabbitMq();
  const host = options.host ?? options.netns?.address ?? '127.0.0.1';
  const port = await freePort();
  const distPort = await freePort();
  const dir = tempDir('edgehub-rabbitmq-');
  mkdirSync(join(dir, 'log'));
  writeFileSync(join(dir, 'enabled_plugins'), '[].\n');
  writeFileSync(
    join(dir, 'rabbitmq.conf'),
    `listeners.tcp.default = ${host}:${port}\nloopback_users = none\n`,
  );
  const node = `edgehub${port}@localhost`;
  const env: NodeJS.ProcessEnv = {
    HOME: dir,
    RABBITMQ_NODENAME: node,
    RABBITMQ_NODE_IP_ADDRESS: host,
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_PID_FILE: join(dir, 'rabbitmq.pid'),
    ERL_EPMD_ADDRESS: '127.0.0.1',
  };
  const url = `amqp://${host}:${port}`;
  const handle = await startServer({
    name: 'rabbitmq',
    host,
    port,
    dir,
    command: join(bin, 'rabbitmq-server'),
    args: [],
    env,
    netns: options.netns,
    startTimeoutMs: 120_000,
    readyLine: /Server startup complete|completed with \d+ plugins/,
    ready: async () => {
      const connection = await amqp.connect(url, { timeout: 1000 });
      await connection.close();
      return true;
    },
  });
  const ctl = (...args: string[]): string => {
    const { command, args: full } = options.netns
      ? options.netns.wrap(join(bin, 'rabbitmqctl'), ['-n', node, ...args])
      : { command: join(bin, 'rabbitmqctl'), args: ['-n', node, ...args] };
    const run = spawnSync(command, full, { env: { ...process.env, ...env }, encoding: 'utf8' });
    if (run.status !== 0)
      throw new Error(
        `rabbitmqctl ${args.join(' ')} failed: ${run.error?.message ?? run.stderr + run.stdout}`,
      );
    return run.stdout;
  };
  try {
    for (const user of options.users ?? []) {
      ctl('add_user', user.name, user.password);
      ctl('set_permissions', '-p', '/', user.name, '.*', '.*', '.*');
    }
  } catch (err) {
    await handle.stop();
    throw err;
  }
  const syncDefinitions = (): void => {
    const answer = ctl('eval', 'mnesia:dump_log().').trim();
    if (answer !== 'dumped') throw new Error(`mnesia:dump_log() on ${node} answered ${answer}`);
  };
  return Object.assign(handle, { url, node, ctl, syncDefinitions });
}
