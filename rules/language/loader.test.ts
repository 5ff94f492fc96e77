import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { EdgehubError } from '../../kernel/index.js';
import { EdgehubErrors } from '../../kernel/index.js';
import { compileRuleFiles, loadRuleDir } from './loader.js';
import type { RuleSet } from './rule.js';
import { ruleFileJsonSchema } from './schema/rule-file.js';

/** Every problem of the files as `code file:line:col path`, the parts a user acts on. */
function problems(files: Record<string, string>): string[] {
  const result = compileRuleFiles(Object.entries(files).map(([file, text]) => ({ file, text })));
  if (result.ok) return [];
  return result.errors.map((e) => {
    const l = e.location;
    return l ? `${e.code} ${l.file}:${l.line}:${l.col} ${l.path}` : `${e.code} ${e.message}`;
  });
}

function load(text: string): RuleSet {
  const result = compileRuleFiles([{ file: 'r.yaml', text }]);
  if (!result.ok) throw new EdgehubErrors('RULE_INVALID', result.errors);
  return result.set;
}

const dirs: string[] = [];
function tempDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'edgehub-rules-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('rule files: what loads', () => {
  it('compiles a rule with its defaults', () => {
    const set = load(`rules:
  - id: fan
    description: Fan while hot
    when:
      - mqtt: sensors/+device/temperature
        id: temp
      - mqtt: devices/+device/availability
        payload: offline
    if: [payload.value > 30, device != "gh-9"]
    then:
      - publish: { topic: 'actuators/{{ device }}/fan', payload: { on: true } }
    else:
      - log: cool
`);
    const rule = set.get('fan');
    expect(rule).toMatchObject({
      id: 'fan',
      description: 'Fan while hot',
      enabled: true,
      ordinal: 0,
      key: null,
      location: { file: 'r.yaml', line: 2, col: 5, path: 'rules[0]' },
    });
    expect(
      rule?.triggers.map((t) => [t.id, t.kind === 'mqtt' && t.filter.mqtt, t.kind === 'mqtt' && t.payload]),
    ).toEqual([
      ['temp', 'sensors/+/temperature', null],
      ['1', 'devices/+/availability', { value: 'offline' }],
    ]);
    expect(rule?.conditions.map((c) => c.source)).toEqual(['payload.value > 30', 'device != "gh-9"']);
    expect(rule?.then[0]).toMatchObject({ kind: 'publish', qos: 0, retain: false });
    expect(rule?.else.map((a) => a.kind)).toEqual(['log']);
    expect(set.mqtt.size).toBe(2);
  });

  it('keeps disabled rules in the set but out of the trigger index', () => {
    const set = load('rules:\n  - id: off\n    enabled: false\n    when: { mqtt: a }\n    then: []\n');
    expect(set.rules.map((r) => r.id)).toEqual(['off']);
    expect(set.mqtt.match('a')).toEqual([]);
  });

  it('accepts an empty rules list', () => {
    expect(load('rules: []\n').rules).toEqual([]);
  });
});

