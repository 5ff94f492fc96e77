import { describe, expect, it } from 'vitest';
import { compileRuleFiles } from '../../language/loader.js';
import type { RuleSet } from '../../language/rule.js';
import { loadScenario, runScenario } from './runner.js';

function rules(text: string): RuleSet {
  const result = compileRuleFiles([{ file: 'r.yaml', text }]);
  if (!result.ok) throw new Error(result.errors.map((e) => e.message).join('\n'));
  return result.set;
}

const FORWARDING = rules(`rules:
  - id: orders
    when: { mqtt: sensors/+device/temperature }
    if: payload.value > 30
    then:
      - forward:
          to: cloud
          destination: "orders.{{ device }}"
          payload: { temp: "{{ payload.value }}", seq: "{{ payload.seq }}" }
`);

function scenario(expect: string): string {
  return `scenario: hot readings go to the cloud
rules: .
steps:
  - publish: { topic: sensors/gh-1/temperature, payload: { value: 31.5, seq: 7 } }
  - at: 1m
    publish: { topic: sensors/gh-2/temperature, payload: { value: 20, seq: 8 } }
expect:
${expect}`;
}

async function run(expectations: string) {
  return runScenario(loadScenario('s.yaml', scenario(expectations)), FORWARDING);
}

describe('forward: expectations', () => {
  it('match what the rules forwarded: connector, destination, key and a partial payload', async () => {
    const result =
      await run(`  - forward: { to: cloud, destination: orders.gh-1, key: gh-1, payload: { temp: 31.5 } }
    within: 10s
    times: 1
  - forward: { to: cloud }
    times: 1
  - forward: { to: cloud, destination: orders.gh-2 }
    times: 0
`);
    expect(result.problems).toEqual([]);
    expect(result.expectations.map((e) => [e.ok, e.summary])).toEqual([
      [true, 'forward to cloud orders.gh-1 key "gh-1" {"temp":31.5} within 0s–10s, 1 time'],
      [true, 'forward to cloud from 0s, 1 time'],
      [true, 'forward to cloud orders.gh-2 from 0s, 0 times'],
    ]);
    expect(result.ok).toBe(true);
  });

  it('fail with the closest forward and what differed', async () => {
    const result = await run(`  - forward: { to: cloud, destination: orders.gh-1, payload: { temp: 99 } }
  - forward: { to: kafka, destination: orders.gh-1 }
`);
    expect(result.ok).toBe(false);
    const [payload, connector] = result.expectations;
    expect(payload?.ok).toBe(false);
    expect(payload?.details).toEqual([
      'expected at least 1, got 0',
      'closest: at 0s: cloud orders.gh-1 key gh-1 {"temp":31.5,"seq":7}',
      '  payload.temp: expected 99, got 31.5',
    ]);
    expect(connector?.details).toContain('  to: expected "kafka", got "cloud"');
    expect(connector?.location).toMatchObject({ file: 's.yaml', path: 'expect[1]' });
  });

  it('a forward expectation is refused when it names no connector', () => {
    expect(() => loadScenario('s.yaml', scenario('  - forward: { destination: orders.gh-1 }\n'))).toThrow(
      /s\.yaml:\d+:\d+.*to/,
    );
  });
});
