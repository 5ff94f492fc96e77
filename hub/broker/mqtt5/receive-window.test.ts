import { describe, expect, it } from 'vitest';
import { ReceiveWindow } from './receive-window.js';

describe('ReceiveWindow', () => {
  it('lets `max` packets through, holds the rest in order and frees a slot per acknowledgement', () => {
    const w = new ReceiveWindow<string>(2);
    expect([1, 2, 3, 4].map((id) => w.offer(id, false, `m${id}`))).toEqual([true, true, false, false]);
    expect(w.held).toBe(2);
    expect(w.release(2)).toEqual(['m3']);
    expect(w.release(1)).toEqual(['m4']);
    expect(w.release(9)).toEqual([]);
    expect(w.inFlight).toBe(2);
  });

  it('keeps a retransmission (DUP) of a packet in flight in its slot', () => {
    const w = new ReceiveWindow<string>(1);
    expect(w.offer(5, false, 'a')).toBe(true);
    expect(w.offer(5, true, 'a again')).toBe(true);
    expect(w.offer(6, false, 'b')).toBe(false);
  });

  it('never lets a newcomer overtake packets already waiting', () => {
    const w = new ReceiveWindow<string>(1);
    w.offer(1, false, 'a');
    w.offer(2, false, 'b');
    expect(w.release(1)).toEqual(['b']);
    expect(w.offer(3, false, 'c')).toBe(false);
    expect(w.clear()).toEqual(['c']);
  });
});
