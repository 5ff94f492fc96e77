import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compileRuleFiles, type RuleLoadOptions } from '../language/loader.js';
import { FakeDevices } from '../../test/support/engine-rig.js';

/**
 * The catalogue of broken rule files: each fixture in this directory says in its first lines what
 * the loader must report — `# expect: CODE LINE:COL KEY.PATH`, `# message: words it contains` —
 * and, when the check needs the hub's view, `# devices: a, b` or `# hub location: none`.
 */
const DIR = fileURLToPath(new URL('./', import.meta.url));

interface Fixture {
  name: string;
  text: string;
  code: string;
  at: string;
  path: string;
  message: string;
  options: RuleLoadOptions;
}

function fixture(name: string): Fixture {
  const text = readFileSync(DIR + name, 'utf8');
  const header = (key: string) => new RegExp(`^# ${key}: (.*)$`, 'm').exec(text)?.[1]?.trim();
  const [code = '', at = '', path = ''] = (header('expect') ?? '').split(' ');
  const devices = header('devices');
  const options: RuleLoadOptions = {
    ...(devices !== undefined ? { devices: devices.split(',').map((d) => d.trim()) } : {}),
    ...(header('hub location') === 'none' ? { hasLocation: false } : {}),
  };
  return { name, text, code, at, path, message: header('message') ?? '', options };
}

const fixtures = readdirSync(DIR)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .map(fixture);

describe('the catalogue of broken rule files', () => {
  it('holds at least 20 distinct mistakes', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(20);
    expect(new Set(fixtures.map((f) => `${f.code} ${f.path} ${f.message}`)).size).toBe(fixtures.length);
  });

  it.each(fixtures.map((f) => [f.name, f] as const))('%s', (name, f) => {
    const result = compileRuleFiles([{ file: name, text: f.text }], f.options);
    expect(result.ok).toBe(false);
    const errors = result.ok ? [] : result.errors;
    expect(errors.map((e) => `${e.code} ${e.location?.line}:${e.location?.col} ${e.location?.path}`)).toEqual(
      [`${f.code} ${f.at} ${f.path}`],
    );
    expect(errors[0]?.message).toContain(f.message);
    // The message leads with where: file:line:col (key path).
    expect(errors[0]?.message.startsWith(`${name}:${f.at} (${f.path}): `)).toBe(true);
  });

  it('a glob matching none of the declared devices is a warning, not an error', () => {
    const text = 'rules:\n  - id: g\n    when: { device: "shed-*", status: offline }\n    then: []\n';
    const result = compileRuleFiles([{ file: 'g.yaml', text }], { devices: ['gh-1', 'gh-2'] });
    expect(result.ok).toBe(true);
    const warnings = result.ok ? result.warnings : [];
    expect(warnings.map((w) => [w.code, w.location?.line, w.location?.col, w.location?.path])).toEqual([
      ['RULE_UNKNOWN_DEVICE', 3, 21, 'rules[0].when.device'],
    ]);
  });

  it('takes the declared devices as a directory too', () => {
    const text = 'rules:\n  - id: g\n    when: { device: gh-9, status: offline }\n    then: []\n';
    const directory = new FakeDevices();
    directory.setStatus('gh-1', 'online');
    const result = compileRuleFiles([{ file: 'g.yaml', text }], { devices: directory });
    expect(result.ok ? [] : result.errors.map((e) => e.code)).toEqual(['RULE_UNKNOWN_DEVICE']);
  });

  it('devices are not checked when the hub declares none (edgehub check, devices seen on topics)', () => {
    const text = 'rules:\n  - id: g\n    when: { device: anything, status: offline }\n    then: []\n';
    expect(compileRuleFiles([{ file: 'g.yaml', text }]).ok).toBe(true);
  });
});