describe('rule files: errors say file:line:col and key path', () => {
  it('an unknown key points at the key', () => {
    expect(
      problems({
        'r.yaml': `rules:
  - id: fan
    when:
      mqtt: a/b
    then:
      - lgo: hi
    colour: red
`,
      }),
    ).toEqual(['RULE_INVALID r.yaml:6:9 rules[0].then[0].lgo', 'RULE_INVALID r.yaml:7:5 rules[0].colour']);
  });

  it('a bad expression points at the column inside the expression', () => {
    expect(
      problems({
        'r.yaml': `rules:
  - id: fan
    when: { mqtt: a/b }
    if: payload.value > foo(1)
    then:
      - publish:
          topic: "actuators/{{ device ! }}/fan"
`,
      }),
    ).toEqual([
      // "foo" is column 17 of the expression, which starts at column 9.
      'RULE_EXPRESSION_INVALID r.yaml:4:25 rules[0].if',
      // Inside the quotes: the expression " device ! " starts at column 31 and lacks the
      // operand of "!" at its end, 10 characters on.
      'RULE_EXPRESSION_INVALID r.yaml:7:41 rules[0].then[0].publish.topic',
    ]);
  });

  it('a bad expression message names the column inside the expression', () => {
    const result = compileRuleFiles([
      {
        file: 'r.yaml',
        text: 'rules:\n  - id: a\n    when: { mqtt: a }\n    if: "payload.value >"\n    then: []\n',
      },
    ]);
    expect(!result.ok && result.errors[0]?.message).toBe(
      'r.yaml:4:25 (rules[0].if): Expected expression after > (column 16 of expression "payload.value >")',
    );
  });

  it('a duplicate id names both places', () => {
    const result = compileRuleFiles([
      { file: 'a.yaml', text: 'rules:\n  - id: fan\n    when: { mqtt: a }\n    then: []\n' },
      {
        file: 'b.yaml',
        text: 'rules:\n  - id: other\n    when: { mqtt: a }\n    then: []\n  - id: fan\n    when: { mqtt: b }\n    then: []\n',
      },
    ]);
    expect(result.ok).toBe(false);
    const [error] = result.ok ? [] : result.errors;
    expect(error?.code).toBe('RULE_DUPLICATE_ID');
    expect(error?.location).toEqual({ file: 'b.yaml', line: 5, col: 9, path: 'rules[1].id' });
    expect(error?.message).toContain('already used at a.yaml:2:9 (rules[0].id)');
  });

  it('a YAML syntax error has its line and column', () => {
    expect(problems({ 'r.yaml': 'rules:\n  - id: fan\n    when: { mqtt: a/b\n    then: []\n' })).toEqual([
      'RULE_INVALID r.yaml:4:5 ',
    ]);
  });

  it('a missing then points at the rule', () => {
    const result = compileRuleFiles([
      { file: 'r.yaml', text: 'rules:\n  - id: fan\n    when:\n      mqtt: a/b\n' },
    ]);
    const [error] = result.ok ? [] : result.errors;
    expect(error?.code).toBe('RULE_INVALID');
    expect(error?.location).toEqual({ file: 'r.yaml', line: 2, col: 5, path: 'rules[0].then' });
    expect(error?.message).toContain('missing required key "then"');
  });

  it('returns every problem of every file, in file and line order', () => {
    expect(
      problems({
        'a.yaml': `rules:
  - id: Bad Id
    when: [{ mqtt: "a/x+" }, { mqtt: 5 }]
    if: [ok, "nope()"]
    then: [{}]
  - id: two
    when: 3
    then:
      - publish: { topic: a/#, qos: 1 }
`,
        'b.yaml': 'rules:\n  - id: b\n    when: { mqtt: a, bogus: 1 }\n    then: []\n',
        'c.yaml': '',
      }),
    ).toEqual([
      'RULE_INVALID a.yaml:2:9 rules[0].id',
      'RULE_INVALID a.yaml:3:38 rules[0].when[1].mqtt',
      'RULE_EXPRESSION_INVALID a.yaml:4:15 rules[0].if[1]',
      'RULE_INVALID a.yaml:5:12 rules[0].then[0]',
      'RULE_INVALID a.yaml:7:11 rules[1].when',
      'RULE_INVALID a.yaml:9:27 rules[1].then[0].publish.topic',
      'RULE_INVALID b.yaml:3:22 rules[0].when.bogus',
      'RULE_INVALID c.yaml:1:1 ',
    ]);
  });
});

describe('loading a directory', () => {
  const rule = (id: string) => `rules:\n  - id: ${id}\n    when: { mqtt: a }\n    then: []\n`;

  it('reads *.yaml and *.yml in name order and ignores _drafts, dotfiles and other files', async () => {
    const dir = tempDir({
      'b.yml': rule('b'),
      'a.yaml': rule('a'),
      '_draft.yaml': 'not: [valid',
      '.swap.yaml': 'not: [valid',
      'notes.txt': 'hello',
    });
    mkdirSync(join(dir, 'sub.yaml'));
    const set = await loadRuleDir(dir);
    expect(set.rules.map((r) => r.id)).toEqual(['a', 'b']);
    expect(set.files).toEqual([join(dir, 'a.yaml'), join(dir, 'b.yml')]);
  });

  it('throws EdgehubErrors with every error', async () => {
    const dir = tempDir({ 'a.yaml': rule('same'), 'b.yaml': rule('same'), 'c.yaml': 'rules: 3\n' });
    const err = await loadRuleDir(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EdgehubErrors);
    expect((err as EdgehubErrors).code).toBe('RULE_INVALID');
    expect((err as EdgehubErrors).errors.map((e) => e.code)).toEqual(['RULE_DUPLICATE_ID', 'RULE_INVALID']);
    expect((err as EdgehubErrors).errors[0]?.message).toContain(`${join(dir, 'b.yaml')}:2:9`);
  });

  it('a missing directory is RULES_DIR_NOT_FOUND', async () => {
    const err = await loadRuleDir(join(tmpdir(), 'edgehub-no-such-dir')).catch((e: unknown) => e);
    expect((err as EdgehubError).code).toBe('RULES_DIR_NOT_FOUND');
  });
});

describe('the JSON Schema for editors', () => {
  it('is current with the rule file schema', async () => {
    await expect(JSON.stringify(ruleFileJsonSchema(), null, 2) + '\n').toMatchFileSnapshot(
      '../../schemas/rules.schema.json',
    );
  });
});
