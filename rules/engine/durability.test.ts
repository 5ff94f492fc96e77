import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../kernel/index.js';
import { SqliteRuleStateStore } from './state/sqlite-rule-state-store.js';
import { EngineRig, FakeDevices, ruleSet, T0 } from '../../test/support/engine-rig.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A rules database in a temporary directory; `open` opens it again like a restarted hub does. */
function stateFile() {
  const dir = mkdtempSync(join(tmpdir(), 'edgehub-durable-'));
  dirs.push(dir);
  const file = join(dir, 'rules.db');
  return () => new SqliteRuleStateStore(new Database(file), true);
}

/** Runs `text` on an engine over the state file, as one life of the hub. */
function life(
  text: string,
  open: () => SqliteRuleStateStore,
  clock: VirtualClock,
  devices = new FakeDevices(),
) {
  const state = open();
  const rig = new EngineRig(text, { clock, state, devices });
  const end = () => {
    rig.engine.stop();
    state.close();
  };
  return { rig, end };
}

const HOT_FOR = `rules:
  - id: hot
    when: { device: gh-1, metric: temperature, above: 30, for: 10m }
    then: [{ log: "hot at {{ payload.value }}" }]
`;

describe('a hub restart resumes timing state from SQLite', () => {
  it('a for: 10m seven minutes in fires three minutes after the restart when the registry still agrees', async () => {
    const open = stateFile();
    const clock = new VirtualClock(T0);
    const devices = new FakeDevices();
    const first = life(HOT_FOR, open, clock, devices);
    await first.rig.reading('gh-1', 'temperature', 31);
    await first.rig.advance(7 * 60_000);
    first.end();

    // Down for a minute; the registry of the new hub has a fresh reading that still holds.
    clock.advance(60_000);
    devices.set('gh-1', 'temperature', 32, clock.now());
    const second = life(HOT_FOR, open, clock, devices);
    await second.rig.advance(119_999);
    expect(second.rig.fired()).toEqual([]);
    await second.rig.advance(1);
    expect(second.rig.fired().map((r) => r.startedAt - T0)).toEqual([600_000]);
    expect(second.rig.logs('info')).toEqual(['hot at 31']);
    second.end();
  });

  it('a pending for whose condition no longer holds after the restart does not fire', async () => {
    const open = stateFile();
    const clock = new VirtualClock(T0);
    const devices = new FakeDevices();
    const first = life(HOT_FOR, open, clock, devices);
    await first.rig.reading('gh-1', 'temperature', 31);
    first.end();
    devices.set('gh-1', 'temperature', 25, clock.now());
    const second = life(HOT_FOR, open, clock, devices);
    await second.rig.advance(600_000);
    expect(second.rig.fired()).toEqual([]);
    second.end();
  });

  it('a delay in progress resumes with the remaining actions, keeping its scope and trace', async () => {
    const text = `rules:
  - id: pulse
    when: { mqtt: "pump/+name/start" }
    then:
      - log: "on {{ name }} {{ payload.seq }}"
      - delay: 10m
      - log: "off {{ name }} {{ payload.seq }}"
`;
    const open = stateFile();
    const clock = new VirtualClock(T0);
    const first = life(text, open, clock);
    await first.rig.send('pump/p1/start', { seq: 4 });
    await first.rig.advance(4 * 60_000);
    first.end();
    expect(first.rig.runs).toEqual([]);

    clock.advance(60_000);
    const second = life(text, open, clock);
    await second.rig.advance(5 * 60_000 - 1);
    expect(second.rig.logs('info')).toEqual([]);
    await second.rig.advance(1);
    expect(second.rig.logs('info')).toEqual(['off p1 4']);
    expect(second.rig.runs[0]).toMatchObject({
      outcome: 'fired',
      startedAt: T0,
      finishedAt: T0 + 600_000,
      actions: [{ kind: 'log', detail: 'on p1 4' }, { kind: 'delay' }, { kind: 'log', detail: 'off p1 4' }],
    });
    second.end();
    // Finished runs leave nothing behind.
    const store = open();
    expect(store.entries().filter((e) => e.slot === 'run')).toEqual([]);
    store.close();
  });

  it('mode: queued inputs waiting behind a parked run survive a restart, in order', async () => {
    const text = `rules:
  - id: pulse
    mode: queued
    when: { mqtt: "pump/+name/start" }
    then:
      - log: "on {{ payload.seq }}"
      - delay: 10m
      - log: "off {{ payload.seq }}"
`;
    const open = stateFile();
    const clock = new VirtualClock(T0);
    const first = life(text, open, clock);
    for (const seq of [1, 2, 3]) await first.rig.send('pump/p1/start', { seq });
    await first.rig.advance(4 * 60_000);
    first.end();
    expect(first.rig.logs('info')).toEqual(['on 1']);

    clock.advance(60_000);
    const second = life(text, open, clock);
    await second.rig.advance(5 * 60_000);
    expect(second.rig.logs('info')).toEqual(['off 1', 'on 2']);
    await second.rig.advance(20 * 60_000);
    expect(second.rig.logs('info')).toEqual(['off 1', 'on 2', 'off 2', 'on 3', 'off 3']);
    second.end();
    // Nothing is left waiting.
    const store = open();
    expect(store.entries().filter((e) => e.slot === 'key' || e.slot === 'run')).toEqual([]);
    store.close();
  });

  it('queued inputs whose run was not parked start at once after a restart', async () => {
    const text = `rules:
  - id: slow
    mode: queued
    when: { mqtt: "job/+n" }
    then: [{ log: "job {{ n }}" }, { delay: 1h }]
`;
    const open = stateFile();
    const clock = new VirtualClock(T0);
    const first = life(text, open, clock);
    await first.rig.send('job/a', 1);
    await first.rig.send('job/a', 2);
    first.end();
    // The parked run's state is dropped, as after a crash that lost it; the queue is still there.
    const store = open();
    for (const e of store.entries().filter((x) => x.slot === 'run')) store.delete(e.ruleId, e.slot, e.key);
    store.close();
    const second = life(text, open, clock);
    await second.rig.advance(0);
    expect(second.rig.logs('info')).toEqual(['job a']);
    second.end();
  });

  it('a delay that fell due while the hub was down runs at once on start', async () => {
    const text = `rules:
  - id: d
    when: { mqtt: go }
    then: [{ delay: 1m }, { log: late }]
`;
    const open = stateFile();
    const clock = new VirtualClock(T0);
    const first = life(text, open, clock);
    await first.rig.send('go', '1');
    first.end();
    clock.advance(3_600_000);
    const second = life(text, open, clock);
    await second.rig.advance(0);
    expect(second.rig.logs('info')).toEqual(['late']);
    second.end();
  });

  it('cooldown, throttle windows, hysteresis arming, debounce, waits and vars survive', async () => {
    const text = `rules:
  - id: cool
    cooldown: 1h
    when: { mqtt: "a/+k" }
    then: [{ log: "cool {{ k }}" }]
  - id: thr
    when: { mqtt: "b/+k", throttle: 1/1h }
    then: [{ log: "thr {{ k }}" }]
  - id: hyst
    when: { device: gh-1, metric: temperature, above: 30, hysteresis: 5 }
    then: [{ log: "hyst {{ payload.value }}" }]
  - id: deb
    when: { mqtt: "c/+k", debounce: 1m }
    then: [{ log: "deb {{ payload }}" }]
  - id: waiter
    when: { mqtt: "w/+k" }
    then:
      - wait: { trigger: { mqtt: "w/{{ k }}/ack" }, timeout: 1h }
      - log: "ack {{ k }} {{ wait.timed_out }}"
  - id: counter
    when: { mqtt: count }
    then:
      - set: { n: "(vars.n ?? 0) + 1" }
      - log: "n {{ vars.n }}"
`;
    const open = stateFile();
    const clock = new VirtualClock(T0);
    const devices = new FakeDevices();
    const first = life(text, open, clock, devices);
    await first.rig.send('a/x', '1');
    await first.rig.send('b/x', '1');
    await first.rig.reading('gh-1', 'temperature', 31);
    await first.rig.send('c/x', '"first"');
    await first.rig.send('w/x', '1');
    await first.rig.send('count', '1');
    first.end();

    clock.advance(10_000);
    const second = life(text, open, clock, devices);
    await second.rig.send('a/x', '1');
    await second.rig.send('b/x', '1');
    await second.rig.reading('gh-1', 'temperature', 28);
    await second.rig.reading('gh-1', 'temperature', 31);
    await second.rig.send('w/x/ack', '1');
    await second.rig.send('count', '1');
    await second.rig.advance(60_000);
    expect(second.rig.logs('info')).toEqual(['ack x false', 'n 2', 'deb first']);
    expect(second.rig.outcomes().filter(([, , reason]) => reason !== null)).toEqual([
      ['cool', 'blocked', 'cooldown'],
      ['thr', 'blocked', 'throttle'],
    ]);
    second.end();
  });

  it('state of a rule that changed while the hub was down is dropped', async () => {
    const open = stateFile();
    const clock = new VirtualClock(T0);
    const devices = new FakeDevices();
    const first = life(HOT_FOR, open, clock, devices);
    await first.rig.reading('gh-1', 'temperature', 31);
    first.end();
    const second = life(HOT_FOR.replace('for: 10m', 'for: 20m'), open, clock, devices);
    await second.rig.advance(3_600_000, 60_000);
    expect(second.rig.fired()).toEqual([]);
    second.end();
  });
});

