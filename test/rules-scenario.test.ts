import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runScenarioFile, runTestCommand } from '../rules/index.js';
import { runCli } from './support/hub-process.js';
import { TempDirs, writeFiles } from './support/temp.js';

const temp = new TempDirs();
afterEach(() => temp.cleanup());

const FAN_RULES = [
  'rules:',
  '  - id: fan-on-when-hot',
  '    when: { mqtt: sensors/+device/temperature }',
  '    if: payload.value > 30',
  '    then:',
  '      - publish: { topic: "actuators/{{ device }}/fan", payload: { on: true, seq: "{{ payload.seq }}" } }',
  '    else:',
  '      - publish: { topic: "actuators/{{ device }}/fan", payload: { on: false } }',
  '  - id: fan-state-echo',
  '    when: { mqtt: actuators/+device/fan }',
  '    then:',
  '      - publish: { topic: "status/{{ device }}", payload: "{{ payload.on }}", retain: true }',
].join('\n');

/** A project layout: rules/ and scenarios/ side by side, as the README suggests. */
function project(scenarios: Record<string, string>) {
  const root = temp.make('edgehub-scenario-');
  mkdirSync(join(root, 'rules'));
  mkdirSync(join(root, 'scenarios'));
  writeFiles(join(root, 'rules'), { 'fan.yaml': FAN_RULES });
  writeFiles(join(root, 'scenarios'), scenarios);
  return root;
}

const PASSING = `
scenario: fan turns on when it is hot and off when it cools
rules: ../rules
start: 2026-06-01T12:00:00Z
devices:
  - id: gh-1
    state: { temperature: 20 }
steps:
  - at: 10s
    publish: { topic: sensors/gh-1/temperature, payload: { value: 31.5, seq: 7 } }
  - at: 1m
    device: gh-1
    metric: temperature
    value: 22
  - advance: 5m
expect:
  - publish: { topic: actuators/gh-1/fan, payload: { on: true } }
    within: 15s
    times: 1
  - publish: { topic: actuators/+/fan, payload: { on: false } }
    after: 30s
  - publish: { topic: status/gh-1, payload: true, retain: true }
  - no_publish: { topic: actuators/gh-2/# }
`;

