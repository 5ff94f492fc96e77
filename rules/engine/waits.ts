import { jsonEqual } from '../language/expression/values.js';
import type { Trigger } from '../language/rule.js';
import { TopicIndex } from '../language/topic-index.js';

/** An input a parked `wait` may be waiting for. */
export type WaitInput =
  | { readonly kind: 'mqtt'; readonly topic: string; readonly payload: unknown }
  | {
      readonly kind: 'reading';
      readonly deviceId: string;
      readonly metric: string;
      readonly value: unknown;
      readonly previous: unknown;
    }
  | { readonly kind: 'status'; readonly deviceId: string; readonly status: string }
  | { readonly kind: 'event'; readonly name: string; readonly data: unknown };

/**
 * Whether an input ends a wait. A wait has no memory, so `above`/`below` hold as soon as a reading
 * is inside the range and `changes` needs the registry's previous value to differ.
 */
export function waitMatcher(trigger: Trigger): (input: WaitInput) => boolean {
  switch (trigger.kind) {
    case 'mqtt': {
      const index = new TopicIndex<true>();
      index.add(trigger.filter, true);
      const payload = trigger.payload;
      return (i) =>
        i.kind === 'mqtt' &&
        index.match(i.topic).length > 0 &&
        (payload === null || jsonEqual(i.payload, payload.value));
    }
    case 'reading':
      return (i) => {
        if (i.kind !== 'reading' || i.metric !== trigger.metric || !trigger.device.matches(i.deviceId))
          return false;
        if (trigger.changes) {
          const { from, to } = trigger.changes;
          return (
            i.previous !== undefined &&
            !jsonEqual(i.previous, i.value) &&
            (from === null || jsonEqual(i.previous, from.value)) &&
            (to === null || jsonEqual(i.value, to.value))
          );
        }
        const r = trigger.range;
        return (
          r !== null &&
          typeof i.value === 'number' &&
          (r.above === null || i.value > r.above) &&
          (r.below === null || i.value < r.below)
        );
      };
    case 'status':
      return (i) => i.kind === 'status' && i.status === trigger.status && trigger.device.matches(i.deviceId);
    case 'event':
      return (i) => i.kind === 'event' && i.name === trigger.event;
    case 'schedule':
      // Schedules end a wait through a timer, not through inputs.
      return () => false;
  }
}

/** What `wait.*` reads after a wait ended on an input. */
export function waitResult(input: WaitInput): Record<string, unknown> {
  switch (input.kind) {
    case 'mqtt':
      return { timed_out: false, kind: 'mqtt', topic: input.topic, payload: input.payload };
    case 'reading':
      return {
        timed_out: false,
        kind: 'reading',
        device: input.deviceId,
        metric: input.metric,
        payload: { value: input.value, previous: input.previous ?? null },
      };
    case 'status':
      return { timed_out: false, kind: 'status', device: input.deviceId, payload: { status: input.status } };
    case 'event':
      return { timed_out: false, kind: 'event', event: input.name, payload: input.data ?? null };
  }
}
