import { createConnection } from 'node:net';
import type { NetNamespace } from './netns.js';
import { ensureDebianPackages, freePort, startServer, tempDir, type ServerHandle } from './server-process.js';

export interface RedisOptions {
  /** Redis's `requirepass`: clients must AUTH with it. */
  password?: string;
  /** An append-only file synced on every write, so a restart keeps every confirmed entry. */
  persist?: boolean;
  /** Runs it inside this namespace, listening on the namespace's address unless `host` says otherwise. */
  netns?: NetNamespace;
  /** The address to bind; 127.0.0.1 by default. */
  host?: string;
}

/** Debian's redis-server (7.0), installed when missing. */
export function ensureRedis(): void {
  ensureDebianPackages(['redis-server'], ['redis-server']);
}

/** redis-server on a free port, its folder a fresh temporary one; nothing saved unless `persist`. */
export async function startRedis(options: RedisOptions = {}): Promise<ServerHandle & { url: string }> {
  ensureRedis();
  const host = options.host ?? options.netns?.address ?? '127.0.0.1';
  const port = await freePort();
  const dir = tempDir('edgehub-redis-');
  const args = ['--port', String(port), '--bind', host, '--save', '', '--dir', dir];
  args.push(
    ...(options.persist ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
  );
  if (options.password !== undefined) args.push('--requirepass', options.password);
  // Without a password, Redis answers only loopback clients unless told otherwise.
  if (host !== '127.0.0.1') args.push('--protected-mode', 'no');
  const handle = await startServer({
    name: 'redis',
    host,
    port,
    dir,
    command: 'redis-server',
    args,
    netns: options.netns,
    readyLine: /Ready to accept connections/,
    ready: () => ping(host, port),
  });
  // No credentials in it: a test says which it connects with.
  return Object.assign(handle, { url: `redis://${host}:${port}` });
}

/** True once the server answers PING (or asks for a password: it is up). */
function ping(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port, timeout: 1000 });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => {
      socket.destroy();
      resolve(/^(\+PONG|-NOAUTH)/.test(data.toString()));
    });
  });
}
