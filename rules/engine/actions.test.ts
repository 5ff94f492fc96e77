import { describe, expect, it } from 'vitest';
import type { FetchLike } from './http.js';
import { EngineRig, FakeActuators, T0 } from '../../test/support/engine-rig.js';

describe('command', () => {
  const RULE = `rules:
  - id: fan
    when: { device: "gh-*", metric: temperature, above: 30 }
    then:
      - command: { device: "{{ device }}", set: { fan: true, speed: "{{ round(payload.value) }}" } }
      - log: sent
`;

  it('goes through the actuators port with the rule as origin', async () => {
    const actuators = new FakeActuators();
    const rig = new EngineRig(RULE, { actuators });
    await rig.reading('gh-1', 'temperature', 31.4);
    expect(actuators.commands).toEqual([
      { device: 'gh-1', set: { fan: true, speed: 31 }, origin: 'rule:fan' },
    ]);
    expect(rig.runs[0]?.actions.map((a) => [a.kind, a.at, a.ok])).toEqual([
      ['command', 'then[0]', true],
      ['log', 'then[1]', true],
    ]);
  });

  it('a refused command is an error traced with the reason; the rest of the run is skipped', async () => {
    const rig = new EngineRig(RULE, { actuators: new FakeActuators(['gh-1']) });
    await rig.reading('gh-1', 'temperature', 31);
    expect(rig.runs[0]).toMatchObject({
      outcome: 'error',
      error: expect.stringContaining('outside the safety envelope') as string,
    });
    expect(rig.logs('info')).toEqual([]);
  });

  it('without actuators the error says so', async () => {
    const rig = new EngineRig(RULE);
    await rig.reading('gh-1', 'temperature', 31);
    expect(rig.runs[0]?.error).toContain('no device adapters are configured');
  });
});

describe('alert and clear_alert', () => {
  const RULES = `rules:
  - id: hot
    when: { device: "gh-*", metric: temperature, above: 35 }
    then:
      - alert: { key: "hot/{{ device }}", severity: critical, message: "{{ device }} at {{ payload.value }}" }
  - id: cool
    when: { device: "gh-*", metric: temperature, below: 30 }
    then:
      - clear_alert: { key: "hot/{{ device }}" }
  - id: told
    when: { event: alert.raised }
    then: [{ log: "alert {{ payload.key }} {{ payload.severity }}" }]
`;

  it('raises one record per key, publishes it retained, and emits alert.raised / alert.cleared', async () => {
    const rig = new EngineRig(RULES);
    await rig.readings('gh-1', 'temperature', [36, 20]);
    const alert = rig.engine.alerts.get('hot/gh-1');
    expect(alert).toMatchObject({
      key: 'hot/gh-1',
      severity: 'critical',
      message: 'gh-1 at 36',
      active: false,
      count: 1,
      source: 'hot',
      raisedAt: T0,
      clearedAt: T0 + 1000,
      acknowledgedAt: null,
    });
    const published = rig.publisher.sent.filter((m) => m.topic === 'edgehub/alerts/hot/gh-1');
    expect(published.map((m) => [m.retain, (JSON.parse(m.payload) as { active: boolean }).active])).toEqual([
      [true, true],
      [true, false],
    ]);
    expect(rig.events.map((e) => e.name)).toEqual(['alert.raised', 'alert.cleared']);
    expect(rig.logs('info')).toEqual(['alert hot/gh-1 critical']);
  });

  it('raising an active alert again only counts; after clearing it is a new alert', async () => {
    const rig = new EngineRig(RULES.replace('above: 35', 'above: 35, hysteresis: 0.1'));
    await rig.readings('gh-1', 'temperature', [36, 34, 36, 20, 36]);
    expect(rig.engine.alerts.get('hot/gh-1')).toMatchObject({ active: true, count: 1, raisedAt: T0 + 4000 });
    expect(rig.events.map((e) => e.name)).toEqual(['alert.raised', 'alert.cleared', 'alert.raised']);
    expect(
      rig.runs.find((r) => r.ruleId === 'hot' && r.startedAt === T0 + 2000)?.actions[0]?.detail,
    ).toContain('still active, raised 2 times');
  });

  it('acknowledge stamps the time and republishes; clearing an alert that is not active is a no-op', async () => {
    const rig = new EngineRig(RULES);
    await rig.reading('gh-1', 'temperature', 36);
    rig.clock.advance(5000);
    const acked = await rig.engine.acknowledgeAlert('hot/gh-1');
    expect(acked).toMatchObject({ active: true, acknowledgedAt: T0 + 5000 });
    expect(await rig.engine.acknowledgeAlert('nope')).toBeNull();
    await rig.reading('gh-2', 'temperature', 20);
    expect(rig.runs.at(-1)?.actions[0]?.detail).toBe('hot/gh-2 was not active');
  });

  it('a key that cannot be a topic is an error', async () => {
    const rig = new EngineRig(`rules:
  - id: a
    when: { mqtt: "in/+x" }
    then: [{ alert: { key: "{{ payload }}" } }]
`);
    await rig.send('in/a', 'bad+key');
    expect(rig.runs[0]?.error).toContain('may not contain + or #');
  });
});

