import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
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
  /**
   * Checks every request as IAM would (moto's "IAM-like Access Control"): the signature against
   * the secret of its access key, then the key's user's policies. `aws.credentials` is then the key
   * of an IAM user allowed `sqs:*` and `sns:*`; any other key (the default test/test) is refused.
   */
  auth?: boolean;
}

/** The IAM user `auth` creates, and what its policy allows. */
const AUTH_USER = 'edgehub-tests';
const AUTH_POLICY = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: ['sqs:*', 'sns:*'], Resource: '*' }],
};

/**
 * Creates the IAM user, its policy and access key while moto still lets every request in, then
 * turns checking on from the next request (moto counts unchecked requests up to
 * INITIAL_NO_AUTH_ACTION_COUNT; /moto-api/reset-auth sets that count and zeroes the tally, as moto's
 * own server-mode decorator does. Setting the variable at start instead would have to count the
 * readiness probes too, and a restarted moto would check keys before any user exists).
 * IAM's calls go through boto3, which moto brings into its virtualenv: the tests have no IAM client.
 */
async function enforceAuth(bin: string, url: string): Promise<AwsEndpoint['credentials']> {
  const script = [
    'import json, sys, boto3',
    "iam = boto3.client('iam', endpoint_url=sys.argv[1], region_name='us-east-1',",
    "                   aws_access_key_id='test', aws_secret_access_key='test')",
    'iam.create_user(UserName=sys.argv[2])',
    "iam.put_user_policy(UserName=sys.argv[2], PolicyName='queues', PolicyDocument=sys.argv[3])",
    "key = iam.create_access_key(UserName=sys.argv[2])['AccessKey']",
    "print(json.dumps({'accessKeyId': key['AccessKeyId'], 'secretAccessKey': key['SecretAccessKey']}))",
  ].join('\n');
  const run = spawnSync(
    join(dirname(bin), 'python'),
    ['-c', script, url, AUTH_USER, JSON.stringify(AUTH_POLICY)],
    { encoding: 'utf8' },
  );
  if (run.status !== 0)
    throw new Error(
      `creating moto's IAM user failed: ${(run.error?.message ?? run.stderr + run.stdout).slice(-800)}`,
    );
  const credentials = JSON.parse(run.stdout) as AwsEndpoint['credentials'];
  const reply = await fetch(`${url}/moto-api/reset-auth`, {
    method: 'POST',
    // moto reads the raw body as the count; a form content type would leave it empty.
    headers: { 'content-type': 'text/plain' },
    body: '0',
  });
  if (!reply.ok) throw new Error(`turning moto's auth on failed: HTTP ${reply.status}`);
  return credentials;
}

/**
 * moto in server mode (SQS, SNS, and SNS→SQS subscriptions, which it delivers) on a free port.
 * It keeps its state in memory only: after restart() (or kill() and restart()) every queue, topic
 * and subscription is gone. With `auth`, so is the IAM user: restart() makes a new one with a new
 * key, in `aws.credentials`, and a client made with the old key is refused.
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
  if (!options.auth) return Object.assign(handle, { url, aws });
  const checking = async (): Promise<void> => {
    aws.credentials = await enforceAuth(bin, url);
  };
  // The server's own restart, before it is replaced by one that sets the user up again.
  const restartServer = handle.restart.bind(handle);
  try {
    await checking();
  } catch (err) {
    await handle.stop();
    throw err;
  }
  return Object.assign(handle, {
    url,
    aws,
    restart: async () => {
      await restartServer();
      await checking();
    },
  });
}
