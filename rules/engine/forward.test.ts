import { describe, expect, it } from 'vitest';
import { EdgehubError } from '../../kernel/index.js';
import { compileRuleFiles } from '../language/loader.js';
import type { ForwardMessage, Forwarder } from './actions.js';
import { EngineRig, ruleSet } from '../../test/support/engine-rig.js';

/** Records what rules forward; connectors listed in `fail` reject like a failing outbox. */
class FakeForwarder implements Forwarder {
  readonly sent: { connector: string; destination: string; key: string | null; payload: string }[] = [];
  constructor(private readonly fail: Readonly<Record<string, Error>> = {}) {}

  forward(connector: string, message: ForwardMessage): Promise<void> {
    const err = this.fail[connector];
    if (err) return Promise.reject(err);
    this.sent.push({
      connector,
      destination: message.destination,
      key: message.key,
      payload: message.payload.toString('utf8'),
    });
    return Promise.resolve();
  }
}

const ORDERS = `rules:
  - id: orders
    when: { mqtt: sensors/+device/temperature }
    then:
      - forward:
          to: cloud
          destination: "orders.{{ device }}"
          payload: { temp: "{{ payload.value }}", at: "{{ now }}", note: "t={{ payload.value }}" }
      - log: forwarded
`;

describe('forward', () => {
  it('renders destination and payload, sends the run key, calls the forwarder once, and traces it', async () => {
    const forwarder = new FakeForwarder();
    const rig = new EngineRig(ORDERS, { forwarder });
    const at = rig.clock.now();
    await rig.send('sensors/gh-1/temperature', { value: 21.5 });
    expect(forwarder.sent).toHaveLength(1);
    const sent = forwarder.sent[0];
    expect(sent).toMatchObject({ connector: 'cloud', destination: 'orders.gh-1', key: 'gh-1' });
    // A lone template keeps its type (a number); a map goes as JSON.
    expect(JSON.parse(sent?.payload ?? '')).toEqual({ temp: 21.5, at, note: 't=21.5' });
    const run = rig.runs[0];
    expect(run?.outcome).toBe('fired');
    expect(run?.actions.map((a) => [a.kind, a.at, a.ok])).toEqual([
      ['forward', 'then[0]', true],
      ['log', 'then[1]', true],
    ]);
    expect(run?.actions[0]?.detail).toMatch(/^cloud orders\.gh-1 key gh-1 \{"temp":21\.5/);
  });

  it('sends text as it is, a templated key:, and key: "" for none', async () => {
    const forwarder = new FakeForwarder();
    const rig = new EngineRig(
      `rules:
  - id: text
    when: { mqtt: sensors/+device/temperature }
    then:
      - forward: { to: cloud, destination: raw, key: "site1/{{ device }}", payload: "{{ device }} is {{ payload.value }}" }
      - forward: { to: cloud, destination: raw, key: "", payload: "{{ payload.value }}" }
`,
      { forwarder },
    );
    await rig.send('sensors/gh-2/temperature', { value: 30 });
    expect(forwarder.sent).toEqual([
      { connector: 'cloud', destination: 'raw', key: 'site1/gh-2', payload: 'gh-2 is 30' },
      { connector: 'cloud', destination: 'raw', key: null, payload: '30' },
    ]);
  });

  it('defaults the key to the device of a reading, and to none for an event or an uncaptured topic', async () => {
    const forwarder = new FakeForwarder();
    const rig = new EngineRig(
      `rules:
  - id: reading
    when: { device: "gh-*", metric: temperature, above: 30 }
    then: [{ forward: { to: cloud, destination: hot } }]
  - id: posted
    when: { event: doorbell }
    then: [{ forward: { to: cloud, destination: bell } }]
  - id: plain
    when: { mqtt: site/door }
    then: [{ forward: { to: cloud, destination: door } }]
  - id: keyed
    key: payload.zone
    when: { mqtt: site/zone }
    then: [{ forward: { to: cloud, destination: zone } }]
`,
      { forwarder },
    );
    await rig.reading('gh-3', 'temperature', 31);
    await rig.event('doorbell', { who: 'x' });
    await rig.send('site/door', 'open');
    await rig.send('site/zone', { zone: 'north' });
    expect(forwarder.sent.map((s) => [s.destination, s.key, s.payload])).toEqual([
      ['hot', 'gh-3', ''],
      ['bell', null, ''],
      ['door', null, ''],
      ['zone', 'north', ''],
    ]);
  });

  it('a rejection is an error of the run, traced with the connector and destination; the rest is skipped', async () => {
    const forwarder = new FakeForwarder({
      cloud: new EdgehubError('CONNECTOR_UNKNOWN', 'no connector "cloud"'),
    });
    const rig = new EngineRig(ORDERS, { forwarder });
    await rig.send('sensors/gh-1/temperature', { value: 21.5 });
    const run = rig.runs[0];
    expect(run?.outcome).toBe('error');
    expect(run?.error).toBe('forward failed: cloud orders.gh-1: no connector "cloud"');
    expect(run?.actions).toEqual([
      {
        kind: 'forward',
        at: 'then[0]',
        ok: false,
        detail: '',
        error: 'cloud orders.gh-1: no connector "cloud"',
      },
    ]);
    expect(rig.logs('info')).not.toContain('forwarded');
    expect(rig.engine.trace('orders')?.errors).toHaveLength(1);
  });

  it('a store failing is an error of the run like any other', async () => {
    const forwarder = new FakeForwarder({ cloud: new Error('SQLITE_FULL: database or disk is full') });
    const rig = new EngineRig(ORDERS, { forwarder });
    await rig.send('sensors/gh-1/temperature', { value: 1 });
    expect(rig.runs[0]?.error).toContain('SQLITE_FULL');
    // The next message runs again: a failed forward does not stop the rule.
    await rig.send('sensors/gh-1/temperature', { value: 2 });
    expect(rig.runs.map((r) => r.outcome)).toEqual(['error', 'error']);
  });

  it('without a forwarder the run fails with an error naming the connector', async () => {
    const rig = new EngineRig(ORDERS);
    await rig.send('sensors/gh-1/temperature', { value: 21.5 });
    expect(rig.runs[0]?.outcome).toBe('error');
    expect(rig.runs[0]?.error).toContain('no connectors are configured');
    expect(rig.runs[0]?.error).toContain('"cloud"');
  });

  it('an empty rendered destination is an error, and nothing is sent', async () => {
    const forwarder = new FakeForwarder();
    const rig = new EngineRig(
      `rules:
  - id: empty
    when: { mqtt: site/x }
    then: [{ forward: { to: cloud, destination: "{{ payload.where }}" } }]
`,
      { forwarder },
    );
    await rig.send('site/x', {});
    expect(rig.runs[0]?.error).toContain('the destination is empty');
    expect(forwarder.sent).toEqual([]);
  });
});

describe('forward when the file loads', () => {
  const file = (forward: string) => `rules:
  - id: f
    when: { mqtt: a/b }
    then:
      - forward: ${forward}
`;

  function errors(text: string, options: Parameters<typeof compileRuleFiles>[1] = {}) {
    const result = compileRuleFiles([{ file: 'r.yaml', text }], options);
    return result.ok ? [] : result.errors;
  }

  it('refuses a missing destination, located at the forward: map and named', () => {
    const [err, ...rest] = errors(file('{ to: cloud, payload: x }'));
    expect(rest).toEqual([]);
    expect(err?.code).toBe('RULE_INVALID');
    // At the map that lacks it (col 18, the `{`), with the missing key in the path.
    expect(err?.location).toEqual({
      file: 'r.yaml',
      line: 5,
      col: 18,
      path: 'rules[0].then[0].forward.destination',
    });
    expect(err?.message).toContain('missing required key "destination"');
  });

  it('refuses an empty destination and a to: that is not a connector id', () => {
    expect(errors(file('{ to: cloud, destination: "" }')).map((e) => e.location?.path)).toEqual([
      'rules[0].then[0].forward.destination',
    ]);
    expect(errors(file('{ to: "{{ x }}", destination: d }')).map((e) => e.location?.path)).toEqual([
      'rules[0].then[0].forward.to',
    ]);
  });

  it('refuses a broken template with its location', () => {
    const [err] = errors(file('{ to: cloud, destination: "orders.{{ device" }'));
    expect(err?.code).toBe('RULE_TEMPLATE_INVALID');
    expect(err?.location).toMatchObject({ line: 5, path: 'rules[0].then[0].forward.destination' });
  });

  it('with connectors: given, an unknown to: is CONNECTOR_UNKNOWN at file:line:col', () => {
    const text = file('{ to: clowd, destination: d }');
    const [err, ...rest] = errors(text, { connectors: ['cloud', 'kafka-main'] });
    expect(rest).toEqual([]);
    expect(err?.code).toBe('CONNECTOR_UNKNOWN');
    expect(err?.location).toEqual({ file: 'r.yaml', line: 5, col: 24, path: 'rules[0].then[0].forward.to' });
    expect(err?.message).toContain('did you mean "cloud"?');
    expect(errors(text, { connectors: [] })[0]?.message).toContain('no connectors configured');
    expect(errors(file('{ to: cloud, destination: d }'), { connectors: ['cloud'] })).toEqual([]);
    // Without the option (`check` without a config) to: is not checked.
    expect(errors(text)).toEqual([]);
  });

  it('finds a forward nested in choose', () => {
    const text = `rules:
  - id: f
    when: { mqtt: a/b }
    then:
      - choose:
          - if: payload == 1
            then: [{ forward: { to: nowhere, destination: d } }]
`;
    expect(errors(text, { connectors: ['cloud'] }).map((e) => [e.code, e.location?.path])).toEqual([
      ['CONNECTOR_UNKNOWN', 'rules[0].then[0].choose[0].then[0].forward.to'],
    ]);
    expect(ruleSet(text).rules[0]?.then[0]?.kind).toBe('choose');
  });
});
