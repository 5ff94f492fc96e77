import { describe, expect, it } from 'vitest';
import { EngineRig } from '../../test/support/engine-rig.js';

/** A rule on `in` whose `if` is `cond`; the run's outcome says whether it held. */
const withIf = (cond: string) => `rules:
  - id: c
    when: { mqtt: in }
    if:
${cond
  .trim()
  .split('\n')
  .map((l) => `      ${l}`)
  .join('\n')}
    then: []
`;

async function holds(rig: EngineRig, payload: string | object = '{}'): Promise<boolean> {
  const before = rig.runs.length;
  await rig.send('in', payload);
  return rig.runs[before]?.outcome === 'fired';
}

describe('conditions: all / any / not', () => {
  it('nests and reports each value in the trace', async () => {
    const rig = new EngineRig(
      withIf(`
- all:
    - payload.a > 1
    - any: [payload.b == "x", payload.c]
- not: payload.d`),
    );
    expect(await holds(rig, { a: 2, b: 'x' })).toBe(true);
    expect(await holds(rig, { a: 2, b: 'y', c: true })).toBe(true);
    expect(await holds(rig, { a: 2, b: 'y' })).toBe(false);
    expect(await holds(rig, { a: 2, b: 'x', d: 1 })).toBe(false);
    expect(rig.runs[0]?.conditions).toEqual([
      {
        expression: 'all(payload.a > 1, any(payload.b == "x", payload.c))',
        value: true,
        held: true,
        children: [
          { expression: 'payload.a > 1', value: true, held: true },
          {
            expression: 'any(payload.b == "x", payload.c)',
            value: true,
            held: true,
            children: [
              { expression: 'payload.b == "x"', value: true, held: true },
              { expression: 'payload.c', value: null, held: false },
            ],
          },
        ],
      },
      {
        expression: 'not(payload.d)',
        value: true,
        held: true,
        children: [{ expression: 'payload.d', value: null, held: false }],
      },
    ]);
  });
});

describe('conditions: time windows in the hub time zone', () => {
  const at = (iso: string) => Date.parse(iso);

  it('a window spanning midnight', async () => {
    const rig = new EngineRig(withIf('time: { after: "22:00", before: "06:00" }'), {
      start: at('2024-03-04T21:59:59Z'),
    });
    expect(await holds(rig)).toBe(false);
    await rig.advance(1000); // 22:00:00, inclusive
    expect(await holds(rig)).toBe(true);
    await rig.advance(4 * 3_600_000); // 02:00
    expect(await holds(rig)).toBe(true);
    await rig.advance(4 * 3_600_000 - 1000); // 05:59:59
    expect(await holds(rig)).toBe(true);
    await rig.advance(1000); // 06:00, exclusive
    expect(await holds(rig)).toBe(false);
  });

  it('a window within one day, after only, before only', async () => {
    const rig = new EngineRig(
      `rules:
  - id: day
    when: { mqtt: in }
    if: { time: { after: "08:00", before: "18:00" } }
    then: []
  - id: late
    when: { mqtt: in }
    if: { time: { after: "20:00" } }
    then: []
  - id: early
    when: { mqtt: in }
    if: { time: { before: "07:00" } }
    then: []
`,
      { start: at('2024-03-04T12:00:00Z') },
    );
    await rig.send('in', '1');
    rig.clock.advance(9 * 3_600_000); // 21:00
    await rig.send('in', '1');
    expect(rig.fired().map((r) => r.ruleId)).toEqual(['day', 'late']);
  });

  it('weekdays, read in the hub time zone (Monday 00:30 in Berlin is Sunday in UTC)', async () => {
    const rule = withIf('time: { weekdays: [mon, tue] }');
    const berlin = new EngineRig(rule, { start: at('2024-03-03T23:30:00Z'), timezone: 'Europe/Berlin' });
    const utc = new EngineRig(rule, { start: at('2024-03-03T23:30:00Z'), timezone: 'UTC' });
    expect(await holds(berlin)).toBe(true);
    expect(await holds(utc)).toBe(false);
  });

  it('after / before in the hub time zone across a daylight saving change', async () => {
    // 2024-03-31: Berlin moves from UTC+1 to UTC+2. 07:30 local is 05:30 UTC that day.
    const rig = new EngineRig(withIf('time: { after: "07:30", before: "08:00" }'), {
      start: at('2024-03-31T05:29:00Z'),
      timezone: 'Europe/Berlin',
    });
    expect(await holds(rig)).toBe(false);
    await rig.advance(60_000);
    expect(await holds(rig)).toBe(true);
  });
});

