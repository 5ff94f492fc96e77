import {
  cpSync,
  lstatSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EdgehubError } from '../../kernel/index.js';
import { openEventPages, runBacktestCommand, type RuleActivity } from '../../rules/index.js';
import { eventsDbPath } from '../store/index.js';
import { FAN, HUMID, makeRig, T0, type Rig } from './rule-files-rig.js';
import { RulesInvalidError } from './rule-files.js';
import { writeFileAtomic } from './write-file-atomic.js';

const rigs: Rig[] = [];
afterEach(async () => {
  for (const rig of rigs.splice(0)) await rig.cleanup();
});

async function rig(options: Parameters<typeof makeRig>[0] = {}): Promise<Rig> {
  const made = await makeRig(options);
  rigs.push(made);
  return made;
}

async function codeOf(promise: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (err) {
    if (err instanceof EdgehubError) return err.code;
    throw err;
  }
  throw new Error('expected an EdgehubError');
}

/** The fan rule at 25 °C instead of 30, and a heater rule. */
const EDITED_FAN = `rules:
  - id: fan
    when: { mqtt: sensors/+device/temperature }
    if: payload.value > 25
    then: [{ publish: { topic: "actuators/{{ device }}/fan", payload: { on: true } } }]
  - id: heater
    when: { mqtt: sensors/+device/temperature }
    if: payload.value < 20
    then: [{ publish: { topic: "actuators/{{ device }}/heater", payload: { on: true } } }]
`;

describe('RuleFiles: reading', () => {
  it('lists the rule files with their sizes, times and rule ids, and reads one', async () => {
    const r = await rig({
      files: { 'fan.yaml': FAN, 'humid.yaml': HUMID, '_draft.yaml': FAN, 'notes.txt': 'x' },
    });
    const listed = await r.service.list();
    expect(listed.dir).toBe(r.rulesDir);
    expect(listed.files.map((f) => [f.name, f.size, f.rules])).toEqual([
      ['fan.yaml', Buffer.byteLength(FAN), ['fan']],
      ['humid.yaml', Buffer.byteLength(HUMID), ['humid']],
    ]);
    const file = await r.service.read('fan.yaml');
    expect(file).toEqual({
      name: 'fan.yaml',
      text: FAN,
      modifiedAt: Math.floor(statSync(join(r.rulesDir, 'fan.yaml')).mtimeMs),
    });
    expect(await codeOf(r.service.read('none.yaml'))).toBe('RULE_FILE_UNKNOWN');
  });

  it('refuses names that are not plain rule file names, before touching the disk', async () => {
    const r = await rig();
    writeFileSync(join(r.root, 'outside.yaml'), FAN);
    for (const name of [
      '../outside.yaml',
      'sub/fan.yaml',
      '/etc/passwd',
      '.hidden.yaml',
      '_draft.yaml',
      'fan.txt',
      '..yaml',
      '',
    ]) {
      expect(await codeOf(r.service.read(name)), name).toBe('RULE_FILE_NAME');
      expect(await codeOf(r.service.save(name, FAN)), name).toBe('RULE_FILE_NAME');
      expect(await codeOf(r.service.validate(name, FAN)), name).toBe('RULE_FILE_NAME');
      expect(await codeOf(() => r.service.versions(name)), name).toBe('RULE_FILE_NAME');
    }
    expect(readFileSync(join(r.root, 'outside.yaml'), 'utf8')).toBe(FAN);
  });

  it('answers RULES_DIR_NONE to everything when no rules directory is configured', async () => {
    const r = await rig({ noDir: true });
    expect(await codeOf(r.service.list())).toBe('RULES_DIR_NONE');
    expect(await codeOf(r.service.read('fan.yaml'))).toBe('RULES_DIR_NONE');
    expect(await codeOf(r.service.validate('fan.yaml', FAN))).toBe('RULES_DIR_NONE');
    expect(await codeOf(r.service.preview({ name: 'fan.yaml', text: FAN }))).toBe('RULES_DIR_NONE');
    expect(await codeOf(r.service.save('fan.yaml', FAN))).toBe('RULES_DIR_NONE');
    expect(await codeOf(() => r.service.versions('fan.yaml'))).toBe('RULES_DIR_NONE');
    expect(await codeOf(r.service.restore('fan.yaml', 1))).toBe('RULES_DIR_NONE');
  });
});