describe('a reload keeps the state of unchanged rules and drops that of changed ones', () => {
  const TWO = `rules:
  - id: keep
    when: { mqtt: go/keep }
    then: [{ log: keep-a }, { delay: 10s }, { log: keep-b }]
  - id: change
    when: { mqtt: go/change }
    then: [{ log: change-a }, { delay: 10s }, { log: change-b }]
`;

  it('a delay in progress: the unchanged rule finishes it, the changed rule’s run is cancelled', async () => {
    const rig = new EngineRig(TWO);
    await rig.send('go/keep', '1');
    await rig.send('go/change', '1');
    await rig.advance(5000);
    rig.engine.load(ruleSet(TWO.replace('change-b', 'changed-b')));
    await rig.advance(10_000);
    expect(rig.logs('info')).toEqual(['keep-a', 'change-a', 'keep-b']);
    const cancelled = rig.runs.find((r) => r.ruleId === 'change');
    expect(cancelled?.actions.at(-1)).toMatchObject({ kind: 'cancelled', detail: 'the rule changed' });
    expect(rig.clock.pending()).toEqual([]);
  });

  it('a pending for survives a reload of an unchanged rule and of other rules', async () => {
    const text = `rules:
  - id: hot
    when: { device: gh-1, metric: temperature, above: 30, for: 5m }
    then: [{ log: hot }]
`;
    const rig = new EngineRig(text);
    await rig.reading('gh-1', 'temperature', 31);
    await rig.advance(60_000);
    rig.engine.load(ruleSet(text + `  - id: other\n    when: { mqtt: x }\n    then: []\n`));
    await rig.advance(240_000);
    expect(rig.fired().map((r) => r.startedAt - T0)).toEqual([300_000]);
  });

  it('removing a rule drops its timers and stored state; variables stay while the id does', async () => {
    const text = `rules:
  - id: v
    when: { mqtt: in }
    then:
      - set: { n: "(vars.n ?? 0) + 1" }
      - log: "{{ vars.n }}"
`;
    const rig = new EngineRig(text);
    await rig.send('in', '1');
    rig.engine.load(ruleSet(text.replace('log:', 'log: "n="\n      - log:')));
    await rig.send('in', '1');
    rig.engine.load(ruleSet('rules: []\n'));
    rig.engine.load(ruleSet(text));
    await rig.send('in', '1');
    expect(rig.logs('info')).toEqual(['1', 'n=', '2', '1']);
  });
});

