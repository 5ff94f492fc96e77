/**
 * The rule engine's two speed targets: dispatching a message costs about the same with 10,000
 * rules as with 10 (the topic index), and the expression evaluator does over a million simple
 * comparisons per second. A third figure, readings through crossing triggers, has no target.
 *
 * `node --import tsx bench/rules-engine.bench.ts` runs it alone.
 */
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import {
  MemoryLogger,
  VirtualClock,
  type MqttMessage,
  type OutgoingMessage,
  type Publisher,
} from '../kernel/index.js';
import { compileExpression, compileRuleFiles, makeScope, RuleEngine, type RuleSet } from '../rules/index.js';
import type { BenchResult } from './result.js';
import { round } from './stats.js';

const MESSAGES = 20_000;
const ROUNDS = 10;
const EVALUATIONS = 5_000_000;

/** Publishes nowhere: the bench measures the engine, not a broker. */
class NullPublisher implements Publisher {
  sent = 0;
  publish(_message: OutgoingMessage): Promise<void> {
    this.sent++;
    return Promise.resolve();
  }
}

function rules(count: number): RuleSet {
  const text =
    'rules:\n' +
    Array.from(
      { length: count },
      (_, i) => `  - id: r${i}
    when: { mqtt: "sensors/dev-${i}/+metric" }
    if: payload.value > 30
    then:
      - publish: { topic: "actuators/dev-${i}/fan", payload: { on: true, seq: "{{ payload.seq }}" } }
`,
    ).join('');
  const result = compileRuleFiles([{ file: `bench-${count}.yaml`, text }]);
  if (!result.ok) throw new Error(result.errors.map((e) => e.message).join('\n'));
  return result.set;
}

/**
 * An engine loaded with `set` and a round of messages through `handle` and the runs they start.
 * Every message matches exactly one rule (devices 0–9 exist in both sets), so the work per message
 * is the same and only the number of loaded rules differs. The clock moves 1 s per message, as
 * readings do (so the loop breaker sees a realistic rate).
 */
function dispatcher(set: RuleSet): {
  round: () => Promise<number>;
  publisher: NullPublisher;
  stop: () => void;
} {
  const clock = new VirtualClock(Date.UTC(2026, 0, 1));
  const publisher = new NullPublisher();
  const engine = new RuleEngine({ clock, publisher, logger: new MemoryLogger(), timezone: 'UTC' });
  engine.load(set);
  const messages = Array.from({ length: MESSAGES }, (_, i): MqttMessage => ({
    topic: `sensors/dev-${i % 10}/temperature`,
    payload: Buffer.from(`{"value":${i % 2 === 0 ? 31.5 : 20},"seq":${i}}`),
    qos: 0,
    retain: false,
    clientId: 'bench',
    receivedAt: 0,
  }));
  const round = async (): Promise<number> => {
    const started = performance.now();
    for (const m of messages) {
      clock.advance(1000);
      engine.handle({ ...m, receivedAt: clock.now() });
    }
    await engine.whenIdle();
    return MESSAGES / ((performance.now() - started) / 1000);
  };
  return { round, publisher, stop: () => engine.stop() };
}

/** Best messages/s of each set over rounds that alternate between them, so machine load hits both alike. */
async function dispatchRates(
  small: RuleSet,
  large: RuleSet,
): Promise<{ ten: number; tenThousand: number; published: number }> {
  const a = dispatcher(small);
  const b = dispatcher(large);
  await a.round(); // warm-up: JIT and the first allocation of everything
  await b.round();
  let ten = 0;
  let tenThousand = 0;
  for (let i = 0; i < ROUNDS; i++) {
    ten = Math.max(ten, await a.round());
    tenThousand = Math.max(tenThousand, await b.round());
  }
  const published = a.publisher.sent / (ROUNDS + 1);
  a.stop();
  b.stop();
  return { ten, tenThousand, published };
}

/** Readings/s through a crossing trigger with hysteresis and deadband (per-key state, no durable writes). */
async function readingRate(): Promise<number> {
  const text = `rules:
  - id: hot
    when: { device: "gh-*", metric: temperature, above: 30, hysteresis: 1, deadband: 0.1 }
    then: [{ publish: { topic: "actuators/{{ device }}/fan", payload: on } }]
`;
  const result = compileRuleFiles([{ file: 'hot.yaml', text }]);
  if (!result.ok) throw new Error('bench rule invalid');
  const clock = new VirtualClock(Date.UTC(2026, 0, 1));
  const engine = new RuleEngine({
    clock,
    publisher: new NullPublisher(),
    logger: new MemoryLogger(),
    timezone: 'UTC',
  });
  engine.load(result.set);
  const n = 200_000;
  const started = performance.now();
  for (let i = 0; i < n; i++) {
    clock.advance(1000);
    // A slow wave around 30 °C per device, so the trigger keeps crossing and re-arming.
    const value = 30 + 3 * Math.sin(i / 50);
    engine.handleReading({
      deviceId: `gh-${i % 20}`,
      metric: 'temperature',
      value,
      previous: undefined,
      at: clock.now(),
    });
  }
  await engine.whenIdle();
  const perSecond = n / ((performance.now() - started) / 1000);
  engine.stop();
  return perSecond;
}

function evaluationRate(): number {
  const expr = compileExpression('payload.value > 30');
  const scopes = [31, 29, 30.5, 12].map((value) => makeScope({ payload: { value } }));
  let hits = 0;
  let best = 0;
  for (let round = 0; round < 3; round++) {
    const started = performance.now();
    for (let i = 0; i < EVALUATIONS; i++) if (expr.evaluate(scopes[i & 3] ?? makeScope()) === true) hits++;
    best = Math.max(best, EVALUATIONS / ((performance.now() - started) / 1000));
  }
  if (hits !== (EVALUATIONS / 2) * 3) throw new Error('the evaluator gave wrong answers');
  return best;
}

export async function rulesEngineBench(): Promise<BenchResult[]> {
  const { ten, tenThousand, published } = await dispatchRates(rules(10), rules(10_000));
  const ratio = tenThousand / ten;
  const evaluations = evaluationRate();
  const readings = await readingRate();
  return [
    {
      name: 'rules: dispatch with 10,000 rules vs 10 (distinct topic filters, one match per message)',
      figures: {
        '10 rules, messages/s': Math.round(ten),
        '10,000 rules, messages/s': Math.round(tenThousand),
        'ratio (10,000 / 10)': round(ratio, 3),
        'publishes per round': published,
      },
      target: 'ratio ≥ 0.7',
      pass: ratio >= 0.7,
    },
    {
      name: 'rules: expression evaluation (payload.value > 30)',
      figures: { 'evaluations/s': Math.round(evaluations) },
      target: '≥ 1,000,000 simple comparisons/s',
      pass: evaluations >= 1_000_000,
    },
    {
      name: 'rules: readings through a crossing trigger (hysteresis, deadband, 20 devices)',
      figures: { 'readings/s': Math.round(readings) },
    },
  ];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const r of await rulesEngineBench()) {
    const verdict = r.pass === undefined ? '' : r.pass ? '  PASS' : '  MISS';
    console.log(`\n${r.name}${verdict}`);
    if (r.target) console.log(`  target: ${r.target}`);
    for (const [k, v] of Object.entries(r.figures)) console.log(`  ${k.padEnd(34)} ${v}`);
  }
}
