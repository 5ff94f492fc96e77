import { describe, expect, it } from 'vitest';
import { EngineRig, T0 } from '../../test/support/engine-rig.js';

const rule = (when: string, extra = '') => `rules:
  - id: r
    when:
${when
  .trim()
  .split('\n')
  .map((l) => `      ${l}`)
  .join('\n')}
${extra}    then:
      - log: "fired {{ trigger.key }} {{ payload.value }}"
`;

describe('device triggers: above / below cross into the range', () => {
  it('fires on the crossing, not on every reading inside the range, per device', async () => {
    const rig = new EngineRig(rule('device: gh-1\nmetric: temperature\nabove: 30'));
    await rig.readings('gh-1', 'temperature', [25, 31, 32, 33, 29, 31]);
    expect(rig.logs('info')).toEqual(['fired gh-1 31', 'fired gh-1 31']);
  });

  it('a value exactly at the threshold is not above it, and re-arms without hysteresis', async () => {
    const rig = new EngineRig(rule('device: gh-1\nmetric: temperature\nabove: 30'));
    await rig.readings('gh-1', 'temperature', [30, 30.1, 30, 30.5]);
    expect(rig.logs('info')).toEqual(['fired gh-1 30.1', 'fired gh-1 30.5']);
  });

  it('below: fires when the value drops under the threshold; exactly at it is not below', async () => {
    const rig = new EngineRig(rule('device: gh-1\nmetric: moisture\nbelow: 20'));
    await rig.readings('gh-1', 'moisture', [25, 20, 19.9, 15, 21, 19]);
    expect(rig.logs('info')).toEqual(['fired gh-1 19.9', 'fired gh-1 19']);
  });

  it('the first reading a rule sees inside the range counts as a crossing', async () => {
    const rig = new EngineRig(rule('device: gh-1\nmetric: temperature\nabove: 30'));
    await rig.readings('gh-1', 'temperature', [35, 36]);
    expect(rig.logs('info')).toEqual(['fired gh-1 35']);
  });

  it('above and below together: fires when the value enters the band between them', async () => {
    const rig = new EngineRig(rule('device: gh-1\nmetric: temperature\nabove: 18\nbelow: 25'));
    await rig.readings('gh-1', 'temperature', [10, 20, 22, 26, 24, 17, 19]);
    expect(rig.logs('info')).toEqual(['fired gh-1 20', 'fired gh-1 24', 'fired gh-1 19']);
  });

  it('hysteresis: re-arms only once the value is below X − h (strictly)', async () => {
    const rig = new EngineRig(rule('device: gh-1\nmetric: temperature\nabove: 30\nhysteresis: 2'));
    // 29 and 28 are inside the hysteresis band (28 exactly is not below 28), so 31 does not fire again.
    await rig.readings('gh-1', 'temperature', [31, 29, 28, 31, 27.9, 31]);
    expect(rig.logs('info')).toEqual(['fired gh-1 31', 'fired gh-1 31']);
    expect(rig.fired().map((r) => r.startedAt - T0)).toEqual([0, 5000]);
  });

  it('hysteresis on below: re-arms once the value is above X + h', async () => {
    const rig = new EngineRig(rule('device: gh-1\nmetric: moisture\nbelow: 20\nhysteresis: 5'));
    await rig.readings('gh-1', 'moisture', [19, 24, 18, 25.5, 18]);
    expect(rig.fired().map((r) => r.trigger.payload)).toMatchObject([{ value: 19 }, { value: 18 }]);
  });

  it('keeps the state per device, and a glob matches several devices', async () => {
    const rig = new EngineRig(rule('device: gh-*\nmetric: temperature\nabove: 30'));
    await rig.reading('gh-1', 'temperature', 31);
    await rig.reading('gh-2', 'temperature', 31);
    await rig.reading('gh-1', 'temperature', 32);
    await rig.reading('shed-1', 'temperature', 40);
    expect(rig.logs('info')).toEqual(['fired gh-1 31', 'fired gh-2 31']);
  });

  it('ignores other metrics and non-numeric values', async () => {
    const rig = new EngineRig(rule('device: gh-1\nmetric: temperature\nabove: 30'));
    await rig.reading('gh-1', 'humidity', 90);
    await rig.reading('gh-1', 'temperature', 'hot');
    await rig.reading('gh-1', 'temperature', null);
    expect(rig.runs).toEqual([]);
  });

  it('gives the reading to expressions as payload and the device and metric as names', async () => {
    const rig = new EngineRig(`rules:
  - id: r
    when: { device: gh-1, metric: temperature, above: 30, id: hot }
    then:
      - log: "{{ device }} {{ metric }} {{ payload.value }} was {{ payload.previous }} {{ trigger.id }} {{ trigger.kind }}"
`);
    await rig.readings('gh-1', 'temperature', [20, 31]);
    expect(rig.logs('info')).toEqual(['gh-1 temperature 31 was 20 hot reading']);
  });
});

