import type { MqttClient } from 'mqtt';
import { describe, expect, it } from 'vitest';
import type { Hub } from '../hub/index.js';
import type { MemoryLogger } from '../kernel/index.js';
import { startDeviceHub } from './support/device-hub.js';
import { useHubKit } from './support/hub-kit.js';
import { nextMessage } from './support/mqtt-client.js';
import { writeFiles } from './support/temp.js';

const { temp, pool, keep } = useHubKit();
let hub: Hub | undefined;
let logger: MemoryLogger | undefined;

/** A hub running `rules` over its real broker, and a client watching every topic. */
async function start(rules: string, config = ''): Promise<{ watcher: MqttClient; seen: string[] }> {
  const dir = temp.make('edgehub-rules-');
  writeFiles(dir, { 'loops.yaml': rules });
  const started = await startDeviceHub(temp, `hub:\n  rules_dir: ${dir}\n${config}`);
  hub = keep(started.hub);
  logger = started.logger;
  const watcher = await pool.connect(started.url, { clientId: 'watcher' });
  const seen: string[] = [];
  watcher.on('message', (topic) => void seen.push(topic));
  await watcher.subscribeAsync('#');
  return { watcher, seen };
}

/** Waits for the retained alert that the loop breaker raises for `rule` and `key`. */
function suspension(watcher: MqttClient, rule: string, key: string): Promise<unknown> {
  return nextMessage(watcher, `edgehub/alerts/rule-suspended/${rule}/${key}`).then(
    (m) => JSON.parse(m.payload.toString()) as unknown,
  );
}

describe('the loop breaker over the real broker', () => {
  it('breaks a rule publishing to its own trigger at the configured depth, naming the chain', async () => {
    const { watcher, seen } = await start(
      `rules:
  - id: echo
    when: { mqtt: "loop/+k" }
    then: [{ publish: { topic: "loop/{{ k }}", payload: again } }]
`,
      'rules:\n  loop_breaker: { max_depth: 5 }\n',
    );
    const alert = suspension(watcher, 'echo', 'a');
    await watcher.publishAsync('loop/a', 'go');
    expect(await alert).toMatchObject({ active: true, severity: 'major' });
    // The first message came from outside; echo then ran five times, the sixth run was the loop.
    expect(seen.filter((t) => t === 'loop/a')).toHaveLength(6);
    const warning = logger?.entries.find((e) => e.fields?.by === 'cause');
    expect(warning?.fields).toMatchObject({
      rule: 'echo',
      key: 'a',
      chain: 'echo(a) → echo(a) → echo(a) → echo(a) → echo(a) → echo(a)',
    });
    const blocked = hub?.rules.trace('echo')?.blocked.at(-1);
    expect(blocked).toMatchObject({ reason: 'loop', key: 'a' });
    expect(blocked?.error).toContain('echo(a) → echo(a)');
  });

  it('breaks a two-rule ping-pong, and only for the key that loops', async () => {
    const { watcher, seen } = await start(`rules:
  - id: ping
    when: { mqtt: "ping/+k" }
    then: [{ publish: { topic: "pong/{{ k }}" } }]
  - id: pong
    when: { mqtt: "pong/+k" }
    then: [{ publish: { topic: "ping/{{ k }}" } }]
`);
    const alert = suspension(watcher, 'ping', 'x');
    await watcher.publishAsync('ping/x', '');
    await alert;
    // The default depth is 10: ping ran at depths 0, 2, …, 10 and was stopped at 10.
    expect(seen.filter((t) => t === 'ping/x')).toHaveLength(6);
    expect(seen.filter((t) => t === 'pong/x')).toHaveLength(5);
    const event = logger?.entries.find((e) => e.fields?.by === 'cause');
    expect(event?.fields?.chain).toMatch(/^ping\(x\) → pong\(x\) → ping\(x\)/);
    // Another key is its own instance: it still runs, and loops on its own.
    const other = nextMessage(watcher, 'pong/y');
    await watcher.publishAsync('ping/y', '');
    await other;
  });

  it('breaks a loop through a device that echoes each command as its state, with the rate guard', async () => {
    const { watcher } = await start(
      `rules:
  - id: flip
    when: { mqtt: "actuators/+device/fan/state" }
    then:
      - publish: { topic: "actuators/{{ device }}/fan", payload: "{{ payload }}" }
`,
      'rules:\n  loop_breaker: { max_runs: 50, window: 1m }\n',
    );
    // The simulated fan reports every command back as its state: a loop no causal chain can see.
    const fan = await pool.connect(`mqtt://127.0.0.1:${hub?.broker.mqttAddress?.port}`, { clientId: 'fan' });
    fan.on('message', (_topic, payload) => void fan.publish('actuators/f1/fan/state', payload.toString()));
    await fan.subscribeAsync('actuators/f1/fan');
    const alert = suspension(watcher, 'flip', 'f1');
    await fan.publishAsync('actuators/f1/fan/state', 'ON');
    expect(await alert).toMatchObject({ active: true });
    expect(logger?.entries.find((e) => e.fields?.by === 'rate')?.fields).toMatchObject({ rule: 'flip' });
  });
});
