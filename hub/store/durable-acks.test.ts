import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MqttMessage } from '../../kernel/index.js';
import { MemoryLogger, VirtualClock } from '../../kernel/index.js';
import { durableAckHook } from './durable-acks.js';
import { openEventReader } from './event-reader.js';
import type { EventStoreDeps, WriterControl } from './event-store.js';
import { EventStore } from './event-store.js';
import { eventsDbPath } from './schema.js';

const ACK_TIMEOUT_MS = 5_000;

let dir: string;
let clock: VirtualClock;
let store: EventStore;
let writer: WriterControl | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'edgehub-acks-'));
  clock = new VirtualClock(Date.UTC(2026, 0, 1));
  const deps: EventStoreDeps = {
    file: eventsDbPath(dir),
    clock,
    logger: new MemoryLogger(),
    options: {
      // Long on purpose: a held acknowledgement must not wait for the flush timer.
      flushIntervalMs: 60_000,
      batchSize: 2000,
      ackTimeoutMs: ACK_TIMEOUT_MS,
      retention: { maxAgeMs: 1e12, maxSizeBytes: 1e12, checkEveryMs: 1e9 },
    },
    testing: { onOpen: (w) => (writer = w) },
  };
  store = new EventStore(deps);
  store.start();
});

afterEach(async () => {
  await store.stop();
  rmSync(dir, { recursive: true, force: true });
});

function message(seq: number, qos: 0 | 1 | 2 = 1): MqttMessage {
  return {
    topic: 'sensors/gh-1/temperature',
    payload: Buffer.from(JSON.stringify({ value: 20, seq })),
    qos,
    retain: false,
    clientId: 'gh-1',
    receivedAt: clock.now(),
  };
}

function seqsOnDisk(): number[] {
  const reader = openEventReader(eventsDbPath(dir));
  try {
    return reader.query({ order: 'asc' }).map((e) => (e.payload as { seq: number }).seq);
  } finally {
    reader.close();
  }
}

describe('durable acknowledgements', () => {
  it('resolve only once the message is committed, without waiting for the flush timer', async () => {
    const acks = [1, 2, 3].map((seq) => store.appendDurable(message(seq)));
    expect(acks.every((a) => a instanceof Promise)).toBe(true);
    // Each resolution sees its message in the file, as a process reading it after a crash would.
    const onDiskAtAck = await Promise.all(acks.map((a) => (a ?? Promise.resolve()).then(() => seqsOnDisk())));
    expect(onDiskAtAck).toEqual([
      [1, 2, 3],
      [1, 2, 3],
      [1, 2, 3],
    ]);
    expect(store.stats()).toMatchObject({ stored: 3, ackedBeforeStored: 0 });
  });

  it('store the message once: the broker appending it again after routing is skipped', async () => {
    const m = message(1);
    await store.appendDurable(m);
    // What the broker hands every consumer after routing: the same payload, a new message object.
    store.append({ ...m });
    store.append(message(2, 0));
    await store.flushed();
    expect(seqsOnDisk()).toEqual([1, 2]);
  });

  it('pass QoS 0 straight through and hold QoS 1 and 2 (the broker hook)', async () => {
    const hook = durableAckHook(() => store, clock);
    const packet = (qos: 0 | 1 | 2, seq: number) => ({
      topic: 'sensors/gh-1/temperature',
      payload: Buffer.from(`{"seq":${seq}}`),
      qos,
      retain: false,
    });
    expect(hook(packet(0, 0), { id: 'gh-1' })).toBeUndefined();
    expect(hook({ ...packet(1, 1), topic: '$SYS/x' }, { id: 'gh-1' })).toBeUndefined();
    await hook(packet(1, 1), { id: 'gh-1' });
    await hook(packet(2, 2), { id: 'gh-1' });
    expect(seqsOnDisk()).toEqual([1, 2]);
  });

  it('let go of a held acknowledgement when the store cannot write, and hold none during the outage', async () => {
    writer?.pragma('query_only = ON');
    const held = store.appendDurable(message(1));
    await held;
    expect(store.stats()).toMatchObject({ stored: 0, buffered: 1, ackedBeforeStored: 1 });
    expect(store.appendDurable(message(2))).toBeUndefined();
    expect(store.stats().ackedBeforeStored).toBe(2);

    writer?.pragma('query_only = OFF');
    store.flush();
    expect(seqsOnDisk()).toEqual([1, 2]);
    // Writing works again: acknowledgements wait for their commit again.
    const again = store.appendDurable(message(3));
    expect(again).toBeInstanceOf(Promise);
    await again;
    expect(store.stats()).toMatchObject({ stored: 3, ackedBeforeStored: 2 });
  });

  it('send an acknowledgement after ackTimeoutMs when its commit takes longer, and count it', async () => {
    let released = false;
    const held = store.appendDurable(message(1))?.then(() => (released = true));
    // The batch is handed to the writer on the next turn, and its timer starts then.
    await new Promise((resolve) => setImmediate(resolve));
    expect(clock.pending()).toContain('store.ack-timeout');
    clock.advance(ACK_TIMEOUT_MS);
    await Promise.resolve();
    expect(released).toBe(true);
    await held;
    await store.idle();
    expect(store.stats()).toMatchObject({ stored: 1, ackedBeforeStored: 1 });
    expect(clock.pending()).not.toContain('store.ack-timeout');
  });
});
