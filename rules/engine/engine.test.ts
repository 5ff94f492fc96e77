import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  EdgehubErrors,
  MemoryLogger,
  VirtualClock,
  type MqttMessage,
  type OutgoingMessage,
  type Publisher,
} from '../../kernel/index.js';
import { RuleEngine } from './engine.js';
import { loadRuleDir, compileRuleFiles } from '../language/loader.js';
import { EXAMPLE_RULES_DIR } from '../examples/examples-dir.js';
import type { RuleSet } from '../language/rule.js';
import type { RuleRun } from './rule-run.js';
import { EngineRig } from '../../test/support/engine-rig.js';

/** Collects what rules publish; topics listed in `failOn` reject like a broker that refused them. */
class FakePublisher implements Publisher {
  readonly sent: { topic: string; payload: string; qos: number; retain: boolean }[] = [];
  constructor(private readonly failOn: readonly string[] = []) {}

  publish(message: OutgoingMessage): Promise<void> {
    if (this.failOn.includes(message.topic))
      return Promise.reject(new Error(`broker refused ${message.topic}`));
    this.sent.push({
      topic: message.topic,
      payload: message.payload.toString(),
      qos: message.qos ?? 0,
      retain: message.retain ?? false,
    });
    return Promise.resolve();
  }

  json(): { topic: string; payload: unknown }[] {
    return this.sent.map((m) => ({ topic: m.topic, payload: JSON.parse(m.payload) as unknown }));
  }
}

function ruleSet(text: string): RuleSet {
  const result = compileRuleFiles([{ file: 'r.yaml', text }]);
  if (!result.ok) throw new EdgehubErrors('RULE_INVALID', result.errors);
  return result.set;
}

function setup(text: string, options: { failOn?: string[] } = {}) {
  const clock = new VirtualClock(1_700_000_000_000);
  const publisher = new FakePublisher(options.failOn);
  const logger = new MemoryLogger();
  const runs: RuleRun[] = [];
  const engine = new RuleEngine({ clock, publisher, logger, onRun: (run) => runs.push(run) });
  engine.load(ruleSet(text));
  const send = async (topic: string, payload: string | Buffer) => {
    const message: MqttMessage = {
      topic,
      payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
      qos: 0,
      retain: false,
      clientId: 'sensor',
      receivedAt: clock.now(),
    };
    engine.handle(message);
    await engine.whenIdle();
  };
  return { clock, publisher, logger, engine, runs, send };
}

const FAN = `rules:
  - id: fan
    when:
      mqtt: sensors/+device/temperature
    if: payload.value > 30
    then:
      - publish:
          topic: actuators/{{ device }}/fan
          payload: { on: true, seq: "{{ payload.seq }}" }
    else:
      - publish:
          topic: actuators/{{ device }}/fan
          payload: { on: false, seq: "{{ payload.seq }}" }
`;

