import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryLogger, VirtualClock } from '../kernel/index.js';
import { findRuleLoops, RuleDirWatcher, runCheckCommand, type RulesStatus } from '../rules/index.js';
import { TempDirs, writeFiles } from './support/temp.js';

const temp = new TempDirs();
afterEach(() => temp.cleanup());

const loops = (text: string) => findRuleLoops([{ file: 'r.yaml', text }]);

describe('static loop detection', () => {
  it('reports a rule that publishes to a topic its own trigger matches, at the publish action', () => {
    const warnings = loops(
      [
        'rules:',
        '  - id: echo',
        '    when: { mqtt: "alarms/+zone" }',
        '    then:',
        '      - log: hi',
        '      - publish: { topic: "alarms/{{ zone }}", payload: again }',
      ].join('\n'),
    );
    expect(warnings.map((w) => w.code)).toEqual(['RULE_POSSIBLE_LOOP']);
    expect(warnings[0]?.location).toMatchObject({
      file: 'r.yaml',
      line: 6,
      col: 27,
      path: 'rules[0].then[1].publish.topic',
    });
    expect(warnings[0]?.message).toContain('its own trigger "alarms/+zone"');
  });

  it('reports a cycle across two rules once per publish action, naming the cycle', () => {
    const warnings = loops(
      [
        'rules:',
        '  - id: ping',
        '    when: { mqtt: "ping/#" }',
        '    then: [{ publish: { topic: "pong/{{ levels[1] }}/x" } }]',
        '  - id: pong',
        '    when: { mqtt: pong/+/x }',
        '    if: payload != ""',
        '    else:',
        '      - choose: []',
        '        default: [{ publish: { topic: ping/back } }]',
        '  - id: bystander',
        '    when: { mqtt: pong/a/x }',
        '    then: [{ publish: { topic: elsewhere } }]',
      ].join('\n'),
    );
    expect(warnings.map((w) => [w.location?.line, w.location?.path])).toEqual([
      [4, 'rules[0].then[0].publish.topic'],
      [10, 'rules[1].else[0].default[0].publish.topic'],
    ]);
    expect(warnings[0]?.message).toContain('ping → pong → ping');
    expect(warnings[1]?.message).toContain('pong → ping → pong');
  });

  it('finds a three-rule cycle and ignores disabled rules', () => {
    const rule = (id: string, on: string, to: string, enabled = true) =>
      `  - id: ${id}\n    enabled: ${enabled}\n    when: { mqtt: ${on} }\n    then: [{ publish: { topic: ${to} } }]\n`;
    const three = loops(
      'rules:\n' + rule('a', 'x/a', 'x/b') + rule('b', 'x/b', 'x/c') + rule('c', 'x/c', 'x/a'),
    );
    expect(three).toHaveLength(3);
    expect(three[0]?.message).toContain('a → b → c → a');
    const broken = loops(
      'rules:\n' + rule('a', 'x/a', 'x/b') + rule('b', 'x/b', 'x/c', false) + rule('c', 'x/c', 'x/a'),
    );
    expect(broken).toEqual([]);
  });

  it('has no false positive for a sensor rule that drives an actuator', () => {
    expect(
      loops(
        [
          'rules:',
          '  - id: fan',
          '    when: { mqtt: sensors/+device/temperature }',
          '    then: [{ publish: { topic: "actuators/x/fan" } }, { publish: { topic: "actuators/{{ device }}/fan" } }]',
          '  - id: state',
          '    when: { mqtt: actuators/+/fan/state }',
          '    then: [{ publish: { topic: "$SYS/whatever" } }, { publish: { topic: "log/{{ 4 / 2 }}" } }]',
          '  - id: all',
          '    when: { mqtt: "#" }',
          '    then: [{ publish: { topic: "$SYS/x" } }]',
        ].join('\n'),
      ),
    ).toEqual([]);
  });

  it('check prints loops as warnings with file:line:col and exits 0 (non-zero with strict)', () => {
    const dir = temp.make();
    writeFiles(dir, {
      'loop.yaml': 'rules:\n  - id: echo\n    when: { mqtt: a/b }\n    then: [{ publish: { topic: a/b } }]\n',
    });
    const lines: string[] = [];
    expect(runCheckCommand(dir, (l) => lines.push(l))).toBe(0);
    expect(lines[0]).toBe(
      `${join(dir, 'loop.yaml')}:4:32 rules[0].then[0].publish.topic: warning: rule "echo" publishes to "a/b", which its own trigger "a/b" matches: a possible loop`,
    );
    expect(lines[1]).toMatch(/1 rule in 1 file, all valid; 1 warning$/);
    expect(runCheckCommand(dir, () => undefined, { strict: true })).toBe(1);
  });

  it('the watcher logs loop warnings on load and keeps a status with reload errors', async () => {
    const dir = temp.make();
    writeFiles(dir, {
      'loop.yaml': 'rules:\n  - id: echo\n    when: { mqtt: a/b }\n    then: [{ publish: { topic: a/b } }]\n',
    });
    const logger = new MemoryLogger();
    const statuses: RulesStatus[] = [];
    const watcher = new RuleDirWatcher({
      dir,
      clock: new VirtualClock(5000),
      logger,
      onLoad: () => undefined,
      onError: () => undefined,
      onStatus: (s) => statuses.push(s),
    });
    try {
      await watcher.start();
      expect(logger.entries.find((e) => e.level === 'warn')?.msg).toContain('warning: rule "echo"');
      expect(watcher.status).toMatchObject({ ok: true, rules: 1, errors: [], at: 5000 });
      expect(watcher.status.warnings[0]).toMatchObject({ code: 'RULE_POSSIBLE_LOOP', line: 4, col: 32 });

      writeFiles(dir, { 'loop.yaml': 'rules:\n  - id: echo\n    when: { mqtt: a/b }\n' });
      await watcher.reload();
      expect(statuses.at(-1)).toMatchObject({ ok: false, rules: 1 });
      expect(statuses.at(-1)?.errors[0]).toMatchObject({
        code: 'RULE_INVALID',
        file: join(dir, 'loop.yaml'),
        line: 2,
        path: 'rules[0].then',
        message: 'missing required key "then"',
      });
      // The set in force still has its loop.
      expect(statuses.at(-1)?.warnings).toHaveLength(1);
    } finally {
      watcher.stop();
    }
  });
});
