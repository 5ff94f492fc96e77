import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LineFramer } from './line-framer.js';

const b = (s: string) => Buffer.from(s, 'utf8');

describe('LineFramer', () => {
  it('reassembles lines split across chunks', () => {
    const f = new LineFramer();
    expect(f.push(b('{"temp')).lines).toEqual([]);
    expect(f.push(b('erature": 21.5}\n{"a"')).lines).toEqual(['{"temperature": 21.5}']);
    expect(f.push(b(': 1}\n')).lines).toEqual(['{"a": 1}']);
    expect(f.pending).toBe(0);
  });

  it('strips a carriage return before the newline (Serial.println sends \\r\\n)', () => {
    expect(new LineFramer().push(b('a\r\nb\n')).lines).toEqual(['a', 'b']);
  });

  it('decodes a UTF-8 character split across chunks whole', () => {
    const f = new LineFramer();
    const bytes = b('{"unit":"°C"}\n');
    const cut = bytes.indexOf(0xb0); // inside the two bytes of °
    expect(f.push(bytes.subarray(0, cut)).lines).toEqual([]);
    expect(f.push(bytes.subarray(cut)).lines).toEqual(['{"unit":"°C"}']);
  });

  it('drops an over-long line up to its newline and goes on', () => {
    const f = new LineFramer(8);
    const first = f.push(b('0123456789abc'));
    expect(first.lines).toEqual([]);
    expect(first.overflowBytes).toBe(13);
    const second = f.push(b('def\nok\n'));
    expect(second.lines).toEqual(['ok']);
    expect(second.overflowBytes).toBe(3);
  });

  it('reset drops the partial line so the next line is not glued onto it', () => {
    const f = new LineFramer();
    f.push(b('{"temperature": 2'));
    expect(f.reset()).toBe(17);
    expect(f.push(b('{"temperature": 30}\n')).lines).toEqual(['{"temperature": 30}']);
  });

  it('gives the same lines however the stream is chunked', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.string({ unit: 'grapheme', maxLength: 20 }).map((s) => s.replace(/[\r\n]/g, '')),
          {
            maxLength: 10,
          },
        ),
        fc.array(fc.nat(40), { maxLength: 10 }),
        (lines, cuts) => {
          const bytes = b(lines.map((l) => `${l}\n`).join(''));
          const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((x, y) => x - y);
          const f = new LineFramer(1 << 20);
          const out: string[] = [];
          let start = 0;
          for (const p of [...points, bytes.length]) {
            out.push(...f.push(bytes.subarray(start, p)).lines);
            start = p;
          }
          expect(out).toEqual(lines);
        },
      ),
    );
  });
});