/** A fetch that answers from a script: a status, `throw`, or `hang` (never answers). */
function scriptedFetch(script: (number | 'throw' | 'hang')[]) {
  const calls: { url: string; method: string; body: string | undefined; headers: Record<string, string> }[] =
    [];
  const fetch: FetchLike = (url, init) => {
    calls.push({ url, method: init.method, body: init.body, headers: init.headers });
    const step = script.shift() ?? 200;
    if (step === 'throw') return Promise.reject(new Error('ECONNREFUSED'));
    if (step === 'hang') return new Promise(() => undefined);
    return Promise.resolve({ status: step, text: () => Promise.resolve('') });
  };
  return { fetch, calls };
}

describe('http', () => {
  const RULE = `rules:
  - id: hook
    when: { mqtt: "alarm/+zone" }
    then:
      - http:
          url: "https://example.test/hook/{{ zone }}"
          headers: { x-zone: "{{ zone }}" }
          body: { zone: "{{ zone }}", level: "{{ payload }}" }
          timeout: 5s
          retries: 2
      - log: "done {{ zone }}"
`;

  it('sends the templated request as JSON', async () => {
    const { fetch, calls } = scriptedFetch([200]);
    const rig = new EngineRig(RULE, { fetch });
    await rig.send('alarm/north', '3');
    expect(calls).toEqual([
      {
        url: 'https://example.test/hook/north',
        method: 'POST',
        body: '{"zone":"north","level":3}',
        headers: { 'x-zone': 'north', 'content-type': 'application/json' },
      },
    ]);
    expect(rig.runs[0]?.actions[0]).toMatchObject({
      kind: 'http',
      ok: true,
      detail: 'POST https://example.test/hook/north → 200',
    });
  });

  it('retries failures with backoff on the clock, and times out a silent server', async () => {
    const { fetch, calls } = scriptedFetch(['throw', 'hang', 200]);
    const rig = new EngineRig(RULE, { fetch, http: { backoffMs: 1000 } });
    rig.engine.handle({
      topic: 'alarm/south',
      payload: Buffer.from('1'),
      qos: 0,
      retain: false,
      clientId: null,
      receivedAt: T0,
    });
    await rig.settle();
    await rig.advance(1000, 100); // first retry after 1 s
    expect(calls).toHaveLength(2);
    await rig.advance(5000, 100); // the second attempt times out after 5 s
    await rig.advance(2000, 100); // second retry after 2 s more
    expect(calls).toHaveLength(3);
    expect(rig.runs[0]?.actions[0]).toMatchObject({
      ok: true,
      detail: expect.stringContaining('after 3 attempts') as string,
    });
    expect(rig.logs('info')).toEqual(['done south']);
  });

  it('gives up after the retries, traced as an error; a 4xx is not retried', async () => {
    const failing = scriptedFetch([500, 503, 502]);
    const rig = new EngineRig(RULE, { fetch: failing.fetch, http: { backoffMs: 10 } });
    rig.engine.handle({
      topic: 'alarm/a',
      payload: Buffer.from('1'),
      qos: 0,
      retain: false,
      clientId: null,
      receivedAt: T0,
    });
    await rig.advance(100, 5);
    expect(failing.calls).toHaveLength(3);
    expect(rig.runs[0]).toMatchObject({ outcome: 'error' });
    expect(rig.runs[0]?.error).toContain('HTTP 502');

    const refused = scriptedFetch([404]);
    const rig2 = new EngineRig(RULE, { fetch: refused.fetch });
    await rig2.send('alarm/a', '1');
    expect(refused.calls).toHaveLength(1);
    expect(rig2.runs[0]?.error).toContain('HTTP 404');
  });

  it('a slow webhook does not hold up other rules', async () => {
    const { fetch } = scriptedFetch(['hang']);
    const rig = new EngineRig(
      RULE +
        `  - id: other
    when: { mqtt: "alarm/+zone" }
    then: [{ log: "other {{ zone }}" }]
`,
      { fetch },
    );
    rig.engine.handle({
      topic: 'alarm/x',
      payload: Buffer.from('1'),
      qos: 0,
      retain: false,
      clientId: null,
      receivedAt: T0,
    });
    await Promise.resolve();
    await new Promise((r) => setImmediate(r));
    expect(rig.logs('info')).toEqual(['other x']);
    rig.engine.stop();
  });
});