describe('RuleFiles: validation through the hub loader', () => {
  it('finds the line and column of an error, with the text edgehub check prints', async () => {
    const r = await rig();
    const text = FAN.replace('    if: payload.value > 30', '    iff: payload.value > 30');
    const result = await r.service.validate('fan.yaml', text);
    expect(result.ok).toBe(false);
    const problem = result.problems.find((p) => p.severity === 'error');
    expect(problem).toMatchObject({ file: 'fan.yaml', line: 4, col: 5, path: 'rules[0].iff' });
    expect(problem?.text.startsWith(`${join(r.rulesDir, 'fan.yaml')}:4:5 rules[0].iff: `)).toBe(true);
    // The file on disk is not what was validated.
    expect((await r.service.validate('fan.yaml', FAN)).ok).toBe(true);
  });

  it('reports an id that another file already uses, naming the file where it clashes', async () => {
    const r = await rig();
    // A new file sorting after fan.yaml: the clash is reported in it.
    const clash = await r.service.validate('later.yaml', FAN);
    expect(clash.ok).toBe(false);
    expect(clash.problems[0]).toMatchObject({ code: 'RULE_DUPLICATE_ID', file: 'later.yaml', line: 2 });
    // An edit of fan.yaml that takes humid.yaml's id: the clash is at humid.yaml's line.
    const taken = await r.service.validate('fan.yaml', FAN.replace('id: fan', 'id: humid'));
    expect(taken.problems[0]).toMatchObject({
      code: 'RULE_DUPLICATE_ID',
      file: 'humid.yaml',
      line: 2,
      col: 9,
    });
  });

  it("checks against the hub's declared devices, as the watcher does", async () => {
    const r = await rig({ load: { devices: ['gh-1'] } });
    const text = `rules:
  - id: cold
    when: { device: gh-9, metric: temperature, below: 5 }
    then: [{ log: cold }]
`;
    const result = await r.service.validate('cold.yaml', text);
    expect(result.ok).toBe(false);
    expect(result.problems[0]).toMatchObject({ file: 'cold.yaml', line: 3 });
  });

  it('warns of possible loops without refusing the edit', async () => {
    const r = await rig();
    const loop = `rules:
  - id: echo
    when: { mqtt: echo/+x }
    then: [{ publish: { topic: "echo/{{ x }}", payload: again } }]
`;
    const result = await r.service.validate('echo.yaml', loop);
    expect(result.ok).toBe(true);
    expect(result.problems).toEqual([
      expect.objectContaining({
        code: 'RULE_POSSIBLE_LOOP',
        severity: 'warning',
        file: 'echo.yaml',
        line: 4,
      }),
    ]);
  });
});

