import { describe, expect, it } from 'vitest';
import { EngineRig, T0 } from '../../test/support/engine-rig.js';

describe('for: the trigger must keep holding', () => {
  const HOT_FOR = `rules:
  - id: hot
    when: { device: gh-1, metric: temperature, above: 30, for: 5m }
    then: [{ log: "hot since {{ payload.value }}" }]
`;

  it('fires once the condition held for the whole duration', async () => {
    const rig = new EngineRig(HOT_FOR);
    await rig.reading('gh-1', 'temperature', 31);
    await rig.advance(299_999);
    expect(rig.fired()).toEqual([]);
    await rig.advance(1);
    expect(rig.fired().map((r) => r.startedAt - T0)).toEqual([300_000]);
    expect(rig.logs('info')).toEqual(['hot since 31']);
  });

  it('readings inside the range during the pending for neither restart nor shorten it', async () => {
    const rig = new EngineRig(HOT_FOR);
    await rig.reading('gh-1', 'temperature', 31);
    for (let i = 0; i < 4; i++) {
      await rig.advance(60_000);
      await rig.reading('gh-1', 'temperature', 32 + i);
    }
    await rig.advance(60_000);
    expect(rig.fired().map((r) => r.startedAt - T0)).toEqual([300_000]);
    expect(rig.clock.pending()).toEqual([]);
  });

  it('a reading that breaks the condition cancels the pending firing', async () => {
    const rig = new EngineRig(HOT_FOR);
    await rig.reading('gh-1', 'temperature', 31);
    await rig.advance(240_000);
    await rig.reading('gh-1', 'temperature', 29);
    await rig.advance(120_000);
    expect(rig.fired()).toEqual([]);
    // It crosses again, and this time holds.
    await rig.reading('gh-1', 'temperature', 31);
    await rig.advance(300_000);
    expect(rig.fired().map((r) => r.startedAt - T0)).toEqual([660_000]);
  });

  it('is per key: each device has its own pending for', async () => {
    const rig = new EngineRig(HOT_FOR.replace('device: gh-1', 'device: "gh-*"'));
    await rig.reading('gh-1', 'temperature', 31);
    await rig.advance(120_000);
    await rig.reading('gh-2', 'temperature', 31);
    await rig.reading('gh-1', 'temperature', 20);
    await rig.advance(300_000);
    expect(rig.fired().map((r) => [r.key, r.startedAt - T0])).toEqual([['gh-2', 420_000]]);
  });

  it('on a status trigger: offline for 10m', async () => {
    const rig = new EngineRig(`rules:
  - id: gone
    when: { device: gh-1, status: offline, for: 10m }
    then: [{ log: gone }]
`);
    await rig.status('gh-1', 'offline');
    await rig.advance(300_000);
    await rig.status('gh-1', 'online');
    await rig.status('gh-1', 'offline');
    await rig.advance(600_000);
    expect(rig.fired().map((r) => r.startedAt - T0)).toEqual([900_000]);
  });

  it('on an mqtt trigger with a payload: another payload on the key breaks it', async () => {
    const rig = new EngineRig(`rules:
  - id: door
    when: { mqtt: doors/+door/state, payload: open, for: 1m }
    then: [{ log: "{{ door }} left open" }]
`);
    await rig.send('doors/back/state', 'open');
    await rig.send('doors/front/state', 'open');
    await rig.advance(30_000);
    await rig.send('doors/back/state', 'closed');
    await rig.advance(60_000);
    expect(rig.logs('info')).toEqual(['front left open']);
  });

  it('a pending for that the registry no longer confirms when due does not fire', async () => {
    const rig = new EngineRig(HOT_FOR);
    await rig.reading('gh-1', 'temperature', 31);
    // The registry changed without the engine being told (as after a restart).
    rig.devices.set('gh-1', 'temperature', 25, T0 + 1);
    await rig.advance(300_000);
    expect(rig.fired()).toEqual([]);
  });
});

describe('debounce: trailing edge, the last input wins', () => {
  it('fires once inputs have been quiet for the duration, with the last one', async () => {
    const rig = new EngineRig(`rules:
  - id: settle
    when: { mqtt: "sensors/+device/level", debounce: 2s }
    then: [{ log: "{{ device }} settled at {{ payload }}" }]
`);
    for (const v of [1, 2, 3]) {
      await rig.send('sensors/tank/level', String(v));
      await rig.advance(1500);
    }
    expect(rig.fired()).toEqual([]);
    await rig.advance(500);
    expect(rig.logs('info')).toEqual(['tank settled at 3']);
    expect(rig.fired()[0]?.startedAt).toBe(T0 + 3 * 1500 - 1500 + 2000);
  });

  it('keeps a separate debounce per key', async () => {
    const rig = new EngineRig(`rules:
  - id: settle
    when: { mqtt: "sensors/+device/level", debounce: 2s }
    then: [{ log: "{{ device }} {{ payload }}" }]
`);
    await rig.send('sensors/a/level', '1');
    await rig.send('sensors/b/level', '5');
    await rig.advance(1000);
    await rig.send('sensors/a/level', '2');
    await rig.advance(3000, 500);
    expect(rig.logs('info')).toEqual(['b 5', 'a 2']);
  });
});

