/**
 * Hostile payloads, rule files and config: JSON nested 100,000 levels deep, `__proto__` and
 * `constructor` keys in payloads and in rule expressions, a rule file cut off mid-write, a config
 * with wrong types. Each test checks for a clear outcome and that the hub keeps serving.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { decodeMessage, type MqttMessage } from '../kernel/index.js';
import { FAN_RULE, HubFixture } from './conformance/hub-fixture.js';
import { runCli } from './support/hub-process.js';
import { ClientPool, nextMessage } from './support/mqtt-client.js';
import { writeFiles } from './support/temp.js';

const pool = new ClientPool();
let fx: HubFixture;

beforeAll(async () => {
  fx = await HubFixture.start({ maxPacketBytes: 4 * 1024 * 1024 });
});
afterEach(async () => {
  await fx.assertServing(pool);
  await pool.closeAll();
});
afterAll(async () => {
  await fx.stop();
});

/** Publishes a reading as a sensor and resolves with the fan command the rule answers with. */
async function reading(device: string, payload: string | Buffer): Promise<unknown> {
  const fan = await pool.connect(fx.url, { protocolVersion: 5 });
  await fan.subscribeAsync(`actuators/${device}/fan`, { qos: 1 });
  const command = nextMessage(fan, `actuators/${device}/fan`);
  const sensor = await pool.connect(fx.url, { protocolVersion: 4 });
  await sensor.publishAsync(`sensors/${device}/temperature`, payload, { qos: 1 });
  return JSON.parse((await command).payload.toString()) as unknown;
}

function storedPayloads(device: string): unknown[] {
  fx.hub.store?.flush();
  return (fx.hub.store?.query({ device, order: 'asc' }) ?? [])
    .filter((e) => e.topic.startsWith('sensors/'))
    .map((e) => e.payload);
}

describe('deeply nested JSON', () => {
  const depth = 100_000;
  it.each([
    ['arrays', '['.repeat(depth) + ']'.repeat(depth)],
    ['objects', '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)],
  ])('%s 100,000 levels deep: stored as it came, the rule sees no value', async (_kind, text) => {
    const device = `deep-${text[0] === '[' ? 'a' : 'o'}`;
    expect(await reading(device, text)).toEqual({ on: false, seq: null });
    const [stored] = storedPayloads(device);
    const asText = typeof stored === 'string' ? stored : JSON.stringify(stored);
    expect(asText.length).toBe(text.length);
  });

  it('decodes JSON nested deeper than consumers can walk as text, not as a value', () => {
    // JSON.parse copes with any depth, but JSON.stringify and other recursive walks do not.
    const text = '['.repeat(300) + ']'.repeat(300);
    const message: MqttMessage = {
      topic: 't',
      payload: Buffer.from(text),
      qos: 0,
      retain: false,
      clientId: null,
      receivedAt: 0,
    };
    expect(decodeMessage(message)).toEqual({ value: text, json: null });
    const shallow = { ...message, payload: Buffer.from('[[{"a":"[[[[["}]]') };
    expect(decodeMessage(shallow).json).not.toBeNull();
  });
});

describe('__proto__ and constructor', () => {
  it('reads a payload own "value", never one planted through __proto__', async () => {
    const payload = '{"__proto__": {"value": 99, "polluted": true}, "value": 20, "seq": 5}';
    expect(await reading('proto-1', payload)).toEqual({ on: false, seq: 5 });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('lets constructor.prototype in a payload pollute nothing', async () => {
    const payload = '{"constructor": {"prototype": {"polluted": true}}, "value": 40, "seq": 6}';
    expect(await reading('proto-2', payload)).toEqual({ on: true, seq: 6 });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it('gives a rule reading payload.__proto__ or payload.constructor null', async () => {
    writeFiles(fx.rulesDir, {
      'probe.yaml': `rules:
  - id: proto-probe
    when:
      mqtt: probe/+device
    if: payload.__proto__ == null && payload.constructor == null && payload["__proto__"] == null
    then:
      - publish:
          topic: probe-result/{{ device }}
          payload: { proto: "{{ payload.__proto__ }}", ctor: "{{ payload.constructor }}", value: "{{ payload.value }}" }
`,
    });
    await fx.hub.reloadRules();
    const watcher = await pool.connect(fx.url, { protocolVersion: 5 });
    await watcher.subscribeAsync('probe-result/#', { qos: 1 });
    const result = nextMessage(watcher, 'probe-result/p1');
    const sender = await pool.connect(fx.url, { protocolVersion: 5 });
    await sender.publishAsync('probe/p1', '{"__proto__": {"x": 1}, "constructor": "c", "value": 3}', {
      qos: 1,
    });
    expect(JSON.parse((await result).payload.toString())).toEqual({ proto: null, ctor: null, value: 3 });
  });
});

describe('a rule file cut off mid-write', () => {
  it('is refused with its location and the running rules stay in force', async () => {
    const cut = FAN_RULE.slice(0, FAN_RULE.indexOf('then:') + 12);
    writeFiles(fx.rulesDir, { 'fan.yaml': cut });
    await fx.hub.reloadRules();
    const errors = fx.logger.entries
      .filter((e) => e.level === 'error' && Array.isArray(e.fields?.codes))
      .map((e) => JSON.stringify(e.fields));
    expect(errors.join('\n')).toMatch(
      new RegExp(`${join(fx.rulesDir, 'fan.yaml').replace(/[/\\.]/g, '\\$&')}:\\d+`),
    );
    expect(await reading('cut-1', '{"value": 33, "seq": 1}')).toEqual({ on: true, seq: 1 });
    writeFiles(fx.rulesDir, { 'fan.yaml': FAN_RULE });
    await fx.hub.reloadRules();
  });
});

describe('a config with wrong types', () => {
  it('stops start-up with a non-zero exit naming file:line for each wrong value', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgehub-badconf-'));
    try {
      const file = join(dir, 'edgehub.yaml');
      writeFileSync(
        file,
        [
          'mqtt:',
          '  port: "1883"',
          '  max_keepalive: -5',
          'store:',
          '  enabled: "yes"',
          'devices: 7',
          '',
        ].join('\n'),
      );
      const result = await runCli(['start', '--config', file, '--data', dir]);
      expect(result.code).not.toBe(0);
      expect(result.code).not.toBeNull();
      for (const [line, key] of [
        [2, 'mqtt.port'],
        [3, 'mqtt.max_keepalive'],
        [5, 'store.enabled'],
        [6, 'devices'],
      ] as const) {
        expect(result.stderr).toMatch(
          new RegExp(`${file.replace(/[/\\.]/g, '\\$&')}:${line}:\\d+ \\(${key.replace('.', '\\.')}\\)`),
        );
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
