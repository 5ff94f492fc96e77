import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { configCheck, rulesCheck } from './config-checks.js';
import { FakeMachine } from './fake-doctor-env.js';

let machine: FakeMachine | undefined;
afterEach(() => machine?.cleanup());

const GOOD_RULE = 'rules:\n  - id: hello\n    when:\n      mqtt: sensors/#\n    then:\n      - log: hi\n';
const BAD_RULE =
  'rules:\n  - id: fan\n    when:\n      mqtt: sensors/#\n      for: 5 minutes\n    then:\n      - log: hot\n';

describe('config and rules checks', () => {
  it('passes the defaults without a file', () => {
    const { result, loaded } = configCheck(undefined);
    expect(result.status).toBe('OK');
    expect(rulesCheck(loaded!, undefined).status).toBe('OK');
  });

  it('fails an invalid config with its file:line:col', () => {
    machine = new FakeMachine();
    const file = machine.file('/edgehub.yaml', 'mqtt:\n  port: not-a-port\n');
    const { result, loaded } = configCheck(file);
    expect(result.status).toBe('FAIL');
    expect(result.message).toContain(`${file}:2:9`);
    expect(loaded).toBeUndefined();
    expect(configCheck(join(machine.root, 'missing.yaml')).result.status).toBe('FAIL');
  });

  it("loads the config's rules with the hub's loader, failing a broken rule at its file:line:col", () => {
    machine = new FakeMachine();
    const rules = join(machine.root, 'rules');
    mkdirSync(rules);
    writeFileSync(join(rules, 'good.yaml'), GOOD_RULE);
    const file = machine.file('/edgehub.yaml', `hub:\n  rules_dir: ${rules}\n`);
    const { loaded } = configCheck(file);
    expect(rulesCheck(loaded!, file).status).toBe('OK');
    writeFileSync(join(rules, 'bad.yaml'), BAD_RULE);
    const broken = rulesCheck(loaded!, file);
    expect(broken.status).toBe('FAIL');
    expect(broken.message).toMatch(new RegExp(`^${join(rules, 'bad.yaml')}:\\d+:\\d+`));
  });

  it('fails a rule naming a device the config does not declare, as the hub would', () => {
    machine = new FakeMachine();
    const rules = join(machine.root, 'rules');
    mkdirSync(rules);
    writeFileSync(
      join(rules, 'r.yaml'),
      'rules:\n  - id: r\n    when:\n      device: nope\n      metric: t\n      above: 1\n    then:\n      - log: x\n',
    );
    const file = machine.file('/edgehub.yaml', `hub:\n  rules_dir: ${rules}\ndevices:\n  - id: gh-1\n`);
    expect(rulesCheck(configCheck(file).loaded!, file).status).toBe('FAIL');
  });
});