describe('throttle: at most N per period per key', () => {
  it('drops the rest, counts them and traces them as blocked by throttle', async () => {
    const rig = new EngineRig(`rules:
  - id: t
    when: { mqtt: "in/+k", throttle: 2/1m }
    then: [{ log: "{{ k }}" }]
`);
    for (let i = 0; i < 5; i++) {
      await rig.send('in/a', '1');
      await rig.advance(10_000);
    }
    await rig.send('in/b', '1');
    // The window slides: 60 s after the first firing one more is allowed.
    await rig.advance(10_000);
    await rig.send('in/a', '1');
    expect(rig.logs('info')).toEqual(['a', 'a', 'b', 'a']);
    expect(rig.outcomes().filter(([, , reason]) => reason === 'throttle')).toHaveLength(3);
    expect(rig.engine.stats()[0]).toMatchObject({ fired: 4, blocked: 3, dropped: { throttle: 3 } });
    expect(rig.engine.trace('t')?.blocked.map((r) => r.reason)).toEqual(['throttle', 'throttle', 'throttle']);
  });
});

describe('cooldown: per key', () => {
  it('suppresses further firings for the key within the duration, counted and traced', async () => {
    const rig = new EngineRig(`rules:
  - id: c
    cooldown: 1m
    when: { mqtt: "alarm/+zone" }
    then: [{ log: "{{ zone }}" }]
`);
    await rig.send('alarm/north', '1');
    await rig.send('alarm/north', '1');
    await rig.send('alarm/south', '1');
    await rig.advance(59_999);
    await rig.send('alarm/north', '1');
    await rig.advance(1);
    await rig.send('alarm/north', '1');
    expect(rig.logs('info')).toEqual(['north', 'south', 'north']);
    expect(rig.outcomes().filter(([, , r]) => r === 'cooldown')).toHaveLength(2);
    expect(rig.engine.stats()[0]?.dropped.cooldown).toBe(2);
  });

  it('starts only when the rule fired, not when the condition blocked it', async () => {
    const rig = new EngineRig(`rules:
  - id: c
    cooldown: 1m
    when: { mqtt: "t/+k" }
    if: payload > 5
    then: [{ log: "{{ payload }}" }]
`);
    await rig.send('t/a', '1');
    await rig.send('t/a', '9');
    await rig.send('t/a', '8');
    expect(rig.outcomes()).toEqual([
      ['c', 'blocked', 'condition'],
      ['c', 'fired', null],
      ['c', 'blocked', 'cooldown'],
    ]);
  });
});

describe('mode: what a trigger does while a run for its key is going', () => {
  const modeRule = (mode: string, max = '') => `rules:
  - id: m
    mode: ${mode}
${max}    when: { mqtt: "go/+k" }
    then:
      - log: "start {{ payload }}"
      - delay: 10s
      - log: "end {{ payload }}"
`;

  it('single drops the new trigger (counted) while a run waits', async () => {
    const rig = new EngineRig(modeRule('single'));
    await rig.send('go/a', '1');
    await rig.send('go/a', '2');
    await rig.send('go/b', '3');
    await rig.advance(10_000);
    expect(rig.logs('info')).toEqual(['start 1', 'start 3', 'end 1', 'end 3']);
    expect(rig.engine.stats()[0]?.dropped.mode).toBe(1);
  });

  it('restart cancels the running run and starts again', async () => {
    const rig = new EngineRig(modeRule('restart'));
    await rig.send('go/a', '1');
    await rig.advance(5000);
    await rig.send('go/a', '2');
    await rig.advance(10_000);
    expect(rig.logs('info')).toEqual(['start 1', 'start 2', 'end 2']);
    const first = rig.runs[0];
    expect(first?.actions.at(-1)).toMatchObject({ kind: 'cancelled', detail: 'restarted by a new trigger' });
  });

  it('queued runs them one after another, up to max waiting', async () => {
    const rig = new EngineRig(modeRule('queued', '    max: 1\n'));
    await rig.send('go/a', '1');
    await rig.send('go/a', '2');
    await rig.send('go/a', '3');
    await rig.advance(30_000, 1000);
    expect(rig.logs('info')).toEqual(['start 1', 'end 1', 'start 2', 'end 2']);
    expect(rig.engine.stats()[0]?.dropped.mode).toBe(1);
  });

  it('parallel runs at once, up to max per key', async () => {
    const rig = new EngineRig(modeRule('parallel', '    max: 2\n'));
    await rig.send('go/a', '1');
    await rig.send('go/a', '2');
    await rig.send('go/a', '3');
    await rig.advance(10_000);
    expect(rig.logs('info')).toEqual(['start 1', 'start 2', 'end 1', 'end 2']);
    expect(rig.engine.stats()[0]?.dropped.mode).toBe(1);
  });

  it('runs without waits do not hold the key, so a burst of messages each runs', async () => {
    const rig = new EngineRig(`rules:
  - id: burst
    when: { mqtt: "s/+k" }
    then: [{ publish: { topic: "out/{{ k }}", payload: "{{ payload }}" } }]
`);
    for (let i = 0; i < 5; i++) {
      rig.engine.handle({
        topic: 's/a',
        payload: Buffer.from(String(i)),
        qos: 0,
        retain: false,
        clientId: null,
        receivedAt: T0,
      });
    }
    await rig.engine.whenIdle();
    expect(rig.publisher.sent.map((m) => m.payload)).toEqual(['0', '1', '2', '3', '4']);
  });
});