describe('RuleEngine', () => {
  it('a reading over the threshold publishes the templated message', async () => {
    const { publisher, send, runs } = setup(FAN);
    await send('sensors/gh-1/temperature', '{"value": 31.5, "seq": 42}');
    expect(publisher.json()).toEqual([{ topic: 'actuators/gh-1/fan', payload: { on: true, seq: 42 } }]);
    expect(runs[0]).toMatchObject({
      ruleId: 'fan',
      outcome: 'fired',
      branch: 'then',
      key: 'gh-1',
      trigger: { id: '0', topic: 'sensors/gh-1/temperature', captures: { device: 'gh-1' } },
      conditions: [{ expression: 'payload.value > 30', value: true, held: true }],
      actions: [{ kind: 'publish', ok: true }],
      startedAt: 1_700_000_000_000,
    });
  });

  it('binds captures per match, and runs else when the condition does not hold', async () => {
    const { publisher, send, runs } = setup(FAN);
    await send('sensors/gh-2/temperature', '{"value": 30, "seq": 1}');
    await send('sensors/gh-3/temperature', '{"value": 35, "seq": 2}');
    expect(publisher.json()).toEqual([
      { topic: 'actuators/gh-2/fan', payload: { on: false, seq: 1 } },
      { topic: 'actuators/gh-3/fan', payload: { on: true, seq: 2 } },
    ]);
    expect(runs.map((r) => [r.outcome, r.branch])).toEqual([
      ['blocked', 'else'],
      ['fired', 'then'],
    ]);
  });

  it('ignores topics no rule listens to and survives payloads that are not JSON', async () => {
    const { publisher, send, runs } = setup(FAN);
    await send('sensors/gh-1/humidity', '{"value": 99}');
    await send('sensors/gh-1/temperature', 'not json {');
    await send('sensors/gh-1/temperature', Buffer.from([0xff, 0xfe, 0x00]));
    expect(runs.map((r) => [r.outcome, r.conditions[0]?.value])).toEqual([
      ['blocked', false],
      ['blocked', false],
    ]);
    expect(publisher.json().map((m) => m.payload)).toEqual([
      { on: false, seq: null },
      { on: false, seq: null },
    ]);
  });

  it('serialises strings as they are, numbers and booleans as JSON, and honours qos and retain', async () => {
    const { publisher, send } = setup(`rules:
  - id: forms
    when: { mqtt: in/+kind }
    then:
      - publish: { topic: out/text, payload: "{{ kind }}" }
      - publish: { topic: out/number, payload: "{{ payload * 2 }}", qos: 1, retain: true }
      - publish: { topic: out/bool, payload: "{{ payload > 1 }}" }
      - publish: { topic: out/list, payload: ["{{ payload }}", x] }
      - publish: { topic: out/empty }
`);
    await send('in/hello', '21');
    expect(publisher.sent).toEqual([
      { topic: 'out/text', payload: 'hello', qos: 0, retain: false },
      { topic: 'out/number', payload: '42', qos: 1, retain: true },
      { topic: 'out/bool', payload: 'true', qos: 0, retain: false },
      { topic: 'out/list', payload: '[21,"x"]', qos: 0, retain: false },
      { topic: 'out/empty', payload: '', qos: 0, retain: false },
    ]);
  });

  it('an action error is logged with the rule id and does not stop other rules', async () => {
    const { publisher, send, logger, engine, runs } = setup(
      `rules:
  - id: broken
    when: { mqtt: sensors/+device/temperature }
    then:
      - publish: { topic: refused/topic, payload: x }
      - log: never reached
  - id: fine
    when: { mqtt: sensors/+device/# }
    then:
      - publish: { topic: "ok/{{ device }}", payload: "{{ payload.value }}" }
  - id: bad-topic
    when: { mqtt: sensors/+device/temperature }
    then:
      - publish: { topic: "x/{{ payload.name }}", payload: 1 }
`,
      { failOn: ['refused/topic'] },
    );
    await send('sensors/gh-1/temperature', '{"value": 20, "name": "a/+"}');
    expect(publisher.sent.map((m) => [m.topic, m.payload])).toEqual([['ok/gh-1', '20']]);
    const errors = logger.entries.filter((e) => e.level === 'error');
    // Runs finish in whatever order their actions settle; compare by rule.
    expect(errors.map((e) => [e.fields?.rule, e.msg]).sort()).toEqual([
      [
        'bad-topic',
        'rule bad-topic: publish failed: cannot publish to "x/a/+": a published topic may not contain + or #',
      ],
      ['broken', 'rule broken: publish failed: broker refused refused/topic'],
    ]);
    expect(logger.entries.some((e) => e.msg === 'never reached')).toBe(false);
    expect(runs.map((r) => [r.ruleId, r.outcome]).sort()).toEqual([
      ['bad-topic', 'error'],
      ['broken', 'error'],
      ['fine', 'fired'],
    ]);
    expect(engine.stats().map((s) => [s.id, s.triggered, s.fired, s.errors])).toEqual([
      ['broken', 1, 0, 1],
      ['fine', 1, 1, 0],
      ['bad-topic', 1, 0, 1],
    ]);
  });

  it('matches the exact payload of a trigger and runs a rule once when several triggers match', async () => {
    const { send, logger } = setup(`rules:
  - id: offline
    when:
      - mqtt: devices/+device/availability
        payload: offline
        id: will
      - mqtt: devices/#
    then:
      - log: "{{ device }} {{ trigger.id }} {{ payload }}"
`);
    await send('devices/gh-1/availability', 'offline');
    await send('devices/gh-1/availability', 'online');
    expect(logger.entries.map((e) => [e.msg, e.fields?.rule])).toEqual([
      ['gh-1 will offline', 'offline'],
      [' 1 online', 'offline'],
    ]);
  });

  it('uses the rule key, else the first named capture, else the topic', async () => {
    const { send, runs } = setup(`rules:
  - id: keyed
    key: payload.room
    when: { mqtt: sensors/+device/+metric }
    then: []
  - id: captured
    when: { mqtt: sensors/+device/+metric }
    then: []
  - id: plain
    when: { mqtt: sensors/+/+ }
    then: []
`);
    await send('sensors/gh-1/temperature', '{"room": "north"}');
    expect(runs.map((r) => [r.ruleId, r.key])).toEqual([
      ['keyed', 'north'],
      ['captured', 'gh-1'],
      ['plain', 'sensors/gh-1/temperature'],
    ]);
  });

  it('keeps a bounded trace per rule and outcome, and counts runs', async () => {
    const clock = new VirtualClock();
    const engine = new RuleEngine({
      clock,
      publisher: new FakePublisher(),
      logger: new MemoryLogger(),
      traceLimit: 2,
    });
    engine.load(ruleSet(FAN.replace(/ {4}else:[\s\S]*$/, '')));
    for (const value of [31, 32, 33, 10]) {
      clock.advance(1000);
      engine.handle({
        topic: 'sensors/gh-1/temperature',
        payload: Buffer.from(JSON.stringify({ value })),
        qos: 0,
        retain: false,
        clientId: null,
        receivedAt: clock.now(),
      });
    }
    await engine.whenIdle();
    const trace = engine.trace('fan');
    expect(trace?.fired.map((r) => r.trigger.payload)).toEqual([{ value: 32 }, { value: 33 }]);
    expect(trace?.blocked.map((r) => [r.conditions[0]?.value, r.branch])).toEqual([[false, null]]);
    expect(engine.stats()).toEqual([
      {
        id: 'fan',
        enabled: true,
        triggered: 4,
        fired: 3,
        blocked: 1,
        errors: 0,
        dropped: { cooldown: 0, throttle: 0, mode: 0, suspended: 0, loop: 0 },
        lastRunAt: 4000,
      },
    ]);
    expect(engine.trace('nope')).toBeUndefined();
  });

  it('swaps the rule set atomically and drops counters of removed rules', async () => {
    const { engine, publisher, send } = setup(FAN);
    await send('sensors/gh-1/temperature', '{"value": 35, "seq": 1}');
    engine.load(
      ruleSet(FAN.replace('payload.value > 30', 'payload.value > 40').replace('id: fan', 'id: fan2')),
    );
    await send('sensors/gh-1/temperature', '{"value": 35, "seq": 2}');
    expect(publisher.json().map((m) => m.payload)).toEqual([
      { on: true, seq: 1 },
      { on: false, seq: 2 },
    ]);
    expect(engine.stats().map((s) => [s.id, s.triggered])).toEqual([['fan2', 1]]);
  });

  it('a throwing onRun listener is logged and changes nothing else', async () => {
    const logger = new MemoryLogger();
    const publisher = new FakePublisher();
    const engine = new RuleEngine({
      clock: new VirtualClock(),
      publisher,
      logger,
      onRun: () => {
        throw new Error('listener bug');
      },
    });
    engine.load(ruleSet(FAN));
    engine.handle({
      topic: 'sensors/a/temperature',
      payload: Buffer.from('{"value": 40}'),
      qos: 0,
      retain: false,
      clientId: null,
      receivedAt: 0,
    });
    await engine.whenIdle();
    expect(publisher.sent).toHaveLength(1);
    expect(logger.entries.map((e) => e.msg)).toEqual(['rule run listener threw']);
  });

  it('runs the example greenhouse rules', async () => {
    const clock = new VirtualClock();
    const publisher = new FakePublisher();
    const logger = new MemoryLogger();
    const engine = new RuleEngine({ clock, publisher, logger });
    engine.load(await loadRuleDir(EXAMPLE_RULES_DIR));
    const message = (topic: string, payload: string): MqttMessage => ({
      topic,
      payload: Buffer.from(payload),
      qos: 0,
      retain: false,
      clientId: null,
      receivedAt: 0,
    });
    engine.handle(message('sensors/gh-1/temperature', '{"value": 36, "seq": 5, "unit": "C"}'));
    engine.handle(message('devices/gh-2/availability', 'offline'));
    await engine.whenIdle();
    expect(publisher.json()).toEqual([{ topic: 'actuators/gh-1/fan', payload: { on: true, seq: 5 } }]);
    expect(logger.entries.map((e) => e.msg)).toEqual([
      'gh-1 is at 36 C; check the vents',
      'gh-2 went offline',
    ]);
  });
});