describe('loop breaker', () => {
  it('suspends a rule for a key past the rate, raises an alert, emits rule.suspended, and resumes', async () => {
    const rig = new EngineRig(
      `rules:
  - id: echo
    when: { mqtt: "loop/+k" }
    then: [{ publish: { topic: "loop/{{ k }}", payload: again } }]
  - id: watch
    when: { event: rule.suspended }
    then: [{ log: "suspended {{ payload.rule }} {{ payload.key }}" }]
`,
      { loopBreaker: { maxDepth: 10, maxRuns: 3, windowMs: 10_000, suspendForMs: 60_000 } },
    );
    for (let i = 0; i < 6; i++) await rig.send('loop/a', '1');
    await rig.send('loop/b', '1');
    expect(rig.outcomes().filter(([id]) => id === 'echo')).toEqual([
      ['echo', 'fired', null],
      ['echo', 'fired', null],
      ['echo', 'fired', null],
      ['echo', 'blocked', 'suspended'],
      ['echo', 'blocked', 'suspended'],
      ['echo', 'blocked', 'suspended'],
      ['echo', 'fired', null],
    ]);
    expect(rig.logs('info')).toEqual(['suspended echo a']);
    expect(rig.engine.alerts.get('rule-suspended/echo/a')).toMatchObject({ active: true, severity: 'major' });
    expect(rig.events.map((e) => e.name)).toEqual(['rule.suspended', 'alert.raised']);
    await rig.advance(60_000);
    expect(rig.engine.alerts.get('rule-suspended/echo/a')?.active).toBe(false);
    await rig.send('loop/a', '1');
    expect(rig.outcomes().at(-1)).toEqual(['echo', 'fired', null]);
  });
});

