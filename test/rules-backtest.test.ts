import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { eventsDbPath, EventStore, openEventReader } from '../hub/store/index.js';
import { MemoryLogger, VirtualClock, type MqttMessage } from '../kernel/index.js';
import {
  backtest,
  loadRuleDir,
  openEventPages,
  payloadBytes,
  readerPages,
  runBacktestCommand,
  type EventPages,
  type RuleDifference,
} from '../rules/index.js';
import { runCli } from './support/hub-process.js';
import { TempDirs, writeFiles } from './support/temp.js';

const temp = new TempDirs();
const closers: (() => void)[] = [];
afterEach(() => {
  for (const close of closers.splice(0)) close();
  temp.cleanup();
});

const T0 = Date.UTC(2026, 2, 1, 8);

const IN_FORCE = `rules:
  - id: fan
    when: { mqtt: sensors/+device/temperature }
    if: payload.value > 30
    then: [{ publish: { topic: "actuators/{{ device }}/fan", payload: { on: true } } }]
  - id: humid
    when: { mqtt: sensors/+device/humidity }
    if: payload.value > 80
    then: [{ publish: { topic: "alerts/{{ device }}", payload: wet } }]
  - id: old
    when: { mqtt: sensors/+device/temperature }
    if: payload.value < 10
    then: [{ log: cold }]
`;

const CANDIDATE = `rules:
  - id: fan
    when: { mqtt: sensors/+device/temperature }
    if: payload.value > 25
    then: [{ publish: { topic: "actuators/{{ device }}/fan", payload: { on: true } } }]
  - id: humid
    when: { mqtt: sensors/+device/humidity }
    if: payload.value > 80
    then: [{ publish: { topic: "alerts/{{ device }}", payload: "wet: {{ payload.value }}" } }]
  - id: heater
    when: { mqtt: sensors/+device/temperature }
    if: payload.value < 20
    then: [{ publish: { topic: "actuators/{{ device }}/heater", payload: { on: true } } }]
`;

/** A data directory whose event store holds `events`, written by the hub's own EventStore. */
async function recorded(events: { at: number; topic: string; payload: unknown; clientId?: string | null }[]) {
  const dataDir = temp.make('edgehub-backtest-');
  const store = new EventStore({
    file: eventsDbPath(dataDir),
    clock: new VirtualClock(T0),
    logger: new MemoryLogger(),
    options: {
      flushIntervalMs: 100,
      batchSize: 1000,
      retention: { maxAgeMs: 365 * 86_400_000, maxSizeBytes: 1 << 30, checkEveryMs: 3_600_000 },
    },
  });
  store.start();
  for (const e of events) {
    const message: MqttMessage = {
      topic: e.topic,
      payload: payloadBytes(e.payload),
      qos: 0,
      retain: false,
      clientId: e.clientId === undefined ? 'sensor' : e.clientId,
      receivedAt: e.at,
    };
    store.append(message);
  }
  await store.stop();
  return dataDir;
}

function rulesDirs() {
  const root = temp.make('edgehub-backtest-rules-');
  for (const [name, text] of [
    ['in-force', IN_FORCE],
    ['candidate', CANDIDATE],
  ] as const) {
    mkdirSync(join(root, name));
    writeFiles(join(root, name), { 'rules.yaml': text });
  }
  return { inForce: join(root, 'in-force'), candidate: join(root, 'candidate') };
}

const HISTORY = [
  { at: T0, topic: 'sensors/gh-1/temperature', payload: { value: 22 } },
  // Three events within one millisecond, across a page boundary (page size 2 below).
  { at: T0 + 1000, topic: 'sensors/gh-1/temperature', payload: { value: 27 } },
  { at: T0 + 1000, topic: 'sensors/gh-2/temperature', payload: { value: 28 } },
  { at: T0 + 1000, topic: 'sensors/gh-3/temperature', payload: { value: 5 } },
  { at: T0 + 2000, topic: 'sensors/gh-1/temperature', payload: { value: 33 } },
  // What the rules in force published: not replayed, the candidate's own publishes are.
  { at: T0 + 2000, topic: 'actuators/gh-1/fan', payload: { on: true }, clientId: null },
  { at: T0 + 3000, topic: 'sensors/gh-1/humidity', payload: { value: 85 } },
  { at: T0 + 4000, topic: 'sensors/gh-1/humidity', payload: { value: 60 } },
  { at: T0 + 5000, topic: 'devices/gh-1/availability', payload: 'online' },
];

