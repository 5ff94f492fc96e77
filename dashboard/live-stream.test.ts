import { describe, expect, it } from 'vitest';
import { Backoff } from './backoff.js';
import { LiveStream, type SourceLike, type StreamStatus } from './live-stream.js';

/** An EventSource the test drives by hand. */
class FakeSource implements SourceLike {
  closed = false;
  private readonly listeners = new Map<string, ((e: MessageEvent<string>) => void)[]>();
  constructor(readonly url: string) {}
  addEventListener(type: string, listener: (e: MessageEvent<string>) => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }
  close(): void {
    this.closed = true;
  }
  send(type: string, data: unknown): void {
    for (const l of this.listeners.get(type) ?? []) l({ data: JSON.stringify(data) } as MessageEvent<string>);
  }
  fail(): void {
    for (const l of this.listeners.get('error') ?? []) l({ data: '' } as MessageEvent<string>);
  }
}

function rig() {
  const sources: FakeSource[] = [];
  const timers: { fn: () => void; ms: number; cleared: boolean }[] = [];
  const statuses: StreamStatus[] = [];
  const clock = { now: 0 };
  const stream = new LiveStream('/api/stream', {
    open: (url) => {
      const s = new FakeSource(url);
      sources.push(s);
      return s;
    },
    setTimer: (fn, ms) => {
      const t = { fn, ms, cleared: false };
      timers.push(t);
      return t;
    },
    clearTimer: (t) => ((t as { cleared: boolean }).cleared = true),
    now: () => clock.now,
    stableMs: 10_000,
    backoff: new Backoff({ initialMs: 1000, maxMs: 8000, random: () => 0.999999 }),
  });
  stream.onStatus((s) => statuses.push(s));
  const fire = (): void => {
    const t = timers.at(-1);
    if (t && !t.cleared) t.fn();
  };
  return { stream, sources, timers, statuses, fire, clock };
}

describe('LiveStream', () => {
  it('hands each message kind to its listeners and says it is open once greeted', () => {
    const { stream, sources, statuses } = rig();
    const devices: unknown[] = [];
    stream.on('device', (d) => devices.push(d));
    stream.start();
    sources[0]?.send('hello', { user: 'ann', role: 'operator' });
    sources[0]?.send('device', { id: 'gh-1' });
    expect(devices).toEqual([{ id: 'gh-1' }]);
    expect(statuses.map((s) => s.state)).toEqual(['connecting', 'open']);
  });

  it('reconnects after a lost connection with growing waits, and from the first wait after a stable connection', () => {
    const { stream, sources, timers, statuses, fire, clock } = rig();
    stream.start();
    sources[0]?.fail();
    expect(sources[0]?.closed).toBe(true);
    expect(timers.map((t) => t.ms)).toEqual([1000]);
    fire();
    sources[1]?.fail();
    fire();
    sources[2]?.fail();
    expect(timers.map((t) => t.ms)).toEqual([1000, 2000, 4000]);
    expect(statuses.at(-1)).toMatchObject({ state: 'reconnecting', inMs: 4000, attempt: 3 });
    fire();
    sources[3]?.send('hello', {});
    clock.now += 10_000;
    sources[3]?.fail();
    expect(timers.at(-1)?.ms).toBe(1000);
  });

  it('a hub that greets and closes at once is retried with growing waits, not in a tight loop', () => {
    const { stream, sources, timers, fire, clock } = rig();
    stream.start();
    for (let i = 0; i < 4; i++) {
      sources[i]?.send('hello', {});
      clock.now += 50;
      sources[i]?.fail();
      fire();
    }
    expect(timers.map((t) => t.ms)).toEqual([1000, 2000, 4000, 8000]);
  });

  it('a connection that opens but is never greeted does not reset the wait', () => {
    const { stream, sources, timers, fire } = rig();
    stream.start();
    sources[0]?.fail();
    fire();
    sources[1]?.fail();
    expect(timers.map((t) => t.ms)).toEqual([1000, 2000]);
  });

  it('when the hub drops it as a slow client, says why and reconnects', () => {
    const { stream, sources, timers, statuses } = rig();
    const dropped: unknown[] = [];
    stream.on('dropped', (d) => dropped.push(d));
    stream.start();
    sources[0]?.send('hello', {});
    sources[0]?.send('dropped', { reason: 'too slow: 1000 messages waiting' });
    expect(dropped).toEqual([{ reason: 'too slow: 1000 messages waiting' }]);
    expect(sources[0]?.closed).toBe(true);
    expect(timers).toHaveLength(1);
    expect(statuses.at(-1)).toMatchObject({
      state: 'reconnecting',
      reason: 'too slow: 1000 messages waiting',
    });
  });

  it('the error event that follows a drop does not schedule a second reconnect', () => {
    const { stream, sources, timers } = rig();
    stream.start();
    sources[0]?.send('dropped', { reason: 'slow' });
    sources[0]?.fail();
    expect(timers).toHaveLength(1);
  });

  it('stop() closes the source and cancels a pending reconnect', () => {
    const { stream, sources, timers } = rig();
    stream.start();
    sources[0]?.fail();
    stream.stop();
    expect(timers[0]?.cleared).toBe(true);
    stream.start();
    expect(sources).toHaveLength(2);
    stream.stop();
    expect(sources[1]?.closed).toBe(true);
  });

  it('a throwing listener does not keep the message from the others; bad JSON is skipped', () => {
    const { stream, sources } = rig();
    const got: unknown[] = [];
    const quiet = console.error;
    console.error = () => {};
    try {
      stream.on('alert', () => {
        throw new Error('broken page');
      });
      stream.on('alert', (a) => got.push(a));
      stream.start();
      sources[0]?.send('alert', { key: 'hot/gh-1' });
      for (const l of (
        sources[0] as unknown as { listeners: Map<string, ((e: { data: string }) => void)[]> }
      ).listeners.get('alert') ?? [])
        l({ data: '{not json' });
    } finally {
      console.error = quiet;
    }
    expect(got).toEqual([{ key: 'hot/gh-1' }]);
  });
});
