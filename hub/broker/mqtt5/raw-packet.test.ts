import { generate } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { PacketFramer, type RawPacket } from './frame.js';
import {
  checkFixedHeader,
  checkTopicName,
  filterProblem,
  readFilters,
  readPublishHeader,
} from './raw-packet.js';

function frame(bytes: Buffer): RawPacket {
  const f = new PacketFramer();
  f.push(bytes);
  const r = f.shift();
  if (r.kind !== 'packet') throw new Error(`not a whole packet: ${r.kind}`);
  return r.packet;
}

describe('readPublishHeader', () => {
  it('reads QoS, flags, the topic bounds and the packet identifier', () => {
    const bytes = generate(
      {
        cmd: 'publish',
        topic: 'sensors/é',
        payload: Buffer.from('1'),
        qos: 2,
        retain: true,
        dup: true,
        messageId: 513,
      },
      { protocolVersion: 5 },
    );
    const h = readPublishHeader(frame(bytes));
    expect(h).toMatchObject({ qos: 2, dup: true, retain: true, messageId: 513 });
    if ('topicStart' in h) expect(bytes.toString('utf8', h.topicStart, h.topicEnd)).toBe('sensors/é');
  });

  it.each([
    ['both QoS bits', [0x36, 0x05, 0, 1, 0x61, 0, 1], 0x81],
    ['a topic past the end', [0x30, 0x03, 0, 9, 0x61], 0x81],
    ['packet identifier 0', [0x32, 0x05, 0, 1, 0x61, 0, 0], 0x82],
  ])('refuses %s', (_what, bytes, code) => {
    expect(readPublishHeader(frame(Buffer.from(bytes)))).toMatchObject({ code });
  });
});

describe('checkTopicName', () => {
  it.each([
    ['a/b', undefined],
    ['a/+', 0x90],
    ['#', 0x90],
    ['nul\u0000', 0x81],
  ])('%j → %s', (topic, code) => {
    const b = Buffer.from(topic);
    expect(checkTopicName(b, 0, b.length)?.code).toBe(code);
  });

  it('refuses bytes that are not UTF-8, such as a lone continuation byte or a UTF-16 surrogate', () => {
    for (const bytes of [
      [0x61, 0x80],
      [0xed, 0xa0, 0x80],
      [0xf0, 0x9f, 0x98],
    ]) {
      const b = Buffer.from(bytes);
      expect(checkTopicName(b, 0, b.length)?.code).toBe(0x81);
    }
  });
});

describe('readFilters', () => {
  it('walks a SUBSCRIBE past its properties and returns the filters', () => {
    const bytes = generate(
      {
        cmd: 'subscribe',
        messageId: 1,
        properties: { subscriptionIdentifier: 300 },
        subscriptions: [
          { topic: 'a/+', qos: 1 },
          { topic: 'b/#', qos: 0 },
        ],
      },
      { protocolVersion: 5 },
    );
    expect(readFilters(frame(bytes), 5)).toEqual(['a/+', 'b/#']);
  });

  it('refuses a wildcard in the middle of a level with 0x8F', () => {
    const bytes = generate({ cmd: 'unsubscribe', messageId: 1, unsubscriptions: ['a/b#'] });
    expect(readFilters(frame(bytes), 4)).toMatchObject({ code: 0x8f });
  });

  it.each([['a/#/b'], ['a+'], ['']])('knows %j is not a valid filter', (f) => {
    expect(filterProblem(f)).toBeDefined();
  });
});

describe('checkFixedHeader', () => {
  it('refuses reserved flags and packets only a server sends', () => {
    expect(checkFixedHeader(frame(Buffer.from([0x80, 0x02, 0, 1])), 4)).toMatchObject({ code: 0x81 });
    expect(checkFixedHeader(frame(Buffer.from([0x20, 0x02, 0, 0])), 5)).toMatchObject({ code: 0x82 });
    expect(checkFixedHeader(frame(Buffer.from([0xf0, 0x00])), 5)).toMatchObject({ code: 0x82 });
    expect(checkFixedHeader(frame(Buffer.from([0xc0, 0x00])), 4)).toBeUndefined();
  });
});
