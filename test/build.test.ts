import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient } from '@redis/client';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildProduct } from '../scripts/build.js';
import { collect, HubLog, signalAndWait } from './support/hub-process.js';
import { startRedis } from './support/servers/redis.js';
import { TempDirs } from './support/temp.js';

const bin = fileURLToPath(new URL('../bin/edgehub.js', import.meta.url));
const temp = new TempDirs();
const running: ChildProcessWithoutNullStreams[] = [];

// The build of the sources under test; it takes about a second.
beforeAll(() => buildProduct());
afterEach(async () => {
  for (const child of running.splice(0)) await signalAndWait(child, 'SIGKILL');
  temp.cleanup();
});

function startBuilt(
  env: NodeJS.ProcessEnv,
  extra: readonly string[] = [],
): { child: ChildProcessWithoutNullStreams; log: HubLog } {
  const data = temp.make();
  // The command itself, so its shebang's node flags and environment apply.
  const child = spawn(
    bin,
    ['start', '--demo', '--mqtt-port', '0', '--ws-port', '0', '--http-port', '0', '--data', data, ...extra],
    { stdio: 'pipe', env: { ...process.env, ...env } },
  );
  running.push(child);
  return { child, log: new HubLog(child) };
}

describe('bin/edgehub.js running the build (npm run build)', () => {
  it('runs the demo: the simulated fleet connects, rules fire, readings are stored and flushed on SIGTERM', async () => {
    const { child, log } = startBuilt({ DEBUG: '' });
    const done = collect(child);
    await log.waitFor('simulated devices started');
    await log.waitFor('rule node-back fired key=gh-1');
    await log.waitFor('[demo] gh-1 fan = false');
    child.kill('SIGTERM');
    const result = await done;
    expect(result.code).toBe(0);
    const stored = /stopped stored=(\d+)/.exec(log.lines.join('\n'))?.[1];
    expect(Number(stored)).toBeGreaterThan(0);
  });

  it("still lets DEBUG turn on mqtt-packet's logging", async () => {
    const { log } = startBuilt({ DEBUG: 'mqtt-packet:*' });
    await log.waitFor('mqtt-packet:parser');
  });

  it("loads every connector type's client library: each one only fails to reach its closed port", async () => {
    const config = join(temp.make(), 'edgehub.yaml');
    const closed = '127.0.0.1:9';
    writeFileSync(
      config,
      [
        'connectors:',
        `  - { id: m, type: mqtt, url: "mqtt://${closed}" }`,
        `  - { id: k, type: kafka, brokers: ["${closed}"] }`,
        `  - { id: a, type: amqp, url: "amqp://${closed}" }`,
        `  - { id: r, type: redis-stream, url: "redis://${closed}" }`,
        `  - { id: s, type: sqs, endpoint: "http://${closed}", out: [{ queue_url: "http://${closed}/1/q" }] }`,
        `  - { id: n, type: sns, endpoint: "http://${closed}", out: [{ topic_arn: "arn:aws:sns:us-east-1:1:t" }] }`,
        '',
      ].join('\n'),
    );
    const { log } = startBuilt({ AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' }, [
      '--config',
      config,
    ]);
    for (const id of ['m', 'k', 'a', 'r', 's', 'n']) await log.waitFor(`connector=${id} error=`);
    const errors = log.lines.filter((l) => l.includes('cannot connect'));
    expect(errors.join('\n')).not.toMatch(/is not a constructor|is not a function|Cannot find/);
  });

  it("sends through its bundled client: the demo fleet's events reach a real Redis stream, each with its event id", async () => {
    const redis = await startRedis();
    const reader = createClient({ url: redis.url });
    try {
      await reader.connect();
      const config = join(temp.make(), 'edgehub.yaml');
      writeFileSync(
        config,
        [
          'connectors:',
          `  - { id: r, type: redis-stream, url: "${redis.url}", out: [{ topics: ["#"], stream: built }] }`,
          '',
        ].join('\n'),
      );
      startBuilt({}, ['--config', config]);
      await vi.waitFor(async () => expect(await reader.xLen('built')).toBeGreaterThanOrEqual(5), {
        timeout: 20_000,
        interval: 200,
      });
      const entries = await reader.xRange('built', '-', '+', { COUNT: 5 });
      expect(entries).toHaveLength(5);
      for (const { message } of entries ?? []) {
        const event = JSON.parse(message.payload ?? '') as { id: string; topic: string };
        expect(message.id).toBe(event.id);
        expect(event.id).toMatch(/^[\w.-]+:\d+$/);
        expect(typeof event.topic).toBe('string');
      }
    } finally {
      await reader.close().catch(() => undefined);
      await redis.stop();
    }
  });
});
