import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { ensureDebianPackages, freePort, startServer, tempDir, type ServerHandle } from './server-process.js';

/**
 * Debian's Mosquitto on a free loopback port with persistence in its folder; with `user`, only that
 * user (and password) may connect.
 */
export async function startMosquitto(
  options: { user?: { name: string; password: string } } = {},
): Promise<ServerHandle & { url: string }> {
  ensureDebianPackages(['mosquitto'], ['mosquitto']);
  const port = await freePort();
  const dir = tempDir('edgehub-mosquitto-');
  const lines = [`listener ${port} 127.0.0.1`, 'persistence true', `persistence_location ${dir}/`];
  // Started as root, Mosquitto drops to its own user, which cannot read the test's private folder.
  if (process.getuid?.() === 0) lines.push('user root');
  if (options.user) {
    const passwords = join(dir, 'passwd');
    const made = spawnSync('mosquitto_passwd', [
      '-b',
      '-c',
      passwords,
      options.user.name,
      options.user.password,
    ]);
    if (made.status !== 0) throw new Error(`mosquitto_passwd failed: ${made.stderr.toString()}`);
    lines.push('allow_anonymous false', `password_file ${passwords}`);
  } else lines.push('allow_anonymous true');
  writeFileSync(join(dir, 'mosquitto.conf'), lines.join('\n') + '\n');
  const url = `mqtt://127.0.0.1:${port}`;
  const handle = await startServer({
    name: 'mosquitto',
    port,
    dir,
    command: 'mosquitto',
    args: ['-c', join(dir, 'mosquitto.conf')],
    ready: () => answers(url, options.user),
  });
  return Object.assign(handle, { url });
}

/** True once a client gets a CONNACK (a refusal counts: the server is up). */
function answers(url: string, user?: { name: string; password: string }): Promise<boolean> {
  return new Promise((resolve) => {
    const client = mqtt.connect(url, {
      reconnectPeriod: 0,
      connectTimeout: 1000,
      ...(user && { username: user.name, password: user.password }),
    });
    client.once('connect', () => {
      client.end(true);
      resolve(true);
    });
    client.once('error', (err) => {
      client.end(true);
      resolve('code' in err && typeof err.code === 'number');
    });
    client.once('close', () => resolve(false));
  });
}