describe('conditions: device state from the registry', () => {
  it('above / below / is on the current value', async () => {
    const rig = new EngineRig(
      withIf(`
- device: gh-1
  metric: temperature
  above: 20
  below: 30
- device: gh-1
  metric: fan
  is: false`),
    );
    expect(await holds(rig)).toBe(false);
    rig.devices.set('gh-1', 'temperature', 25, 0);
    rig.devices.set('gh-1', 'fan', false, 0);
    expect(await holds(rig)).toBe(true);
    rig.devices.set('gh-1', 'temperature', 30, 0);
    expect(await holds(rig)).toBe(false);
    expect(rig.runs.at(-1)?.conditions.map((c) => [c.expression, c.value, c.held])).toEqual([
      ['device gh-1 temperature above 20 below 30', 30, false],
      ['device gh-1 fan is false', false, true],
    ]);
  });

  it('with for: the value must have held that long, followed from the readings', async () => {
    const rig = new EngineRig(withIf('device: gh-1\nmetric: moisture\nbelow: 20\nfor: 10m'));
    await rig.reading('gh-1', 'moisture', 15);
    await rig.advance(9 * 60_000);
    await rig.reading('gh-1', 'moisture', 14);
    expect(await holds(rig)).toBe(false);
    await rig.advance(60_000);
    expect(await holds(rig)).toBe(true);
    await rig.reading('gh-1', 'moisture', 25);
    await rig.reading('gh-1', 'moisture', 15);
    expect(await holds(rig)).toBe(false);
  });

  it('status: online, offline, stale or unknown', async () => {
    const rig = new EngineRig(withIf('status: { device: gh-1, is: online }'));
    expect(await holds(rig)).toBe(false);
    rig.devices.setStatus('gh-1', 'online');
    expect(await holds(rig)).toBe(true);
    const unknown = new EngineRig(withIf('status: { device: nobody, is: unknown }'));
    expect(await holds(unknown)).toBe(true);
  });
});

describe('expressions: device(ID)', () => {
  it('reads state, status and last_seen; a missing device or member is null', async () => {
    const rig = new EngineRig(`rules:
  - id: d
    when: { mqtt: in }
    if: device("gh-1").state.temperature > 30 && device("gh-1").status == "online"
    then:
      - log: "{{ device('gh-1').last_seen }} {{ device('nope').state.x }} {{ device(payload).status }} {{ device('gh-1').state.__proto__ }}"
`);
    rig.devices.set('gh-1', 'temperature', 31, 1234);
    rig.devices.setStatus('gh-1', 'online');
    await rig.send('in', '"gh-1"');
    expect(rig.logs('info')).toEqual(['1234  online ']);
  });
});

describe('else', () => {
  it('runs when a trigger fired but if did not hold', async () => {
    const rig = new EngineRig(`rules:
  - id: e
    when: { mqtt: in }
    if: payload > 1
    then: [{ log: yes }]
    else: [{ log: no }]
`);
    await rig.send('in', '0');
    await rig.send('in', '2');
    expect(rig.logs('info')).toEqual(['no', 'yes']);
    expect(rig.runs.map((r) => [r.outcome, r.reason, r.branch])).toEqual([
      ['blocked', 'condition', 'else'],
      ['fired', null, 'then'],
    ]);
  });
});
