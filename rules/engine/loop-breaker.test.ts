import { describe, expect, it } from 'vitest';
import type { MqttMessage } from '../../kernel/index.js';
import { EngineRig } from '../../test/support/engine-rig.js';

const FAN_RULE = `rules:
  - id: fan
    when: { mqtt: "sensors/+device/temperature" }
    if: payload.value > 30
    then: [{ publish: { topic: "actuators/{{ device }}/fan", payload: { on: true, seq: "{{ payload.seq }}" } } }]
    else: [{ publish: { topic: "actuators/{{ device }}/fan", payload: { on: false, seq: "{{ payload.seq }}" } } }]
`;

function reading(device: string, seq: number, at: number): MqttMessage {
  return {
    topic: `sensors/${device}/temperature`,
    payload: Buffer.from(JSON.stringify({ value: seq % 2 === 0 ? 35 : 25, seq })),
    qos: 0,
    retain: false,
    clientId: 'gateway',
    receivedAt: at,
  };
}

describe('the loop breaker with its defaults', () => {
  it('never suspends a busy sensor rule: 100 devices at 50 Hz each for a minute', async () => {
    const rig = new EngineRig(FAN_RULE);
    const devices = Array.from({ length: 100 }, (_, i) => `dev-${i}`);
    let seq = 0;
    // 50 Hz: a reading from every device every 20 ms of the virtual clock.
    for (let tick = 0; tick < 50 * 60; tick++) {
      for (const device of devices) rig.engine.handle(reading(device, seq++, rig.clock.now()));
      await rig.advance(20);
    }
    await rig.engine.whenIdle();
    const [stats] = rig.engine.stats();
    expect(stats?.triggered).toBe(300_000);
    expect(stats?.dropped).toMatchObject({ suspended: 0, loop: 0 });
    expect(rig.events.filter((e) => e.name === 'rule.suspended')).toEqual([]);
    expect(rig.publisher.ruleTopics()).toHaveLength(300_000);
  });
});
