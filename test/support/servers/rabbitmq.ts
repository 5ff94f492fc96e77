import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import amqp from 'amqplib';
import { ensureDebianPackages, freePort, startServer, tempDir, type ServerHandle } from './server-process.js';

const BIN = '/usr/lib/rabbitmq/bin';

export interface RabbitHandle extends ServerHandle {
  url: string;
  /** Runs rabbitmqctl against this node, e.g. `add_user site1 secret`. */
  ctl(...args: string[]): string;
}

/**
 * Debian's RabbitMQ as a node of its own: its port, distribution port, data, logs and Erlang cookie
 * in a temporary folder, no plugins. The default user guest/guest works from loopback.
 */
export async function startRabbitMq(): Promise<RabbitHandle> {
  ensureDebianPackages(['rabbitmq-server'], [`${BIN}/rabbitmq-server`]);
  const port = await freePort();
  const distPort = await freePort();
  const dir = tempDir('edgehub-rabbitmq-');
  mkdirSync(join(dir, 'log'));
  writeFileSync(join(dir, 'enabled_plugins'), '[].\n');
  writeFileSync(
    join(dir, 'rabbitmq.conf'),
    `listeners.tcp.default = 127.0.0.1:${port}\nloopback_users = none\n`,
  );
  const node = `edgehub${port}@localhost`;
  const env: NodeJS.ProcessEnv = {
    HOME: dir,
    RABBITMQ_NODENAME: node,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_PID_FILE: join(dir, 'rabbitmq.pid'),
    ERL_EPMD_ADDRESS: '127.0.0.1',
  };
  const url = `amqp://127.0.0.1:${port}`;
  const handle = await startServer({
    name: 'rabbitmq',
    port,
    dir,
    command: `${BIN}/rabbitmq-server`,
    args: [],
    env,
    startTimeoutMs: 90_000,
    ready: async () => {
      const connection = await amqp.connect(url, { timeout: 1000 });
      await connection.close();
      return true;
    },
  });
  return Object.assign(handle, {
    url,
    ctl: (...args: string[]) => {
      const run = spawnSync(`${BIN}/rabbitmqctl`, ['-n', node, ...args], {
        env: { ...process.env, ...env },
        encoding: 'utf8',
      });
      if (run.status !== 0)
        throw new Error(`rabbitmqctl ${args.join(' ')} failed: ${run.stderr || run.stdout}`);
      return run.stdout;
    },
  });
}
