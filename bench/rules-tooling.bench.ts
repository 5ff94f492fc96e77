/**
 * Rule tooling's speed target: `edgehub backtest` replays stored events through a rule set on a
 * virtual clock at ≥ 200,000 events/s over 1 million stored events, read from the event store in
 * pages (never all at once), with the rules in force replayed alongside for the comparison.
 *
 * `node --import tsx bench/rules-tooling.bench.ts` runs it alone; `EDGEHUB_BENCH_EVENTS` scales it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { eventsDbPath, EventStore } from '../hub/store/index.js';
import { EdgehubErrors, MemoryLogger, VirtualClock, type MqttMessage } from '../kernel/index.js';
import { backtest, compileRuleFiles, openEventPages, type RuleSet } from '../rules/index.js';
import type { BenchResult } from './result.js';

const DEVICES = 200;
const METRICS = ['temperature', 'humidity', 'pressure', 'battery'] as const;
/** ms between events across the fleet: each device reports every 12 s. */
const SPACING_MS = 60;
const T0 = Date.UTC(2026, 0, 1);
const TARGET = 200_000;

/** The rules in force: a fan on temperature and an alert on humidity. */
const IN_FORCE = `rules:
  - id: fan
    when: { mqtt: sensors/+device/temperature }
    if: payload.value > 29
    then: [{ publish: { topic: "actuators/{{ device }}/fan", payload: { on: true } } }]
    else: [{ publish: { topic: "actuators/{{ device }}/fan", payload: { on: false } } }]
  - id: damp
    when: { mqtt: sensors/+device/humidity }
    if: payload.value > 29.5
    then: [{ publish: { topic: "alerts/{{ device }}/damp", payload: "{{ payload.value }}" } }]
`;

/** The candidate: a lower fan threshold, the same alert, and a new rule on battery readings. */
const CANDIDATE = `rules:
  - id: fan
    when: { mqtt: sensors/+device/temperature }
    if: payload.value > 28
    then: [{ publish: { topic: "actuators/{{ device }}/fan", payload: { on: true } } }]
    else: [{ publish: { topic: "actuators/{{ device }}/fan", payload: { on: false } } }]
  - id: damp
    when: { mqtt: sensors/+device/humidity }
    if: payload.value > 29.5
    then: [{ publish: { topic: "alerts/{{ device }}/damp", payload: "{{ payload.value }}" } }]
  - id: low-battery
    when: { mqtt: sensors/+device/battery }
    if: payload.value < 20.5
    then: [{ log: "{{ device }} battery low" }]
`;

function ruleSet(text: string): RuleSet {
  const result = compileRuleFiles([{ file: 'bench.yaml', text }]);
  if (!result.ok) throw new EdgehubErrors('RULE_INVALID', result.errors);
  return result.set;
}

/** The fleet's i-th event: devices round-robin, each cycling through its metrics. */
function fleetEvent(i: number): MqttMessage {
  const device = i % DEVICES;
  const metric = METRICS[Math.floor(i / DEVICES) % METRICS.length] ?? 'temperature';
  return {
    topic: `sensors/dev-${device}/${metric}`,
    payload: Buffer.from(`{"value":${(20 + (i % 997) / 100).toFixed(2)},"seq":${i}}`),
    qos: 1,
    retain: false,
    clientId: `sim-dev-${device}`,
    receivedAt: T0 + i * SPACING_MS,
  };
}

async function populate(dataDir: string, count: number): Promise<number> {
  const store = new EventStore({
    file: eventsDbPath(dataDir),
    clock: new VirtualClock(T0),
    logger: new MemoryLogger(),
    options: {
      flushIntervalMs: 1000,
      batchSize: 50_000,
      retention: { maxAgeMs: 100 * 365 * 86_400_000, maxSizeBytes: 1e15, checkEveryMs: 86_400_000 },
    },
  });
  store.start();
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    store.append(fleetEvent(i));
    // The store buffers a bounded number of events; hand each batch over before appending more.
    if (i % 50_000 === 49_999) store.flush();
  }
  await store.stop();
  const { stored, dropped } = store.stats();
  if (stored !== count || dropped > 0) throw new Error(`populating stored ${stored} of ${count} events`);
  return Math.round(count / ((performance.now() - start) / 1000));
}

async function replay(dataDir: string, count: number, compare: boolean) {
  const reader = openEventPages(eventsDbPath(dataDir));
  try {
    const start = performance.now();
    const cpuStart = process.cpuUsage();
    const result = await backtest({
      candidate: ruleSet(CANDIDATE),
      ...(compare && { inForce: ruleSet(IN_FORCE) }),
      history: reader,
      sinceMs: T0,
      untilMs: T0 + count * SPACING_MS,
    });
    const seconds = (performance.now() - start) / 1000;
    const cpu = process.cpuUsage(cpuStart);
    // On a shared machine wall time includes waiting for a core; CPU time says what the replay costs.
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    const fan = result.differences?.find((d) => d.id === 'fan');
    return {
      rate: Math.round(result.events / seconds),
      cpuRate: Math.round(result.events / cpuSeconds),
      seconds: Math.round(seconds * 100) / 100,
      events: result.events,
      runs: result.candidate.reduce((n, a) => n + a.fired + a.blocked + a.errors, 0),
      fanDiffs: fan ? fan.firedMore + fan.firedLess + fan.differently : 0,
    };
  } finally {
    reader.close();
  }
}

export async function rulesToolingBench(): Promise<BenchResult[]> {
  const count = Number(process.env.EDGEHUB_BENCH_EVENTS ?? 1_000_000);
  const dir = mkdtempSync(join(tmpdir(), 'edgehub-rules-tooling-bench-'));
  try {
    const populateRate = await populate(dir, count);
    // A first pass warms the JIT and SQLite's page cache, as a second `backtest` on a hub would find it.
    await replay(dir, Math.min(count, 100_000), false);
    const alone = await replay(dir, count, false);
    const compared = await replay(dir, count, true);
    return [
      {
        name: `backtest: replay ${count.toLocaleString('en')} stored events through a rule set (virtual clock, pages of 5,000)`,
        figures: {
          'events/s': alone.rate,
          'events per CPU-second': alone.cpuRate,
          's total': alone.seconds,
          'rule runs': alone.runs,
          'populate events/s (batch 50,000)': populateRate,
        },
        target: `≥ ${TARGET.toLocaleString('en')} events/s`,
        pass: alone.rate >= TARGET,
      },
      {
        name: `backtest: the same, compared with the rules in force (two engines, per-input diff)`,
        figures: {
          'events/s': compared.rate,
          'events per CPU-second': compared.cpuRate,
          's total': compared.seconds,
          'fan inputs that differ': compared.fanDiffs,
        },
        target: `≥ ${TARGET.toLocaleString('en')} events/s`,
        pass: compared.rate >= TARGET,
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const r of await rulesToolingBench()) {
    const verdict = r.pass === undefined ? '' : r.pass ? ' PASS' : ' FAIL';
    console.log(`${r.name}\n  target ${r.target ?? '—'}${verdict}`);
    for (const [label, value] of Object.entries(r.figures)) console.log(`  ${label}: ${value}`);
  }
}
