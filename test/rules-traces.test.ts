import { afterEach, describe, expect, it } from 'vitest';
import {
  EdgehubErrors,
  MemoryLogger,
  VirtualClock,
  type OutgoingMessage,
  type Publisher,
} from '../kernel/index.js';
import {
  compileRuleFiles,
  openRulesDb,
  RuleEngine,
  RuleHarness,
  rulesDbPath,
  runTraceCommand,
  TraceStore,
  viewRun,
  type RuleRun,
  type RuleSet,
} from '../rules/index.js';
import { runCli } from './support/hub-process.js';
import { TempDirs } from './support/temp.js';

const temp = new TempDirs();
const closers: (() => void)[] = [];
afterEach(() => {
  for (const close of closers.splice(0)) close();
  temp.cleanup();
});

const RULES = [
  'rules:',
  '  - id: fan',
  '    when: { mqtt: sensors/+device/temperature }',
  '    if: [payload.value > 30, payload.unit == "C"]',
  '    then:',
  '      - publish: { topic: "actuators/{{ device }}/fan", payload: { on: true } }',
  '    else:',
  '      - log: "{{ device }} is cool"',
  '  - id: broken',
  '    when: { mqtt: alarms/# }',
  '    then:',
  '      - publish: { topic: refused/topic }',
].join('\n');

function ruleSet(text: string): RuleSet {
  const result = compileRuleFiles([{ file: 'r.yaml', text }]);
  if (!result.ok) throw new EdgehubErrors('RULE_INVALID', result.errors);
  return result.set;
}

const publisher: Publisher = {
  publish: (m: OutgoingMessage) =>
    m.topic === 'refused/topic' ? Promise.reject(new Error('broker refused it')) : Promise.resolve(),
};

function setup(keep = 3) {
  const dataDir = temp.make('edgehub-traces-');
  const db = openRulesDb(rulesDbPath(dataDir));
  closers.push(() => db.close());
  const clock = new VirtualClock(Date.UTC(2026, 0, 1, 12));
  const logger = new MemoryLogger();
  const traces = new TraceStore({ db, clock, logger, keep, flushIntervalMs: 100 });
  traces.start();
  const engine = new RuleEngine({ clock, publisher, logger, onRun: (run) => traces.record(run) });
  engine.load(ruleSet(RULES));
  const send = async (topic: string, payload: unknown) => {
    engine.handle({
      topic,
      payload: Buffer.from(JSON.stringify(payload)),
      qos: 0,
      retain: false,
      clientId: 'sensor',
      receivedAt: clock.now(),
    });
    await engine.whenIdle();
    clock.advance(1000);
  };
  return { dataDir, db, clock, traces, engine, send };
}

