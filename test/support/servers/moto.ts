import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { freePort, startServer, tempDir, type ServerHandle } from './server-process.js';

const CACHE = join(homedir(), '.cache', 'edgehub-tests');

/** moto in a virtualenv in the cache, from PyPI (once); renamed into place when complete. */
export function motoServer(): string {
  const venv = join(CACHE, 'moto-venv');
  const bin = join(venv, 'bin', 'moto_server');
  if (existsSync(join(venv, '.complete'))) return bin;
  if (spawnSync('python3', ['-m', 'venv', '--help']).status !== 0)
    throw new Error('the SNS/SQS tests need Python 3 with venv (apt-get install python3-venv) to run moto');
  mkdirSync(CACHE, { recursive: true });
  // A virtualenv records its own path, so it is built where it stays, under the lock.
  const script = `test -f ${venv}/.complete || (rm -rf ${venv} && python3 -m venv ${venv} && ${venv}/bin/pip install -q 'moto[server]' && touch ${venv}/.complete)`;
  const run = spawnSync('flock', [join(CACHE, 'moto.lock'), 'sh', '-c', script], { encoding: 'utf8' });
  if (!existsSync(join(venv, '.complete'))) {
    rmSync(venv, { recursive: true, force: true });
    throw new Error(`installing moto[server] from PyPI failed: ${(run.stdout + run.stderr).slice(-800)}`);
  }
  return bin;
}

/** AWS SDK settings that reach the emulator. */
export interface AwsEndpoint {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
}

/**
 * moto in server mode (SQS, SNS, and SNS→SQS subscriptions) on a free loopback port. It keeps its
 * state in memory: restart() comes back empty.
 */
export async function startMoto(): Promise<ServerHandle & { aws: AwsEndpoint }> {
  const bin = motoServer();
  const port = await freePort();
  const dir = tempDir('edgehub-moto-');
  const aws: AwsEndpoint = {
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  };
  const handle = await startServer({
    name: 'moto',
    port,
    dir,
    command: bin,
    args: ['-H', '127.0.0.1', '-p', String(port)],
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
  return Object.assign(handle, { aws });
}