describe('device triggers: changes', () => {
  it('fires when the value changes, not on the first value or a repeat', async () => {
    const rig = new EngineRig(rule('device: gh-1\nmetric: fan\nchanges:'));
    await rig.readings('gh-1', 'fan', [false, false, true, true, false]);
    expect(rig.fired().map((r) => r.trigger.payload)).toMatchObject([
      { value: true, previous: false },
      { value: false, previous: true },
    ]);
  });

  it('from / to narrow it to one transition (beside changes: or inside it)', async () => {
    const beside = new EngineRig(rule('device: door\nmetric: state\nchanges: true\nfrom: closed\nto: open'));
    const inside = new EngineRig(rule('device: door\nmetric: state\nchanges: { to: open }'));
    for (const rig of [beside, inside]) {
      await rig.readings('door', 'state', ['closed', 'open', 'ajar', 'open', 'closed', 'open']);
    }
    expect(beside.fired()).toHaveLength(2);
    expect(inside.fired()).toHaveLength(3);
  });

  it('uses the registry’s previous value for the first reading the rule sees', async () => {
    const rig = new EngineRig(rule('device: gh-1\nmetric: fan\nchanges: { from: false, to: true }'));
    rig.devices.set('gh-1', 'fan', false, T0);
    await rig.reading('gh-1', 'fan', true);
    expect(rig.fired()).toHaveLength(1);
  });

  it('deadband: ignores changes smaller than the band from the last accepted value', async () => {
    const rig = new EngineRig(rule('device: gh-1\nmetric: temperature\nchanges:\ndeadband: 0.5'));
    await rig.readings('gh-1', 'temperature', [20, 20.2, 20.4, 20.5, 20.6, 21.1, 20.7]);
    // Accepted: 20, 20.5 (Δ0.5), 21.1 (Δ0.6); 20.2, 20.4, 20.6 and 20.7 are within the band.
    expect(rig.fired().map((r) => (r.trigger.payload as { value: number }).value)).toEqual([20.5, 21.1]);
  });

  it('deadband on a crossing trigger keeps noise around the threshold from re-arming it', async () => {
    const rig = new EngineRig(rule('device: gh-1\nmetric: temperature\nabove: 30\ndeadband: 1'));
    await rig.readings('gh-1', 'temperature', [30.2, 29.8, 30.3, 28.5, 30.1]);
    expect(rig.fired().map((r) => (r.trigger.payload as { value: number }).value)).toEqual([30.2, 30.1]);
  });
});

describe('device triggers: status', () => {
  it('fires when the device becomes offline, stale or online', async () => {
    const rig = new EngineRig(`rules:
  - id: off
    when: { device: gh-1, status: offline }
    then: [{ log: "off {{ payload.previous }}" }]
  - id: stale
    when: { device: "gh-*", status: stale }
    then: [{ log: "stale {{ device }}" }]
`);
    await rig.status('gh-1', 'online');
    await rig.status('gh-1', 'offline');
    await rig.status('gh-2', 'stale');
    await rig.status('gh-1', 'stale');
    expect(rig.logs('info')).toEqual(['off online', 'stale gh-2', 'stale gh-1']);
  });
});

