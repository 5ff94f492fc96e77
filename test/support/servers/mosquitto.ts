import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import type { NetNamespace } from './netns.js';
import { ensureDebianPackages, freePort, startServer, tempDir, type ServerHandle } from './server-process.js';

export interface MosquittoOptions {
  /** Only this user may connect (a password file made with mosquitto_passwd); anonymous otherwise. */
  user?: { name: string; password: string };
  /** Runs it inside this namespace, listening on the namespace's address unless `host` says otherwise. */
  netns?: NetNamespace;
  /** The address to listen on; 127.0.0.1 by default. */
  host?: string;
}

/** Debian's Mosquitto (2.0.11) and its mosquitto_passwd, installed when missing. */
export function ensureMosquitto(): void {
  ensureDebianPackages(['mosquitto'], ['mosquitto', 'mosquitto_passwd']);
}

/** Mosquitto on a free port with persistence in its temporary folder, kept across restart(). */
export async function startMosquitto(
  options: MosquittoOptions = {},
): Promise<ServerHandle & { url: string }> {
  ensureMosquitto();
  const host = options.host ?? options.netns?.address ?? '127.0.0.1';
  const port = await freePort();
  const dir = tempDir('edgehub-mosquitto-');
  const lines = [`listener ${port} ${host}`, 'persistence true', `persistence_location ${dir}/`];
  // Started as root, Mosquitto drops to its own user, which cannot read the test's private folder.
  if (process.getuid?.() === 0) lines.push('user root');
  if (options.user) {
    const passwords = join(dir, 'passwd');
    const made = spawnSync(
      'mosquitto_passwd',
      ['-b', '-c', passwords, options.user.name, options.user.password],
      { encoding: 'utf8' },
    );
    if (made.status !== 0) throw new Error(`mosquitto_passwd failed: ${made.stderr || made.stdout}`);
    lines.push('allow_anonymous false', `password_file ${passwords}`);
  } else lines.push('allow_anonymous true');
  writeFileSync(join(dir, 'mosquitto.conf'), lines.join('\n') + '\n');
  const url = `mqtt://${host}:${port}`;
  const handle = await startServer({
    name: 'mosquitto',
    host,
    port,
    dir,
    command: 'mosquitto',
    args: ['-c', join(dir, 'mosquitto.conf')],
    netns: options.netns,
    readyLine: /mosquitto version [\d.]+ running/,
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
