import { describe, expect, it } from 'vitest';
import { EdgehubError, MemoryLogger } from '../../kernel/index.js';
import { compileRuleFiles } from '../language/loader.js';
import type { RuleLoadOptions } from '../language/compile/context.js';
import type { Notification, Notifier, NotifyReceipt } from './actions.js';
import { RuleHarness } from '../tooling/scenario/harness.js';
import { EngineRig, ruleSet, T0 } from '../../test/support/engine-rig.js';

/** Records what rules ask to be sent; names listed in `fail` reject like an unknown notifier. */
class FakeNotifier implements Notifier {
  readonly sent: (Notification & { via: string })[] = [];
  constructor(private readonly fail: Readonly<Record<string, Error>> = {}) {}

  notify(via: string, notification: Notification): Promise<NotifyReceipt> {
    const err = this.fail[via];
    if (err) return Promise.reject(err);
    this.sent.push({ via, ...notification });
    return Promise.resolve({ id: this.sent.length, outcome: 'queued' });
  }
}

const HOT = `rules:
  - id: too-hot
    when: { mqtt: sensors/+device/temperature }
    if: payload.value > 30
    then:
      - notify:
          via: phone
          title: "{{ device }} is hot"
          message: "{{ device }} reads {{ payload.value }} °C"
          priority: high
      - log: told
`;

function errors(text: string, options: RuleLoadOptions = {}): EdgehubError[] {
  const result = compileRuleFiles([{ file: 'r.yaml', text }], options);
  return result.ok ? [] : [...result.errors];
}

describe('notify', () => {
  it('renders title and message, hands them to the notifier with the priority and source, and traces the delivery id', async () => {
    const notifier = new FakeNotifier();
    const rig = new EngineRig(HOT, { notifier });
    await rig.send('sensors/gh-1/temperature', { value: 31.5 });
    expect(notifier.sent).toEqual([
      {
        via: 'phone',
        title: 'gh-1 is hot',
        message: 'gh-1 reads 31.5 °C',
        priority: 'high',
        source: 'rule:too-hot',
        tags: [],
      },
    ]);
    const run = rig.runs[0];
    expect(run?.outcome).toBe('fired');
    expect(run?.actions.map((a) => [a.kind, a.ok])).toEqual([
      ['notify', true],
      ['log', true],
    ]);
    expect(run?.actions[0]?.detail).toBe('phone high "gh-1 is hot" queued as delivery 1');
  });

  it('defaults the title to the rule id and the priority to default', async () => {
    const notifier = new FakeNotifier();
    const rig = new EngineRig(
      `rules:
  - id: door
    when: { event: door.opened }
    then: [{ notify: { via: phone, message: "the door opened" } }]
`,
      { notifier },
    );
    await rig.event('door.opened');
    expect(notifier.sent[0]).toMatchObject({
      title: 'door',
      priority: 'default',
      message: 'the door opened',
    });
  });

  it('without notifiers, or with a rejecting one, the run fails naming the notifier', async () => {
    const none = new EngineRig(HOT);
    await none.send('sensors/gh-1/temperature', { value: 31 });
    expect(none.runs[0]?.outcome).toBe('error');
    expect(none.runs[0]?.error).toContain('no notifiers are configured');
    const failing = new FakeNotifier({ phone: new EdgehubError('NOTIFIER_UNKNOWN', 'no notifier "phone"') });
    const rig = new EngineRig(HOT, { notifier: failing });
    await rig.send('sensors/gh-1/temperature', { value: 31 });
    expect(rig.runs[0]?.error).toBe('notify failed: phone: no notifier "phone"');
    // The rest of the run depends on the notification, so it is skipped.
    expect(rig.runs[0]?.actions.map((a) => a.kind)).toEqual(['notify']);
  });

  it('fires in a scenario harness, which records instead of sending', async () => {
    const harness = new RuleHarness(ruleSet(HOT), { startMs: T0, logger: new MemoryLogger() });
    harness.inject({ topic: 'sensors/gh-2/temperature', payload: '{"value":35}' });
    await harness.settle();
    harness.inject({ topic: 'sensors/gh-2/temperature', payload: '{"value":20}' });
    await harness.settle();
    expect(harness.notifications).toEqual([
      {
        at: T0,
        via: 'phone',
        title: 'gh-2 is hot',
        message: 'gh-2 reads 35 °C',
        priority: 'high',
        source: 'rule:too-hot',
        tags: [],
      },
    ]);
  });
});

describe('notify when the file loads', () => {
  const file = (action: string): string => `rules:
  - id: n
    when: { mqtt: a/b }
    then:
      - notify: ${action}
`;

  it('with notifiers given, an unknown via: is NOTIFIER_UNKNOWN at file:line:col', () => {
    const text = file('{ via: phnoe, message: hi }');
    const [err, ...rest] = errors(text, { notifiers: ['phone', 'ops-mail'] });
    expect(rest).toEqual([]);
    expect(err?.code).toBe('NOTIFIER_UNKNOWN');
    expect(err?.location).toEqual({ file: 'r.yaml', line: 5, col: 24, path: 'rules[0].then[0].notify.via' });
    expect(err?.message).toContain('did you mean "phone"?');
    expect(errors(text, { notifiers: [] })[0]?.message).toContain('no notifiers configured');
    expect(errors(file('{ via: phone, message: hi }'), { notifiers: ['phone'] })).toEqual([]);
    // Without the option (`check` without a config) via: is not checked.
    expect(errors(text)).toEqual([]);
  });

  it('refuses a missing message, an unknown priority, a templated via: and a broken template', () => {
    const paths = (action: string): (string | undefined)[] =>
      errors(file(action)).map((e) => e.location?.path);
    expect(paths('{ via: phone }')).toEqual(['rules[0].then[0].notify.message']);
    expect(paths('{ via: phone, message: hi, priority: loud }')).toEqual([
      'rules[0].then[0].notify.priority',
    ]);
    expect(paths('{ via: "{{ x }}", message: hi }')).toEqual(['rules[0].then[0].notify.via']);
    const [err] = errors(file('{ via: phone, message: "{{ device" }'));
    expect(err?.code).toBe('RULE_TEMPLATE_INVALID');
  });
});