describe('RuleEngine dispatch', () => {
  it('dispatches with 10,000 rules about as fast as with 10', async () => {
    const many = (n: number) =>
      'rules:\n' +
      Array.from(
        { length: n },
        (_, i) =>
          `  - id: r${i}\n    when: { mqtt: "sensors/dev-${i}/+metric" }\n    if: payload.value > 30\n    then: []\n`,
      ).join('');
    const time = (set: RuleSet): number => {
      const engine = new RuleEngine({
        clock: new VirtualClock(),
        publisher: new FakePublisher(),
        logger: new MemoryLogger(),
      });
      engine.load(set);
      const messages = Array.from({ length: 1000 }, (_, i): MqttMessage => ({
        // Mostly topics no rule matches, plus one matching rule each tenth message.
        topic: i % 10 === 0 ? `sensors/dev-${i % 10}/temperature` : `sensors/other-${i}/temperature`,
        payload: Buffer.from('{"value": 31}'),
        qos: 0,
        retain: false,
        clientId: null,
        receivedAt: 0,
      }));
      let best = Infinity;
      for (let round = 0; round < 15; round++) {
        const started = performance.now();
        for (const m of messages) engine.handle(m);
        best = Math.min(best, performance.now() - started);
      }
      return best;
    };
    const small = ruleSet(many(10));
    const large = ruleSet(many(10_000));
    time(small);
    const smallMs = time(small);
    const largeMs = time(large);
    // The index makes the cost independent of the rule count; a scan would be ~1000× slower.
    expect(largeMs).toBeLessThan(Math.max(smallMs * 5, 5));
    await Promise.resolve();
  });
});

describe('the example alert rules', () => {
  it('raise an alert after a minute above 35 °C and clear it under 32 °C', async () => {
    const text = readFileSync(join(EXAMPLE_RULES_DIR, 'greenhouse-alerts.yaml'), 'utf8');
    const rig = new EngineRig(text);
    await rig.readings('gh-1', 'temperature', [30, 36, 36.5, 37], 30_000);
    expect(rig.engine.alerts.get('too-hot/gh-1')).toMatchObject({ active: true, severity: 'major' });
    await rig.readings('gh-1', 'temperature', [33, 31]);
    expect(rig.engine.alerts.get('too-hot/gh-1')?.active).toBe(false);
    await rig.status('gh-2', 'offline');
    await rig.advance(300_000);
    expect(rig.engine.alerts.active().map((a) => a.key)).toEqual(['offline/gh-2']);
  });
});
