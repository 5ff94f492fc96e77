import type { MqttClient } from 'mqtt';
import { describe, expect, it } from 'vitest';
import type { Hub } from '../hub/index.js';
import type { MemoryLogger } from '../kernel/index.js';
import { startDeviceHub } from './support/device-hub.js';
import { useHubKit } from './support/hub-kit.js';
import { nextMessage } from './support/mqtt-client.js';
import { writeFiles } from './support/temp.js';
import { until } from './support/until.js';

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

  /** A fan that reports each command back as its state, `echoes` times; resolves when it stops. */
  async function echoingFan(echoes: number): Promise<{ client: MqttClient; done: Promise<void> }> {
    const client = await pool.connect(`mqtt://127.0.0.1:${hub?.broker.mqttAddress?.port}`, {
      clientId: 'fan',
    });
    let left = echoes;
    let finish: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (finish = resolve));
    client.on('message', (_topic, payload) => {
      if (left-- > 0) void client.publish('actuators/f1/fan/state', payload.toString());
      if (left === 0) finish();
    });
    await client.subscribeAsync('actuators/f1/fan');
    return { client, done };
  }

  const FLIP = (guard: string) => `rules:
  - id: flip
    ${guard}
    when: { mqtt: "actuators/+device/fan/state" }
    then:
      - publish: { topic: "actuators/{{ device }}/fan", payload: "{{ payload }}" }
`;

  it('holds a rule to its own loop_guard instead of the hub-wide rate guard', async () => {
    const { watcher, seen } = await start(FLIP('loop_guard: { max_runs: 20, window: 1m }'));
    const fan = await echoingFan(1000);
    const alert = suspension(watcher, 'flip', 'f1');
    await fan.client.publishAsync('actuators/f1/fan/state', 'ON');
    await alert;
    expect(logger?.entries.find((e) => e.fields?.by === 'rate')?.msg).toContain(
      'more than 20 times within 60000 ms',
    );
    // Twenty runs went through; the twenty-first was the one too many.
    expect(seen.filter((t) => t === 'actuators/f1/fan')).toHaveLength(20);
  });

  it('never rate-suspends a rule with loop_guard: false', async () => {
    const { watcher, seen } = await start(
      FLIP('loop_guard: false'),
      'rules:\n  loop_breaker: { max_runs: 50, window: 1m }\n',
    );
    const fan = await echoingFan(300);
    await fan.client.publishAsync('actuators/f1/fan/state', 'ON');
    await fan.done;
    // One command for the first state, one for each of the 300 echoes.
    const commands = () => seen.filter((t) => t === 'actuators/f1/fan').length;
    await until(() => commands() === 301, '301 fan commands', [[watcher, 'message']]);
    expect(seen.some((t) => t.startsWith('edgehub/alerts/rule-suspended/'))).toBe(false);
    expect(logger?.entries.some((e) => e.fields?.by === 'rate')).toBe(false);
  });
});