describe('RuleFiles: preview', () => {
  it('counts what edgehub backtest counts over the same window, and lists the firings', async () => {
    const r = await rig();
    const preview = await r.service.preview({ name: 'fan.yaml', text: EDITED_FAN });
    const until = r.clock.now();
    expect(preview).toMatchObject({ ok: true, since: until - 86_400_000, until });

    // The same edit as a directory, through the command line's back-test.
    const candidate = join(r.root, 'candidate');
    cpSync(r.rulesDir, candidate, { recursive: true });
    writeFileSync(join(candidate, 'fan.yaml'), EDITED_FAN);
    const pages = openEventPages(eventsDbPath(r.dataDir));
    const lines: string[] = [];
    try {
      await runBacktestCommand(
        {
          rulesDir: candidate,
          againstDir: r.rulesDir,
          history: pages,
          sinceMs: preview.since,
          untilMs: preview.until,
          json: true,
          wallClock: () => 0,
        },
        (line) => lines.push(line),
      );
    } finally {
      pages.close();
    }
    const cli = JSON.parse(lines.join('')) as { candidate: RuleActivity[]; inForce: RuleActivity[] };
    const fired = (a: RuleActivity[]) => a.reduce((n, x) => n + x.fired, 0);
    expect(preview.edited.fired).toBe(fired(cli.candidate));
    expect(preview.inForce.fired).toBe(fired(cli.inForce));
    // Edited: 27, 28 and 33 over 25, 12 under 20, humidity 85; in force: 33 over 30, humidity 85.
    expect(preview.edited).toMatchObject({ fired: 5, rules: 3 });
    expect(preview.inForce).toMatchObject({ fired: 2, rules: 2 });
    expect(preview.diff).toEqual({ added: ['heater'], removed: [], changed: ['fan'] });
    expect(preview.loops).toEqual([]);

    expect(preview.edited.firings.map((f) => [f.time - T0, f.ruleId, f.device])).toEqual([
      [60_000, 'fan', 'gh-1'],
      [60_000, 'fan', 'gh-2'],
      [120_000, 'fan', 'gh-1'],
      [180_000, 'humid', 'gh-1'],
      [240_000, 'heater', 'gh-1'],
    ]);
    expect(preview.edited.firings[0]).toEqual({
      time: T0 + 60_000,
      ruleId: 'fan',
      topic: 'sensors/gh-1/temperature',
      device: 'gh-1',
      readings: { value: 27 },
      actions: ['publish actuators/gh-1/fan {"on":true}'],
    });
    expect(preview.edited.firings[4]?.readings).toEqual({ value: 12 });
  });

  it('takes a range as epoch ms or ISO time, and says when the edit does not load', async () => {
    const r = await rig();
    const ranged = await r.service.preview({
      name: 'fan.yaml',
      text: EDITED_FAN,
      since: T0 + 60_000,
      until: new Date(T0 + 60_000).toISOString(),
    });
    expect(ranged.edited.fired).toBe(2);
    const broken = await r.service.preview({ name: 'fan.yaml', text: 'rules: [' });
    expect(broken.ok).toBe(false);
    expect(broken.problems[0]).toMatchObject({ severity: 'error', file: 'fan.yaml' });
    expect(broken.edited.fired).toBe(0);
    expect(await codeOf(r.service.preview({ name: 'fan.yaml', text: FAN, since: 'yesterday-ish' }))).toBe(
      'HTTP_BAD_REQUEST',
    );
  });

  it('counts the firings past the list bound', async () => {
    const history = Array.from({ length: 30 }, (_, i) => ({
      at: i * 1000,
      topic: 'sensors/gh-1/temperature',
      payload: { value: 40 },
    }));
    const r = await rig({ history, firingsListed: 10 });
    const preview = await r.service.preview({ name: 'fan.yaml', text: FAN });
    expect(preview.edited.fired).toBe(30);
    expect(preview.edited.firings).toHaveLength(10);
  });
});

