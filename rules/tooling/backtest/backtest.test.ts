import { describe, expect, it } from 'vitest';
import { compileRuleFiles } from '../../language/loader.js';
import type { RuleSet } from '../../language/rule.js';
import { backtest } from './backtest.js';
import { formatBacktest } from './backtest-command.js';
import type { EventPages, RecordedEvent } from './event-pages.js';

const T0 = Date.UTC(2026, 2, 1, 8);

function rules(text: string): RuleSet {
  const result = compileRuleFiles([{ file: 'r.yaml', text }]);
  if (!result.ok) throw new Error(result.errors.map((e) => e.message).join('\n'));
  return result.set;
}

/** Recorded events in memory, paged as the event store pages them. */
function pages(events: readonly RecordedEvent[]): EventPages {
  return {
    next: (after, until, limit) =>
      events
        .filter((e) => (e.time > after.time || (e.time === after.time && e.id > after.id)) && e.time <= until)
        .slice(0, limit),
  };
}

function reading(id: number, device: string, value: number): RecordedEvent {
  const time = T0 + id * 60_000;
  return {
    id,
    time,
    topic: `sensors/${device}/temperature`,
    payload: Buffer.from(JSON.stringify({ value })),
    qos: 0,
    retain: false,
    clientId: device,
    receivedAt: time,
  };
}

const HISTORY = [reading(1, 'gh-1', 31), reading(2, 'gh-1', 20), reading(3, 'gh-2', 33)];

const PUBLISHING = rules(`rules:
  - id: hot
    when: { mqtt: sensors/+device/temperature }
    if: payload.value > 30
    then: [{ publish: { topic: "alerts/{{ device }}", payload: hot } }]
`);

const FORWARDING = rules(`rules:
  - id: hot
    when: { mqtt: sensors/+device/temperature }
    if: payload.value > 30
    then:
      - publish: { topic: "alerts/{{ device }}", payload: hot }
      - forward: { to: cloud, destination: "hot.{{ device }}", payload: "{{ payload.value }}" }
`);

describe('backtest and forward', () => {
  it('counts forwards per rule, calls no connector, and reports them as a difference', async () => {
    const result = await backtest({
      candidate: FORWARDING,
      inForce: PUBLISHING,
      history: pages(HISTORY),
      sinceMs: T0,
      untilMs: T0 + 3_600_000,
    });
    expect(result.candidate).toEqual([
      {
        id: 'hot',
        fired: 2,
        blocked: 1,
        errors: 0,
        publishes: 2,
        commands: 0,
        alerts: 0,
        forwards: 2,
      },
    ]);
    expect(result.inForce?.[0]).toMatchObject({ fired: 2, forwards: 0 });
    expect(result.differences?.[0]).toMatchObject({ presence: 'changed', differently: 2 });
    expect(result.differences?.[0]?.examples[0]).toContain('forward cloud hot.gh-1 key gh-1 31');

    const lines = formatBacktest(result, {
      rulesDir: 'candidate',
      againstDir: 'in-force',
      sinceMs: T0,
      untilMs: T0 + 3_600_000,
      elapsedMs: 1,
    });
    expect(lines.slice(4, 6)).toEqual([
      'rule  fired  blocked  errors  publish  command  alert  forward  vs in force',
      'hot       2        1       0        2        0      0        2  2 differently (in force fired 2)',
    ]);
  });

  it('leaves the forward column out when no rule forwarded', async () => {
    const result = await backtest({
      candidate: PUBLISHING,
      history: pages(HISTORY),
      sinceMs: T0,
      untilMs: T0 + 3_600_000,
    });
    const lines = formatBacktest(result, {
      rulesDir: 'candidate',
      sinceMs: T0,
      untilMs: T0 + 3_600_000,
      elapsedMs: 1,
    });
    expect(lines.slice(4, 6)).toEqual([
      'rule  fired  blocked  errors  publish  command  alert',
      'hot       2        1       0        2        0      0',
    ]);
  });
});
