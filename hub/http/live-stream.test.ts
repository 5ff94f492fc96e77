import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryLogger, TypedBus, VirtualClock } from '../../kernel/index.js';
import { HttpApi } from './http-api.js';
import { DEFAULT_STREAM_LIMITS, LiveStream } from './live-stream.js';
import { DEVICE_COALESCE_MS, feedLiveStream } from './stream-feed.js';
import type { HubEvents } from '../events.js';
import type { HttpApiPorts } from './ports.js';

const stops: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

const ports: HttpApiPorts = {
  rules: () => [],
  rulesStatus: () => undefined,
  traces: undefined,
  devices: { get: () => undefined, list: () => [] },
  postEvent: () => undefined,
  health: () => ({}),
};

async function serve(stream: LiveStream) {
  const api = new HttpApi({
    host: '127.0.0.1',
    port: 0,
    logger: new MemoryLogger(),
    ports,
    stream,
    clock: new VirtualClock(0),
  });
  await api.start();
  stops.push(() => api.stop());
  return `127.0.0.1:${api.address?.port ?? 0}`;
}

/** A client that asks for the stream and then does not read a byte until told to. */
function stalledClient(address: string): Promise<Socket> {
  const [host, port] = address.split(':');
  return new Promise((resolve) => {
    const socket = connect(Number(port), host, () => {
      socket.write(`GET /api/stream?types=event HTTP/1.1\r\nHost: ${address}\r\n\r\n`);
      resolve(socket);
    });
    socket.pause();
    stops.push(() => void socket.destroy());
  });
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('the live stream', () => {
  it('drops a client that never reads, with a `dropped` event and the end of its stream; others keep receiving', async () => {
    // No events-per-second cap here: the point is a client that reads nothing at all.
    const stream = new LiveStream({
      maxMessages: 50,
      maxBytes: 1024 * 1024,
      maxEventsPerSecond: Infinity,
      flushDelayMs: 0,
    });
    const address = await serve(stream);
    const abort = new AbortController();
    const fast = await fetch(`http://${address}/api/stream?types=event`, { signal: abort.signal });
    expect(fast.headers.get('content-type')).toMatch(/^text\/event-stream/);
    let fastText = '';
    const decoder = new TextDecoder();
    const body = fast.body as unknown as AsyncIterable<Uint8Array>;
    const pump = (async () => {
      try {
        for await (const chunk of body) fastText += decoder.decode(chunk, { stream: true });
      } catch {
        // Aborted below, once the test has read what it needs.
      }
    })();
    const slow = await stalledClient(address);
    for (let i = 0; i < 100 && stream.stats().clients < 2; i++) await tick();
    expect(stream.stats().clients).toBe(2);

    const payload = 'x'.repeat(16 * 1024);
    let sent = 0;
    // The stalled client's socket buffers fill first, then its queue of 50; the hub never waits on it.
    while (stream.stats().dropped === 0 && sent < 5_000) {
      for (let i = 0; i < 20; i++, sent++)
        stream.publish({
          type: 'event',
          topic: 'sensors/a/t',
          json: () => JSON.stringify({ n: sent, payload }),
        });
      await tick();
    }
    expect(stream.stats()).toEqual({ clients: 1, dropped: 1 });

    stream.publish({ type: 'event', topic: 'sensors/a/t', json: () => '{"n":"after"}' });
    for (let i = 0; i < 1000 && !fastText.includes('"n":"after"'); i++) await tick();
    expect(fastText.startsWith('event: hello\ndata: {"user":null,"role":"admin"}\n\n')).toBe(true);
    expect(fastText.split('event: event\n').length - 1).toBe(sent + 1);
    abort.abort();
    await pump;

    let slowText = '';
    slow.on('data', (chunk: Buffer) => (slowText += chunk.toString('latin1')));
    slow.resume();
    for (let i = 0; i < 5000 && !slowText.endsWith('\r\n0\r\n\r\n'); i++) await tick();
    expect(slowText).toContain('event: dropped\ndata: {"reason":"the client read too slowly');
    expect(slowText.endsWith('\r\n0\r\n\r\n')).toBe(true);
  });

  it('gathers what a client is sent for flushDelayMs and hands it to the writer in one piece', async () => {
    const stream = new LiveStream({ ...DEFAULT_STREAM_LIMITS, flushDelayMs: 50 });
    const client = stream.connect({ types: new Set(['device']) });
    // The writer waits; three messages come a loop turn apart, as packets the broker reads do.
    const taken = client.take();
    for (let i = 0; i < 3; i++) {
      stream.publish({ type: 'device', device: 'a', json: () => String(i) });
      await tick();
    }
    expect(await taken).toEqual([0, 1, 2].map((i) => `event: device\ndata: ${i}\n\n`));
  });

  it('filters by type, topic and device', () => {
    const stream = new LiveStream();
    const all = stream.connect({ types: new Set(['event', 'device']) });
    const one = stream.connect({ types: new Set(['event']), topic: 'sensors/+/t', device: 'a' });
    stream.publish({ type: 'event', topic: 'sensors/a/t', device: 'a', json: () => '1' });
    stream.publish({ type: 'event', topic: 'sensors/b/t', device: 'b', json: () => '2' });
    stream.publish({ type: 'device', device: 'a', json: () => '3' });
    stream.publish({ type: 'rule', json: () => '4' });
    expect([all.waiting(), one.waiting()]).toEqual([3, 1]);
    expect(stream.wants('rule')).toBe(false);
  });

  it('sends a client at most maxEventsPerSecond events and as many rule runs a second, then says how many it skipped', () => {
    const clock = new VirtualClock(0);
    const stream = new LiveStream(
      { maxMessages: 1000, maxBytes: 1 << 20, maxEventsPerSecond: 3, flushDelayMs: 0 },
      () => clock.now(),
    );
    const client = stream.connect({ types: new Set(['event', 'device', 'rule']) });
    let built = 0;
    const event = () => stream.publish({ type: 'event', topic: 't', json: () => String(++built) });
    for (let i = 0; i < 10; i++) event();
    for (let i = 0; i < 4; i++) stream.publish({ type: 'rule', json: () => `"r${i}"` });
    // Other types are not capped.
    stream.publish({ type: 'device', device: 'a', json: () => '{}' });
    expect(client.waiting()).toBe(7);
    // Skipped events are never turned into text.
    expect(built).toBe(3);
    clock.advance(1000);
    event();
    expect(client.waiting()).toBe(9);
    return client.take().then((frames) => {
      expect(frames.slice(7)).toEqual([
        'event: skipped\ndata: {"events":7,"rules":1,"since":0}\n\n',
        'event: event\ndata: 4\n\n',
      ]);
    });
  });
});

describe('the live stream feed', () => {
  it("sends a device's changes within DEVICE_COALESCE_MS as one message of its state at the end", () => {
    const clock = new VirtualClock(0);
    const stream = new LiveStream(undefined, () => clock.now());
    const bus = new TypedBus<HubEvents>(new MemoryLogger());
    const messages = { onMessage: () => undefined, offOwner: () => undefined };
    let state = 0;
    const stop = feedLiveStream({ stream, bus, messages, clock, device: (id) => ({ id, state }) });
    const client = stream.connect({ types: new Set(['device']) });
    for (state = 1; state <= 5; state++)
      bus.emit('device.reading', { deviceId: 'a', metric: 'm', value: state, previous: undefined, at: 0 });
    bus.emit('device.reading', { deviceId: 'b', metric: 'm', value: 1, previous: undefined, at: 0 });
    expect(client.waiting()).toBe(0);
    clock.advance(DEVICE_COALESCE_MS);
    expect(client.waiting()).toBe(2);
    stop();
    return client.take().then((frames) => {
      expect(frames).toEqual([
        'event: device\ndata: {"id":"a","state":6}\n\n',
        'event: device\ndata: {"id":"b","state":6}\n\n',
      ]);
    });
  });
});
