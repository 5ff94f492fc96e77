import { createConnection } from 'node:net';
import { ensureDebianPackages, freePort, startServer, tempDir, type ServerHandle } from './server-process.js';

/**
 * Debian's redis-server on a free loopback port; nothing saved to disk unless `persist` (an
 * append-only file synced on every write, so a restart keeps every confirmed entry).
 */
export async function startRedis(
  options: { password?: string; persist?: boolean } = {},
): Promise<ServerHandle & { url: string }> {
  ensureDebianPackages(['redis-server'], ['redis-server']);
  const port = await freePort();
  const dir = tempDir('edgehub-redis-');
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir];
  args.push(
    ...(options.persist ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
  );
  if (options.password !== undefined) args.push('--requirepass', options.password);
  const handle = await startServer({
    name: 'redis',
    port,
    dir,
    command: 'redis-server',
    args,
    ready: () => ping(port),
  });
  return Object.assign(handle, { url: `redis://127.0.0.1:${port}` });
}

/** True once the server answers PING (or asks for a password). */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('error', () => resolve(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => {
      socket.destroy();
      resolve(/^(\+PONG|-NOAUTH)/.test(data.toString()));
    });
  });
}