describe('mqtt triggers', () => {
  it('captures named levels and matches an exact payload', async () => {
    const rig = new EngineRig(rule('mqtt: devices/+device/availability\npayload: offline'));
    await rig.send('devices/gh-1/availability', 'online');
    await rig.send('devices/gh-1/availability', 'offline');
    expect(rig.fired().map((r) => [r.key, r.trigger.captures])).toEqual([['gh-1', { device: 'gh-1' }]]);
  });
});

describe('event triggers', () => {
  it('fires on internal and posted events with their data as payload', async () => {
    const rig = new EngineRig(`rules:
  - id: started
    when: { event: hub.started }
    then: [{ log: "up at {{ payload.at }}" }]
  - id: button
    when: { event: button.pressed }
    then: [{ log: "{{ payload.name }} {{ trigger.key }}" }]
`);
    await rig.event('hub.started', { at: 5 });
    await rig.event('button.pressed', { name: 'water' });
    await rig.event('other', {});
    expect(rig.logs('info')).toEqual(['up at 5', 'water button.pressed']);
  });
});

describe('schedule triggers', () => {
  const DAY = 86_400_000;
  /** Monday 2024-03-04 00:00 UTC. */
  const MONDAY = Date.UTC(2024, 2, 4);

  it('cron: weekdays at 07:00 in the hub time zone', async () => {
    const rig = new EngineRig(rule('schedule: { cron: "0 7 * * 1-5" }'), {
      start: MONDAY,
      timezone: 'Europe/Berlin',
    });
    await rig.advance(7 * DAY, 3_600_000);
    // 07:00 in Berlin is 06:00 UTC in winter; Saturday and Sunday are skipped.
    expect(rig.fired().map((r) => new Date(r.startedAt).toISOString())).toEqual([
      '2024-03-04T06:00:00.000Z',
      '2024-03-05T06:00:00.000Z',
      '2024-03-06T06:00:00.000Z',
      '2024-03-07T06:00:00.000Z',
      '2024-03-08T06:00:00.000Z',
    ]);
    expect(rig.fired()[0]).toMatchObject({ key: 'schedule', trigger: { kind: 'schedule' } });
  });

  it('at: every day at a time of day', async () => {
    const rig = new EngineRig(rule('schedule: { at: "07:30" }'), {
      start: MONDAY,
      timezone: 'America/New_York',
    });
    await rig.advance(2 * DAY, 3_600_000);
    expect(rig.fired().map((r) => new Date(r.startedAt).toISOString())).toEqual([
      '2024-03-04T12:30:00.000Z',
      '2024-03-05T12:30:00.000Z',
    ]);
  });

  it('every: aligned to multiples of the period', async () => {
    const rig = new EngineRig(rule('schedule: { every: 5m }'), { start: MONDAY + 120_000 });
    await rig.advance(16 * 60_000, 60_000);
    expect(rig.fired().map((r) => (r.startedAt - MONDAY) / 60_000)).toEqual([5, 10, 15]);
  });

  it('sun: sunset with an offset at the hub location', async () => {
    const rig = new EngineRig(rule('schedule: { sun: sunset, offset: -15m }'), {
      start: Date.UTC(2024, 5, 21),
      location: { latitude: 52.5, longitude: 13.4 },
    });
    await rig.advance(DAY, 3_600_000);
    const at = rig.fired().map((r) => new Date(r.startedAt).toISOString());
    // Berlin, midsummer: sunset about 19:33 UTC, so 15 minutes before is about 19:18.
    expect(at).toHaveLength(1);
    expect(at[0]).toMatch(/^2024-06-21T19:1[78]/);
  });

  it('sun without a hub location logs an error and never fires', async () => {
    const rig = new EngineRig(rule('schedule: { sun: sunrise }'), { start: MONDAY });
    await rig.advance(2 * DAY, 3_600_000);
    expect(rig.fired()).toEqual([]);
    expect(rig.logs('error')[0]).toContain('needs hub.latitude and hub.longitude');
  });

  it('schedules stop with the engine', async () => {
    const rig = new EngineRig(rule('schedule: { every: 1m }'), { start: MONDAY });
    rig.engine.stop();
    await rig.advance(5 * 60_000, 60_000);
    expect(rig.fired()).toEqual([]);
    expect(rig.clock.pending()).toEqual([]);
  });
});
