import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * Loads quiet-debug and then mqtt-packet's parser as the hub does, in a fresh process (the module
 * works on the module cache at load time), parses one PUBLISH, and reports what `debug` printed.
 */
function parseOnePacket(env: NodeJS.ProcessEnv): Promise<{ stderr: string; enabled: string }> {
  const script = [
    "await import('./kernel/quiet-debug.ts');",
    "const { createRequire } = await import('node:module');",
    "const require = createRequire(process.cwd() + '/');",
    "const mqtt = require('mqtt-packet');",
    // Turning loggers on at run time works only with the real package.
    "if (process.env.ENABLE_AT_RUN_TIME) require('debug').enable(process.env.ENABLE_AT_RUN_TIME);",
    'const parser = mqtt.parser();',
    "parser.parse(mqtt.generate({ cmd: 'publish', topic: 'sensors/a/temperature', payload: '21', qos: 0, retain: false, dup: false }));",
    "console.log(String(require('debug')('mqtt-packet:parser').enabled));",
  ].join('\n');
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: root,
    env,
    stdio: 'pipe',
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.once('close', () => resolve({ stderr, enabled: stdout.trim() })));
}

describe('quiet debug', () => {
  it('gives mqtt-packet loggers that stay off when DEBUG is unset', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, ENABLE_AT_RUN_TIME: 'mqtt-packet:*' };
    delete env.DEBUG;
    const { stderr, enabled } = await parseOnePacket(env);
    expect(enabled).toBe('false');
    expect(stderr).not.toContain('mqtt-packet');
  });

  it('leaves DEBUG=mqtt-packet:* printing what mqtt-packet logs', async () => {
    const { stderr, enabled } = await parseOnePacket({ ...process.env, DEBUG: 'mqtt-packet:*' });
    expect(enabled).toBe('true');
    expect(stderr).toContain('mqtt-packet:parser');
  });
});