describe('stop', () => {
  it('ignores inputs after a stop, leaves no timers, and a later load resumes from the store', async () => {
    const rig = new EngineRig(`rules:
  - id: hot
    when: { device: gh-1, metric: temperature, above: 30, for: 5m }
    then: [{ log: hot }]
`);
    await rig.reading('gh-1', 'temperature', 31);
    rig.engine.stop();
    rig.engine.stop();
    await rig.reading('gh-1', 'temperature', 20);
    await rig.send('x', '1');
    expect(rig.clock.pending()).toEqual([]);
    rig.engine.load(rig.engine.ruleSet);
    expect(rig.clock.pending()).toEqual(['rule:hot:for:0:gh-1']);
    rig.devices.set('gh-1', 'temperature', 31, rig.clock.now());
    await rig.advance(300_000);
    expect(rig.logs('info')).toEqual(['hot']);
  });
});

describe('schedules missed while the hub was down', () => {
  const everyHour = (catchUp: string) => `rules:
  - id: water
    when: { schedule: { every: 1h${catchUp} } }
    then: [{ log: "water for {{ payload.at }} missed={{ payload.missed }}" }]
`;

  it('with catch_up: last, the most recent missed firing runs once at start-up', async () => {
    const open = stateFile();
    const clock = new VirtualClock(Date.UTC(2026, 5, 1, 9, 30));
    const first = life(everyHour(', catch_up: last'), open, clock);
    await first.rig.advance(30 * 60_000); // fires at 10:00
    first.end();
    clock.advanceTo(Date.UTC(2026, 5, 1, 13, 15)); // down over 11:00, 12:00 and 13:00
    const second = life(everyHour(', catch_up: last'), open, clock);
    await second.rig.advance(0);
    const watered = (): string[] => second.rig.logs('info').filter((l) => l.startsWith('water for'));
    expect(watered()).toEqual([`water for ${Date.UTC(2026, 5, 1, 13)} missed=true`]);
    await second.rig.advance(45 * 60_000); // and on schedule again at 14:00
    expect(watered().at(-1)).toBe(`water for ${Date.UTC(2026, 5, 1, 14)} missed=`);
    expect(watered()).toHaveLength(2);
    second.end();
  });

  it('by default, and when the last missed firing is older than catch_up_within, nothing missed runs', async () => {
    for (const catchUp of ['', ', catch_up: last, catch_up_within: 20m']) {
      const open = stateFile();
      const clock = new VirtualClock(Date.UTC(2026, 5, 1, 9, 30));
      const first = life(everyHour(catchUp), open, clock);
      await first.rig.advance(30 * 60_000);
      first.end();
      clock.advanceTo(Date.UTC(2026, 5, 1, 15, 30)); // the last missed one, 15:00, is 30 min old
      const second = life(everyHour(catchUp), open, clock);
      await second.rig.advance(0);
      expect(second.rig.logs('info').filter((l) => l.includes('missed=true'))).toEqual([]);
      second.end();
    }
  });
});