describe('delay, wait, choose, set, log', () => {
  it('delay waits on the hub clock', async () => {
    const rig = new EngineRig(`rules:
  - id: d
    when: { mqtt: in }
    then: [{ log: a }, { delay: 30s }, { log: b }]
`);
    await rig.send('in', '1');
    await rig.advance(29_999);
    expect(rig.logs('info')).toEqual(['a']);
    await rig.advance(1);
    expect(rig.logs('info')).toEqual(['a', 'b']);
    expect(rig.runs[0]).toMatchObject({ outcome: 'fired', startedAt: T0, finishedAt: T0 + 30_000 });
  });

  it('wait ends on its trigger (templated) or times out; wait.timed_out says which', async () => {
    const rig = new EngineRig(`rules:
  - id: w
    when: { mqtt: "cmd/+device" }
    then:
      - publish: { topic: "actuators/{{ device }}/fan", payload: on }
      - wait:
          trigger: { mqtt: "actuators/{{ device }}/fan/state", payload: on }
          timeout: 10s
      - choose:
          - if: wait.timed_out
            then: [{ log: "{{ device }} did not answer" }]
        default:
          - log: "{{ device }} answered {{ wait.payload }} on {{ wait.topic }}"
`);
    await rig.send('cmd/a', '1');
    await rig.send('cmd/b', '1');
    await rig.advance(2000);
    await rig.send('actuators/b/fan/state', 'off');
    await rig.send('actuators/b/fan/state', 'on');
    await rig.advance(10_000);
    expect(rig.logs('info')).toEqual(['b answered on on actuators/b/fan/state', 'a did not answer']);
  });

  it('wait on a device reading, a status and an event', async () => {
    const rig = new EngineRig(`rules:
  - id: w
    when: { event: start }
    then:
      - wait: { trigger: { device: gh-1, metric: temperature, below: 25 }, timeout: 1m }
      - log: "cool {{ wait.payload.value }}"
      - wait: { trigger: { device: gh-1, status: online }, timeout: 1m }
      - log: "online {{ wait.timed_out }}"
      - wait: { trigger: { event: "go.{{ payload.n }}" }, timeout: 1m }
      - log: "event {{ wait.payload }}"
`);
    await rig.event('start', { n: 7 });
    await rig.reading('gh-1', 'temperature', 27);
    await rig.reading('gh-1', 'temperature', 24);
    await rig.status('gh-1', 'online');
    await rig.event('go.6', 'no');
    await rig.event('go.7', 'yes');
    expect(rig.logs('info')).toEqual(['cool 24', 'online false', 'event yes']);
  });

  it('wait on a schedule ends at its next time, when that comes before the timeout', async () => {
    const rig = new EngineRig(
      `rules:
  - id: w
    when: { mqtt: in }
    then:
      - wait: { trigger: { schedule: { every: 1m } }, timeout: 90s }
      - log: "{{ wait.timed_out }} {{ wait.payload.at }}"
`,
      { start: 0 },
    );
    await rig.send('in', '1');
    await rig.advance(60_000);
    expect(rig.logs('info')).toEqual(['false 60000']);
  });

  it('choose runs the first branch that holds, else default; nested delays resume inside the branch', async () => {
    const rig = new EngineRig(`rules:
  - id: c
    mode: parallel
    when: { mqtt: in }
    then:
      - choose:
          - if: payload > 10
            then: [{ log: big }, { delay: 1s }, { log: big-after }]
          - if: [payload > 5, payload < 10]
            then: [{ log: mid }]
        default: [{ log: small }]
      - log: "end {{ payload }}"
`);
    await rig.send('in', '20');
    await rig.send('in', '7');
    await rig.send('in', '1');
    await rig.advance(1000);
    expect(rig.logs('info')).toEqual(['big', 'mid', 'end 7', 'small', 'end 1', 'big-after', 'end 20']);
    expect(rig.runs.find((r) => r.trigger.payload === 20)?.actions.map((a) => a.at)).toEqual([
      'then[0]',
      'then[0].choose[0].then[0]',
      'then[0].choose[0].then[1]',
      'then[0].choose[0].then[2]',
      'then[1]',
    ]);
  });

  it('set keeps rule variables, readable as vars.* at once and in later runs', async () => {
    const rig = new EngineRig(`rules:
  - id: count
    when: { mqtt: in }
    then:
      - set: { count: "(vars.count ?? 0) + 1", last: payload, fixed: 5 }
      - log: "{{ vars.count }} {{ vars.last }} {{ vars.fixed }}"
`);
    await rig.send('in', '"a"');
    await rig.send('in', '"b"');
    expect(rig.logs('info')).toEqual(['1 a 5', '2 b 5']);
  });
});