describe('stored traces', () => {
  it('keeps fired and blocked runs with each condition value, written on the flush timer', async () => {
    const { traces, send, db } = setup();
    await send('sensors/gh-1/temperature', { value: 31.5, unit: 'C' });
    await send('sensors/gh-2/temperature', { value: 25, unit: 'C' });
    // Flushed by the 100 ms timer while the clock moved on.
    const rows = db.prepare('SELECT count(*) AS n FROM rule_traces').get() as { n: number };
    expect(rows.n).toBe(2);

    const [fired] = traces.query({ ruleId: 'fan', outcome: 'fired' });
    expect(fired?.outcome).toBe('fired');
    const view = viewRun(fired?.run);
    expect(view.key).toBe('gh-1');
    expect(view.trigger).toMatchObject({ source: 'sensors/gh-1/temperature', payload: { value: 31.5 } });
    expect(view.conditions).toEqual([
      { text: 'payload.value > 30', value: true, held: true, children: [] },
      { text: 'payload.unit == "C"', value: true, held: true, children: [] },
    ]);
    expect(view.actions[0]).toMatchObject({
      kind: 'publish',
      ok: true,
      detail: 'actuators/gh-1/fan {"on":true}',
    });

    const [blocked] = traces.query({ ruleId: 'fan', outcome: 'blocked' });
    expect(viewRun(blocked?.run).conditions.map((c) => [c.held, c.value])).toEqual([
      [false, false],
      [true, true],
    ]);
    expect(viewRun(blocked?.run).actions[0]).toMatchObject({ kind: 'log', detail: 'gh-2 is cool' });
  });

  it('keeps the last N runs per rule and outcome, so errors are not pushed out by firings', async () => {
    const { traces, send } = setup(3);
    await send('alarms/x', { n: 0 });
    for (let i = 0; i < 10; i++) await send('sensors/gh-1/temperature', { value: 40 + i, unit: 'C' });
    for (let i = 0; i < 5; i++) await send('sensors/gh-1/temperature', { value: i, unit: 'C' });
    const fired = traces.query({ ruleId: 'fan', outcome: 'fired', limit: 100 });
    expect(fired.map((r) => viewRun(r.run).trigger.payload)).toEqual([
      { value: 49, unit: 'C' },
      { value: 48, unit: 'C' },
      { value: 47, unit: 'C' },
    ]);
    expect(traces.query({ ruleId: 'fan', outcome: 'blocked', limit: 100 })).toHaveLength(3);
    const errors = traces.query({ ruleId: 'broken', outcome: 'error' });
    expect(errors).toHaveLength(1);
    expect(viewRun(errors[0]?.run).actions[0]).toMatchObject({ ok: false, error: 'broker refused it' });
    expect(traces.summary()).toEqual([
      { ruleId: 'broken', fired: 0, blocked: 0, errors: 1, lastAt: expect.any(Number) as number },
      { ruleId: 'fan', fired: 3, blocked: 3, errors: 0, lastAt: expect.any(Number) as number },
    ]);
  });

  it('`trace` prints why a rule did or did not fire, with ✓/✗ per condition', async () => {
    const { dataDir, traces, send } = setup();
    await send('sensors/gh-1/temperature', { value: 31.5, unit: 'C' });
    await send('sensors/gh-2/temperature', { value: 25, unit: 'F' });
    traces.flush();
    const lines: string[] = [];
    expect(runTraceCommand({ ruleId: 'fan', dataDir, limit: 10, json: false }, (l) => lines.push(l))).toBe(0);
    expect(lines.join('\n')).toBe(
      [
        'rule fan: 2 runs, newest first (stored: 1 fired, 1 blocked, 0 errors)',
        '',
        '2026-01-01T12:00:01.000Z  BLOCKED (if false)  key gh-2',
        '  trigger 0: sensors/gh-2/temperature  {"value":25,"unit":"F"}',
        '  ✗ payload.value > 30  = false',
        '  ✗ payload.unit == "C"  = false',
        '  else[0]: ✓ log gh-2 is cool',
        '',
        '2026-01-01T12:00:00.000Z  FIRED  key gh-1',
        '  trigger 0: sensors/gh-1/temperature  {"value":31.5,"unit":"C"}',
        '  ✓ payload.value > 30  = true',
        '  ✓ payload.unit == "C"  = true',
        '  then[0]: ✓ publish actuators/gh-1/fan {"on":true}',
      ].join('\n'),
    );

    const none: string[] = [];
    expect(runTraceCommand({ ruleId: 'nope', dataDir, limit: 10, json: false }, (l) => none.push(l))).toBe(1);
    expect(none).toEqual(['no stored runs of rule "nope"; rules with traces: fan']);
    expect(() =>
      runTraceCommand({ ruleId: 'fan', dataDir, limit: 1, json: false, outcome: 'maybe' }, () => undefined),
    ).toThrow(/--outcome must be one of fired, blocked, error/);
  });

  it('`edgehub trace` reads the rules database from another process while it is open for writing', async () => {
    const { dataDir, traces, send } = setup();
    await send('sensors/gh-1/temperature', { value: 31.5, unit: 'C' });
    traces.flush();
    const text = await runCli(['trace', 'fan', '--data', dataDir, '--outcome', 'fired']);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('FIRED  key gh-1');
    expect(text.stdout).toContain('✓ payload.value > 30  = true');
    const json = await runCli(['trace', 'fan', '--data', dataDir, '--json']);
    const record = JSON.parse(json.stdout.trim()) as { ruleId: string; outcome: string };
    expect(record).toMatchObject({ ruleId: 'fan', outcome: 'fired' });
    const missing = await runCli(['trace', 'fan', '--data', temp.make()]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('TRACES_UNAVAILABLE: no rules database at');
  });

  it('shows device triggers, nested conditions, alerts and near misses such as a cooldown', async () => {
    const dataDir = temp.make('edgehub-traces-');
    const db = openRulesDb(rulesDbPath(dataDir));
    closers.push(() => db.close());
    const logger = new MemoryLogger();
    const sink: { traces?: TraceStore } = {};
    const harness = new RuleHarness(
      ruleSet(
        [
          'rules:',
          '  - id: hot',
          '    when: { device: gh-1, metric: temperature, above: 30 }',
          '    if: { all: ["payload.value < 50", { not: "payload.value == 40" }] }',
          '    cooldown: 1m',
          '    then: [{ alert: { key: "hot/{{ payload.device }}", severity: major } }]',
        ].join('\n'),
      ),
      { startMs: Date.UTC(2026, 0, 1, 12), logger, onRun: (run) => sink.traces?.record(run) },
    );
    const traces = new TraceStore({ db, clock: harness.clock, logger, keep: 5 });
    traces.start();
    sink.traces = traces;
    const reading = async (value: number) => {
      harness.inject({ topic: 'sensors/gh-1/temperature', payload: JSON.stringify({ value }) });
      await harness.advanceTo(harness.clock.now() + 10_000);
    };
    for (const value of [20, 31, 20, 35]) await reading(value);
    expect(harness.alerts.map((a) => [a.key, a.severity])).toEqual([['hot/gh-1', 'major']]);
    const lines: string[] = [];
    expect(runTraceCommand({ ruleId: 'hot', dataDir, limit: 10, json: false }, (l) => lines.push(l))).toBe(0);
    expect(lines.slice(0, 12)).toEqual([
      'rule hot: 2 runs, newest first (stored: 1 fired, 1 blocked, 0 errors)',
      '',
      '2026-01-01T12:00:30.000Z  BLOCKED (cooldown)  key gh-1',
      '  trigger 0: device gh-1 temperature = 35 (was 20)',
      '  if: (no conditions)',
      '  no actions ran',
      '',
      '2026-01-01T12:00:10.000Z  FIRED  key gh-1',
      '  trigger 0: device gh-1 temperature = 31 (was 20)',
      '  ✓ all(payload.value < 50, not(payload.value == 40))',
      '    ✓ payload.value < 50  = true',
      '    ✓ not(payload.value == 40)',
    ]);
  });

  it('holds only the newest N runs per rule and outcome between flushes, in the order they finished', () => {
    const { traces, clock } = setup(3);
    const run = (n: number, outcome: RuleRun['outcome']): RuleRun => ({
      runId: `r${n}`,
      ruleId: n % 3 === 0 ? 'a' : 'b',
      outcome,
      reason: outcome === 'blocked' ? 'condition' : null,
      branch: outcome === 'blocked' ? null : 'then',
      key: 'k',
      trigger: { id: '0', kind: 'mqtt', topic: 't', captures: {}, payload: n },
      conditions: [],
      actions: [],
      startedAt: clock.now() + n,
      finishedAt: clock.now() + n,
      error: outcome === 'error' ? 'failed' : null,
    });
    for (let n = 0; n < 600; n++) traces.record(run(n, n % 2 === 0 ? 'fired' : 'blocked'));
    expect(traces.stats()).toEqual({ stored: 0, dropped: 588, buffered: 12 });
    traces.flush();
    expect(traces.stats()).toEqual({ stored: 12, dropped: 588, buffered: 0 });
    const payloads = (ruleId: string) =>
      traces.query({ ruleId, limit: 100 }).map((r) => [r.outcome, viewRun(r.run).trigger.payload]);
    expect(payloads('a')).toEqual([
      ['blocked', 597],
      ['fired', 594],
      ['blocked', 591],
      ['fired', 588],
      ['blocked', 585],
      ['fired', 582],
    ]);
    expect(payloads('b').map(([, p]) => p)).toEqual([599, 598, 596, 595, 593, 592]);
  });
});
