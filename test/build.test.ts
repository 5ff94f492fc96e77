import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildProduct } from '../scripts/build.js';
import { collect, HubLog, signalAndWait } from './support/hub-process.js';
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

function startBuilt(env: NodeJS.ProcessEnv): { child: ChildProcessWithoutNullStreams; log: HubLog } {
  const data = temp.make();
  // The command itself, so its shebang's node flags and environment apply.
  const child = spawn(
    bin,
    ['start', '--demo', '--mqtt-port', '0', '--ws-port', '0', '--http-port', '0', '--data', data],
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
});