describe('backtest over a recorded event store', () => {
  it('replays events in pages and reports each rule and its differences from the rules in force', async () => {
    const dataDir = await recorded(HISTORY);
    const dirs = rulesDirs();
    const reader = openEventReader(eventsDbPath(dataDir));
    closers.push(() => reader.close());
    const progress: number[] = [];
    const result = await backtest({
      candidate: await loadRuleDir(dirs.candidate),
      inForce: await loadRuleDir(dirs.inForce),
      history: readerPages(reader),
      sinceMs: T0,
      untilMs: T0 + 60_000,
      pageSize: 2,
      onProgress: (p) => progress.push(p.events),
    });
    expect(result).toMatchObject({ events: 9, skipped: 1, firstAt: T0, lastAt: T0 + 5000, runaways: 0 });
    expect(progress.at(-1)).toBe(9);
    const activity = Object.fromEntries(result.candidate.map((a) => [a.id, a]));
    expect(activity.fan).toMatchObject({ fired: 3, blocked: 2, publishes: 3 });
    expect(activity.heater).toMatchObject({ fired: 1, blocked: 4, publishes: 1 });
    expect(activity.humid).toMatchObject({ fired: 1, blocked: 1 });
    expect(result.inForce?.find((a) => a.id === 'fan')).toMatchObject({ fired: 1, blocked: 4 });

    const diffs = Object.fromEntries((result.differences ?? []).map((d) => [d.id, d])) as Record<
      string,
      RuleDifference
    >;
    expect(diffs.fan).toMatchObject({ presence: 'changed', firedMore: 2, firedLess: 0, differently: 0 });
    expect(diffs.fan?.examples[0]).toBe(
      '2026-03-01T08:00:01.000Z sensors/gh-1/temperature {"value":27}: fires (publish actuators/gh-1/fan {"on":true}); in force it did not',
    );
    expect(diffs.humid).toMatchObject({ presence: 'changed', firedMore: 0, firedLess: 0, differently: 1 });
    expect(diffs.humid?.examples[0]).toContain(
      'fires differently: publish alerts/gh-1 wet: 85; in force: publish alerts/gh-1 wet',
    );
    expect(diffs.heater).toMatchObject({ presence: 'new', firedMore: 1 });
    expect(diffs.old).toMatchObject({ presence: 'removed', firedLess: 1 });
  });

  it('prints a table per rule with the differences, and `edgehub backtest` runs as a process', async () => {
    const dataDir = await recorded(HISTORY);
    const dirs = rulesDirs();
    const pages = openEventPages(eventsDbPath(dataDir));
    closers.push(() => pages.close());
    const lines: string[] = [];
    let wall = 0;
    const code = await runBacktestCommand(
      {
        rulesDir: dirs.candidate,
        againstDir: dirs.inForce,
        history: pages,
        sinceMs: T0,
        untilMs: T0 + 86_400_000,
        json: false,
        wallClock: () => (wall += 2),
      },
      (l) => lines.push(l),
    );
    expect(code).toBe(0);
    expect(lines.slice(1, 11)).toEqual([
      '  window 2026-03-01T08:00:00.000Z – 2026-03-02T08:00:00.000Z (1d)',
      '  9 events replayed in 0.00 s (4,500 events/s); 1 published by the hub itself were not replayed',
      '',
      'rule    fired  blocked  errors  publish  command  alert  vs in force',
      'fan         3        2       0        3        0      0  fired 2 more (in force fired 1)',
      'humid       1        1       0        1        0      0  1 differently (in force fired 1)',
      'heater      1        4       0        1        0      0  new rule',
      'old         —        —       —        —        —      —  removed (in force fired 1)',
      '',
      'first differences:',
    ]);

    const cli = await runCli([
      'backtest',
      '--rules',
      dirs.candidate,
      '--against',
      dirs.inForce,
      '--data',
      dataDir,
      '--since',
      new Date(T0).toISOString(),
      '--json',
    ]);
    expect(cli.stderr).toBe('');
    expect(cli.code).toBe(0);
    const report = JSON.parse(cli.stdout) as { events: number; differences: RuleDifference[] };
    expect(report.events).toBe(9);
    expect(report.differences.find((d) => d.id === 'fan')).toMatchObject({ firedMore: 2 });
  });

  it('reads the event database page by page exactly as the event store reader sees it', async () => {
    const payloads: unknown[] = [
      { value: 21.5, unit: 'C' },
      '42',
      'online',
      '',
      Buffer.from([0xff, 0x00, 0xfe]),
      [1, 2, 3],
      7,
    ];
    const dataDir = await recorded(
      payloads.map((payload, i) => ({ at: T0 + Math.floor(i / 3), topic: `t/${i}`, payload })),
    );
    const pages = openEventPages(eventsDbPath(dataDir));
    const reader = openEventReader(eventsDbPath(dataDir));
    closers.push(
      () => pages.close(),
      () => reader.close(),
    );
    const all = (source: EventPages) => {
      const out = [];
      let after = { time: T0, id: Number.MIN_SAFE_INTEGER };
      for (;;) {
        const page = source.next(after, T0 + 10, 2);
        out.push(...page);
        const last = page.at(-1);
        if (!last || page.length < 2) return out;
        after = { time: last.time, id: last.id };
      }
    };
    const raw = all(pages);
    const decoded = all(readerPages(reader));
    expect(raw.map((e) => e.topic)).toEqual(payloads.map((_p, i) => `t/${i}`));
    expect(decoded).toEqual(raw);
    expect(raw.map((e) => e.payload)).toEqual(payloads.map((p) => payloadBytes(p)));
  });
});
