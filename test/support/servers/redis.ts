import { createConnection } from 'node:net';
import type { NetNamespace } from './netns.js';
import { ensureDebianPackages, freePort, startServer, tempDir, type ServerHandle } from './server-process.js';

/**
 * Debian's redis-server on a free loopback port (or inside `netns`, on its address); nothing saved
 * to disk unless `persist` (an append-only file synced on every write, so a restart keeps every
 * confirmed entry).
 */
export async function startRedis(
  options: { password?: string; persist?: boolean; netns?: NetNamespace } = {},
): Promise<ServerHandle & { url: string }> {
  ensureDebianPackages(['redis-server'], ['redis-server']);
  const host = options.netns?.address ?? '127.0.0.1';
  const port = await freePort();
  const dir = tempDir('edgehub-redis-');
  const args = ['--port', String(port), '--bind', host, '--save', '', '--dir', dir];
  args.push(
    ...(options.persist ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
  );
  if (options.password !== undefined) args.push('--requirepass', options.password);
  // Outside loopback, Redis without a password only answers from loopback unless told otherwise.
  if (options.netns) args.push('--protected-mode', 'no');
  const command = options.netns
    ? options.netns.wrap('redis-server', args)
    : { command: 'redis-server', args };
  const handle = await startServer({
    name: 'redis',
    host,
    port,
    dir,
    ...command,
    ready: () => ping(host, port),
  });
  return Object.assign(handle, { url: `redis://${host}:${port}` });
}

/** True once the server answers PING (or asks for a password). */
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
