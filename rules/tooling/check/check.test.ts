import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TempDirs, writeFiles } from '../../../test/support/temp.js';
import { EXAMPLE_RULES_DIR } from '../../examples/examples-dir.js';
import { checkRules, runCheckCommand } from './check.js';

const temp = new TempDirs();
afterEach(() => temp.cleanup());

describe('edgehub check', () => {
  it('prints file:line:col key.path: message lines and fails', () => {
    const dir = temp.make('edgehub-rules-');
    writeFiles(dir, {
      'ok.yaml': 'rules:\n  - id: ok\n    when:\n      mqtt: a/b\n    then:\n      - log: hi\n',
      'bad.yaml': 'rules:\n  - id: bad\n    when:\n      mqtt: a/b\n    then:\n      - lgo: hi\n',
    });
    const lines: string[] = [];
    expect(runCheckCommand(dir, (l) => lines.push(l))).toBe(1);
    expect(lines[0]).toBe(
      `${join(dir, 'bad.yaml')}:6:9 rules[0].then[0].lgo: unknown key "lgo"; did you mean "log"? known keys here: publish, log, command, alert, clear_alert, http, delay, wait, choose, default, set, forward, notify`,
    );
    expect(lines.at(-1)).toBe(`${dir}: 1 error; the hub would not load this directory`);
  });

  it('passes the example rules', () => {
    const lines: string[] = [];
    expect(runCheckCommand(EXAMPLE_RULES_DIR, (l) => lines.push(l))).toBe(0);
    expect(lines).toEqual([`${EXAMPLE_RULES_DIR}: 8 rules in 2 files, all valid`]);
    expect(checkRules(EXAMPLE_RULES_DIR)).toMatchObject({ ok: true, ruleCount: 8, errors: [] });
  });

  it('reports a missing directory', () => {
    const lines: string[] = [];
    expect(runCheckCommand(join(tmpdir(), 'edgehub-no-such-dir'), (l) => lines.push(l))).toBe(1);
    expect(checkRules(join(tmpdir(), 'edgehub-no-such-dir')).errors[0]?.code).toBe('RULES_DIR_NOT_FOUND');
  });
});
