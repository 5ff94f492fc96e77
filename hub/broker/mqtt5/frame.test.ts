import { generate } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { PacketFramer, PacketType } from './frame.js';

const publish = (payload: Buffer): Buffer =>
  generate({ cmd: 'publish', topic: 'a/b', payload, qos: 0, retain: false, dup: false });
const ping = generate({ cmd: 'pingreq' });

describe('PacketFramer', () => {
  it('splits several packets in one read and returns views, not copies', () => {
    const f = new PacketFramer();
    const chunk = Buffer.concat([ping, publish(Buffer.from('x')), ping]);
    f.push(chunk);
    const types: number[] = [];
    for (let r = f.shift(); r.kind === 'packet'; r = f.shift()) {
      types.push(r.packet.type);
      expect(r.packet.bytes.buffer).toBe(chunk.buffer);
    }
    expect(types).toEqual([PacketType.PINGREQ, PacketType.PUBLISH, PacketType.PINGREQ]);
    expect(f.pending).toBe(0);
  });

  it('reassembles a packet fed one byte at a time, and knows its size once the header is in', () => {
    const bytes = publish(Buffer.alloc(300, 7));
    const f = new PacketFramer();
    const sizes: (number | undefined)[] = [];
    for (let i = 0; i < bytes.length - 1; i++) {
      f.push(bytes.subarray(i, i + 1));
      const r = f.shift();
      expect(r.kind).toBe('partial');
      if (r.kind === 'partial') sizes.push(r.declaredBytes);
    }
    // The remaining length of 305 takes two bytes: the size is known from the third byte on.
    expect(sizes.slice(0, 2)).toEqual([undefined, undefined]);
    expect(sizes[2]).toBe(bytes.length);
    f.push(bytes.subarray(-1));
    const r = f.shift();
    expect(r.kind === 'packet' && Buffer.compare(r.packet.bytes, bytes)).toBe(0);
    if (r.kind === 'packet') expect(r.packet.bodyStart).toBe(3);
  });

  it('calls a remaining length of more than four bytes malformed', () => {
    const f = new PacketFramer();
    f.push(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]));
    expect(f.shift()).toEqual({ kind: 'malformed', reason: 'remaining length longer than four bytes' });
  });

  it('hands every buffered byte over with drain()', () => {
    const f = new PacketFramer();
    f.push(Buffer.from([0x30, 0x80]));
    f.push(Buffer.from([0x08, 0x00]));
    expect([...f.drain()]).toEqual([0x30, 0x80, 0x08, 0x00]);
    expect(f.pending).toBe(0);
  });
});