describe('RuleFiles: saving', () => {
  it('writes by renaming a complete file over the old one and keeps the text it replaced', async () => {
    const r = await rig();
    const file = join(r.rulesDir, 'fan.yaml');
    const before = statSync(file);
    const { modifiedAt } = await r.service.read('fan.yaml');
    const saved = await r.service.save('fan.yaml', EDITED_FAN, modifiedAt);
    expect(saved).toMatchObject({ saved: true, name: 'fan.yaml', version: 1 });
    expect(readFileSync(file, 'utf8')).toBe(EDITED_FAN);
    // A new inode: the old file was replaced whole, not written over in place.
    expect(statSync(file).ino).not.toBe(before.ino);
    expect(saved.modifiedAt).toBe(Math.floor(statSync(file).mtimeMs));
    // No temporary file left behind.
    expect(readdirSync(r.rulesDir).sort()).toEqual(['fan.yaml', 'humid.yaml']);
    const { versions } = r.service.versions('fan.yaml');
    expect(versions).toEqual([
      { version: 1, savedAt: modifiedAt, replacedAt: r.clock.now(), size: Buffer.byteLength(FAN) },
    ]);
    expect(r.service.version('fan.yaml', 1).text).toBe(FAN);
  });

  it('creates a new file without a version', async () => {
    const r = await rig();
    const saved = await r.service.save('heater.yaml', EDITED_FAN.replace(/fan/g, 'fan2'));
    expect(saved.version).toBeNull();
    expect(r.service.versions('heater.yaml').versions).toEqual([]);
    expect((await r.service.list()).files.map((f) => f.name)).toEqual([
      'fan.yaml',
      'heater.yaml',
      'humid.yaml',
    ]);
  });

  it('refuses an edit the directory would not load with, writing nothing', async () => {
    const r = await rig();
    const file = join(r.rulesDir, 'fan.yaml');
    const ino = statSync(file).ino;
    let refused: unknown;
    try {
      await r.service.save('fan.yaml', FAN.replace('id: fan', 'id: humid'));
    } catch (err) {
      refused = err;
    }
    expect(refused).toBeInstanceOf(RulesInvalidError);
    expect((refused as RulesInvalidError).code).toBe('RULES_INVALID');
    expect((refused as RulesInvalidError).problems[0]).toMatchObject({
      code: 'RULE_DUPLICATE_ID',
      file: 'humid.yaml',
    });
    expect(readFileSync(file, 'utf8')).toBe(FAN);
    expect(statSync(file).ino).toBe(ino);
    expect(r.service.versions('fan.yaml').versions).toEqual([]);
  });

  it('refuses a save whose base is stale', async () => {
    const r = await rig();
    const { modifiedAt } = await r.service.read('fan.yaml');
    // Someone else saves meanwhile (an editor on the Pi), a second later.
    const file = join(r.rulesDir, 'fan.yaml');
    writeFileSync(file, FAN.replace('> 30', '> 31'));
    const later = new Date(modifiedAt + 1000);
    utimesSync(file, later, later);
    expect(await codeOf(r.service.save('fan.yaml', EDITED_FAN, modifiedAt))).toBe('RULE_FILE_CHANGED');
    expect(readFileSync(file, 'utf8')).toBe(FAN.replace('> 30', '> 31'));
    // A file removed since the edit began is stale too.
    expect(await codeOf(r.service.save('gone.yaml', EDITED_FAN, modifiedAt))).toBe('RULE_FILE_CHANGED');
  });

  it('restores a kept version, keeping the text it replaces in turn', async () => {
    const r = await rig();
    await r.service.save('fan.yaml', EDITED_FAN);
    const restored = await r.service.restore('fan.yaml', 1);
    expect(restored).toMatchObject({ saved: true, version: 2 });
    expect(readFileSync(join(r.rulesDir, 'fan.yaml'), 'utf8')).toBe(FAN);
    expect(r.service.versions('fan.yaml').versions.map((v) => v.version)).toEqual([2, 1]);
    expect(r.service.version('fan.yaml', 2).text).toBe(EDITED_FAN);
    expect(await codeOf(r.service.restore('fan.yaml', 9))).toBe('RULE_FILE_UNKNOWN');
  });

  it('keeps a bounded number of versions per file', async () => {
    const r = await rig({ keep: 3 });
    for (let i = 0; i < 5; i++) await r.service.save('fan.yaml', FAN.replace('> 30', `> ${40 + i}`));
    expect(r.service.versions('fan.yaml').versions.map((v) => v.version)).toEqual([5, 4, 3]);
    expect(r.service.version('fan.yaml', 3).text).toBe(FAN.replace('> 30', '> 41'));
    expect(await codeOf(() => r.service.version('fan.yaml', 1))).toBe('RULE_FILE_UNKNOWN');
  });

  it('saves an unchanged text without a new version', async () => {
    const r = await rig();
    const saved = await r.service.save('fan.yaml', FAN);
    expect(saved.version).toBeNull();
    expect(r.service.versions('fan.yaml').versions).toEqual([]);
  });
});

describe('writeFileAtomic', () => {
  it('replaces the target of a symlinked rule file and keeps the link', async () => {
    const r = await rig();
    const elsewhere = join(r.root, 'shared.yaml');
    writeFileSync(elsewhere, FAN);
    rmSync(join(r.rulesDir, 'fan.yaml'));
    symlinkSync(elsewhere, join(r.rulesDir, 'fan.yaml'));
    await writeFileAtomic(join(r.rulesDir, 'fan.yaml'), EDITED_FAN);
    expect(lstatSync(join(r.rulesDir, 'fan.yaml')).isSymbolicLink()).toBe(true);
    expect(readFileSync(elsewhere, 'utf8')).toBe(EDITED_FAN);
    // No temporary file left beside the target.
    expect(readdirSync(r.root).sort()).toEqual(['data', 'rules', 'shared.yaml']);
  });
});