describe('edgehub test: scenarios on the virtual clock', () => {
  it('passes a scenario whose expectations hold, with rule publishes fed back to the rules', async () => {
    const root = project({ 'fan.yaml': PASSING });
    const result = await runScenarioFile(join(root, 'scenarios', 'fan.yaml'));
    expect(result.problems).toEqual([]);
    expect(result.expectations.map((e) => [e.ok, e.summary])).toEqual([
      [true, 'publish actuators/gh-1/fan {"on":true} within 0s–15s, 1 time'],
      [true, 'publish actuators/+/fan {"on":false} from 30s'],
      [true, 'publish status/gh-1 true from 0s'],
      [true, 'no publish to actuators/gh-2/# from 0s'],
    ]);
    expect(result).toMatchObject({ ok: true, ruleTimeMs: 6 * 60_000, publishes: 4 });
  });

  it('fails with a non-zero status and prints expected vs the closest actual', async () => {
    const root = project({
      'a-pass.yaml': PASSING,
      'b-fail.yaml': [
        'scenario: fan turns on at 25 degrees',
        'rules: ../rules',
        'steps:',
        '  - at: 5s',
        '    publish: { topic: sensors/gh-1/temperature, payload: { value: 26, seq: 1 } }',
        '  - at: 20s',
        '    publish: { topic: sensors/gh-1/temperature, payload: { value: 35, seq: 2 } }',
        'expect:',
        '  - publish: { topic: actuators/gh-1/fan, payload: { on: true, seq: 1 } }',
        '    within: 10s',
        '  - no_publish: { topic: status/# }',
        '  - command: { device: gh-1, set: { fan: true } }',
      ].join('\n'),
    });
    const lines: string[] = [];
    const code = await runTestCommand(join(root, 'scenarios'), (l) => lines.push(l));
    expect(code).toBe(1);
    const file = join(root, 'scenarios', 'b-fail.yaml');
    expect(lines).toEqual([
      `✓ fan turns on when it is hot and off when it cools  (${join(root, 'scenarios', 'a-pass.yaml')}, 4 expectations, 6m of rule time)`,
      `✗ fan turns on at 25 degrees  (${file}, 3 expectations, 20s of rule time)`,
      `    ✗ ${file}:9:5 expect[0]: publish actuators/gh-1/fan {"on":true,"seq":1} within 0s–10s`,
      '        expected at least 1, got 0',
      '        closest: at 20s (outside the window): actuators/gh-1/fan {"on":true,"seq":2}',
      '          payload.seq: expected 1, got 2',
      `    ✗ ${file}:11:5 expect[1]: no publish to status/# from 0s`,
      '        expected none, got 2:',
      '          at 5s: status/gh-1 false (retained)',
      '          at 20s: status/gh-1 true (retained)',
      `    ✗ ${file}:12:5 expect[2]: command gh-1 set {"fan":true} from 0s`,
      '        expected at least 1, got 0',
      '        nothing of the kind happened at all (no commands)',
      '2 scenarios: 1 passed, 1 failed',
    ]);
  });

  it('reports a scenario with a YAML syntax error or an invalid key at file:line:col', async () => {
    const root = project({
      'syntax.yaml':
        'scenario: broken\nrules: ../rules\nsteps:\n  - at: 5s\n    publish: { topic: a, payload: [1, 2 }\n',
      'schema.yaml':
        'scenario: bad\nrules: ../rules\nsteps:\n  - at: soon\nexpect:\n  - publish: { topic: a }\n',
      'backwards.yaml':
        'scenario: back\nrules: ../rules\nsteps:\n  - at: 10s\n  - at: 5s\nexpect:\n  - publish: { topic: a }\n',
    });
    const dir = join(root, 'scenarios');
    const syntax = await runScenarioFile(join(dir, 'syntax.yaml'));
    expect(syntax.ok).toBe(false);
    expect(syntax.problems[0]).toMatch(new RegExp(`^${join(dir, 'syntax.yaml')}:5:\\d+: YAML syntax: `));
    const schema = await runScenarioFile(join(dir, 'schema.yaml'));
    expect(schema.problems).toEqual([
      `${join(dir, 'schema.yaml')}:4:9 steps[0].at: not a duration; write it like 500ms, 10s, 5m, 2h, 1d or 1h30m`,
    ]);
    const backwards = await runScenarioFile(join(dir, 'backwards.yaml'));
    expect(backwards.problems[0]).toContain(
      `${join(dir, 'backwards.yaml')}:5:9 steps[1].at: at: 5s is before the previous step (10s)`,
    );
  });

  it('reports invalid rules of the scenario with their locations', async () => {
    const root = project({ 'fan.yaml': PASSING });
    writeFiles(join(root, 'rules'), { 'bad.yaml': 'rules:\n  - id: x\n    when: { mqtt: a }\n' });
    const result = await runScenarioFile(join(root, 'scenarios', 'fan.yaml'));
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual([
      `${join(root, 'rules', 'bad.yaml')}:2:5 rules[0].then: missing required key "then"`,
    ]);
  });

  it('`edgehub test` exits 0 on passing scenarios and 1 on a failing one', async () => {
    const root = project({ 'fan.yaml': PASSING });
    const ok = await runCli(['test', join(root, 'scenarios')]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('1 scenario: 1 passed, 0 failed');
    writeFiles(join(root, 'scenarios'), {
      'late.yaml': PASSING.replace('within: 15s', 'within: 5s'),
    });
    const bad = await runCli(['test', join(root, 'scenarios', 'late.yaml')]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('it matches, but outside the window (within 0s–5s)');
  });

  it('drives device readings with `for`, posted events, commands and alerts on the virtual clock', async () => {
    const root = project({
      'vent.yaml': [
        'scenario: vent after two hot minutes, and on request',
        'rules: ../rules',
        'devices:',
        '  - { id: gh-1, state: { temperature: 22 } }',
        'steps:',
        '  - { at: 10s, device: gh-1, metric: temperature, value: 31 }',
        '  - { at: 1m, device: gh-1, metric: temperature, value: 32 }',
        '  - { at: 5m, event: vent-now, data: { device: gh-2 } }',
        'expect:',
        '  - command: { device: gh-1, set: { fan: true } }',
        '    after: 2m10s',
        '    within: 1s',
        '    times: 1',
        '  - alert: { key: hot/gh-1, severity: major }',
        '  - command: { device: gh-2 }',
        '    after: 5m',
        '  - no_publish: { topic: "actuators/gh-2/#" }',
        '  - publish: { topic: edgehub/alerts/hot/gh-1, payload: { active: true, source: vent } }',
      ].join('\n'),
    });
    writeFiles(join(root, 'rules'), {
      'vent.yaml': [
        'rules:',
        '  - id: vent',
        '    when: { device: gh-1, metric: temperature, above: 30, for: 2m }',
        '    then:',
        '      - command: { device: gh-1, set: { fan: true } }',
        '      - alert: { key: hot/gh-1, severity: major }',
        '  - id: button',
        '    when: { event: vent-now }',
        '    then: [{ command: { device: "{{ payload.device }}", set: { fan: true } } }]',
      ].join('\n'),
    });
    const result = await runScenarioFile(join(root, 'scenarios', 'vent.yaml'));
    expect(result.problems).toEqual([]);
    expect(result.expectations.map((e) => [e.ok, e.summary, e.details])).toEqual([
      [true, 'command gh-1 set {"fan":true} within 2m10s–2m11s, 1 time', []],
      [true, 'alert hot/gh-1 (major) from 0s', []],
      [true, 'command gh-2 from 5m', []],
      [true, 'no publish to actuators/gh-2/# from 0s', []],
      [true, 'publish edgehub/alerts/hot/gh-1 {"active":true,"source":"vent"} from 0s', []],
    ]);
  });

  it('runs schedules in the scenario time zone', async () => {
    const root = project({
      'morning.yaml': [
        'scenario: lights at half past seven, Berlin time',
        'rules: ../rules',
        'start: 2026-06-01T05:00:00Z',
        'timezone: Europe/Berlin',
        'steps:',
        '  - advance: 1h',
        'expect:',
        '  - publish: { topic: lights/on }',
        '    after: 30m',
        '    within: 0s',
        '    times: 1',
      ].join('\n'),
      'bad-zone.yaml':
        'scenario: x\nrules: ../rules\ntimezone: Mars/Olympus\nsteps: [{ advance: 1s }]\nexpect: [{ no_publish: { topic: a } }]\n',
    });
    writeFiles(join(root, 'rules'), {
      'morning.yaml':
        'rules:\n  - id: morning\n    when: { schedule: { at: "07:30" } }\n    then: [{ publish: { topic: lights/on } }]\n',
    });
    const result = await runScenarioFile(join(root, 'scenarios', 'morning.yaml'));
    expect(result.expectations.map((e) => [e.ok, e.details])).toEqual([[true, []]]);
    const bad = await runScenarioFile(join(root, 'scenarios', 'bad-zone.yaml'));
    expect(bad.problems).toEqual([
      `${join(root, 'scenarios', 'bad-zone.yaml')}:3:11 timezone: expected an IANA time zone such as UTC or Europe/Berlin`,
    ]);
  });
});
