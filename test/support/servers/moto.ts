import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { NetNamespace } from './netns.js';
import {
  cacheDir,
  ensureDebianPackages,
  freePort,
  startServer,
  tempDir,
  type ServerHandle,
} from './server-process.js';

/** Pinned, so the cached virtualenv is the one the tests were written against. */
export const MOTO_VERSION = '5.2.6';

/**
 * moto[server] in a virtualenv in the cache, from PyPI with pip (once); Python's venv from Debian
 * when missing. Returns the path of moto_server.
 *
 * A virtualenv is not relocatable (its scripts name its own path), so it is built where it stays
 * rather than renamed into place: under a lock, with a `.complete` marker written last, and an
 * unmarked one (an interrupted build) is thrown away and built again.
 */
export function ensureMoto(): string {
  const cache = cacheDir();
  const venv = join(cache, `moto-${MOTO_VERSION}`);
  const bin = join(venv, 'bin', 'moto_server');
  if (existsSync(join(venv, '.complete'))) return bin;
  ensureDebianPackages(
    ['python3', 'python3-venv'],
    ['python3'],
    () => spawnSync('python3', ['-c', 'import ensurepip, venv'], { stdio: 'ignore' }).status === 0,
  );
  mkdirSync(cache, { recursive: true });
  const script =
    `test -f "${venv}/.complete" || (rm -rf "${venv}" && python3 -m venv "${venv}" && ` +
    `"${venv}/bin/pip" install -q --disable-pip-version-check 'moto[server]==${MOTO_VERSION}' && ` +
    `touch "${venv}/.complete")`;
  const run = spawnSync('flock', [join(cache, 'moto.lock'), 'sh', '-c', script], { encoding: 'utf8' });
  if (!existsSync(join(venv, '.complete')))
    throw new Error(
      `the SNS/SQS tests need moto[server]==${MOTO_VERSION} from PyPI in a virtualenv, and ` +
        `installing it failed: ${(run.error?.message ?? run.stdout + run.stderr).slice(-800)}`,
    );
  return bin;
}

/** AWS SDK settings that reach the emulator. */
export interface AwsEndpoint {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
}

export interface MotoOptions {
  /** Runs it inside this namespace, listening on the namespace's address unless `host` says otherwise. */
  netns?: NetNamespace;
  /** The address to listen on; 127.0.0.1 by default. */
  host?: string;
}

/**
 * moto in server mode (SQS, SNS, and SNS→SQS subscriptions, which it delivers) on a free port.
 * It keeps its state in memory only: after restart() (or kill() and restart()) every queue, topic
 * and subscription is gone.
 */
export async function startMoto(
  options: MotoOptions = {},
): Promise<ServerHandle & { url: string; aws: AwsEndpoint }> {
  const bin = ensureMoto();
  const host = options.host ?? options.netns?.address ?? '127.0.0.1';
  const port = await freePort();
  const dir = tempDir('edgehub-moto-');
  const url = `http://${host}:${port}`;
  const aws: AwsEndpoint = {
    endpoint: url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  };
  const handle = await startServer({
    name: 'moto',
    host,
    port,
    dir,
    command: bin,
    args: ['-H', host, '-p', String(port)],
    netns: options.netns,
    readyLine: /Running on http/,
    ready: async () => {
      const client = new SQSClient({ ...aws, maxAttempts: 1 });
      try {
        await client.send(new ListQueuesCommand({}));
        return true;
      } finally {
        client.destroy();
      }
    },
  });
  return Object.assign(handle, { url, aws });
}
