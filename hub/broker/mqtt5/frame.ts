/** MQTT control packet types (the high nibble of the first byte). */
export const PacketType = {
  CONNECT: 1,
  CONNACK: 2,
  PUBLISH: 3,
  PUBACK: 4,
  PUBREC: 5,
  PUBREL: 6,
  PUBCOMP: 7,
  SUBSCRIBE: 8,
  SUBACK: 9,
  UNSUBSCRIBE: 10,
  UNSUBACK: 11,
  PINGREQ: 12,
  PINGRESP: 13,
  DISCONNECT: 14,
  AUTH: 15,
} as const;

/** One whole control packet as it is on the wire. */
export interface RawPacket {
  /** {@link PacketType}. */
  readonly type: number;
  /** The low nibble of the first byte. */
  readonly flags: number;
  /** Every byte of the packet, fixed header included. */
  readonly bytes: Buffer;
  /** Offset in `bytes` where the variable header starts (after the remaining length). */
  readonly bodyStart: number;
}

export type FrameResult =
  | { kind: 'packet'; packet: RawPacket }
  /** More bytes are needed; `declaredBytes` is the packet's size once its header is complete. */
  | { kind: 'partial'; declaredBytes: number | undefined }
  | { kind: 'malformed'; reason: string };

/** The largest value a four-byte Variable Byte Integer holds (MQTT 5 §1.5.5). */
const MAX_REMAINING_LENGTH = 268_435_455;

/**
 * Splits an MQTT byte stream into whole packets without decoding them, so the connection layer can
 * look at each packet before aedes does. Chunks are kept as a list and joined once per packet that
 * spans them, so a 1 MiB payload arriving in 64 KiB reads is copied once, not sixteen times.
 */
export class PacketFramer {
  private chunks: Buffer[] = [];
  private buffered = 0;

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /** Bytes waiting, in bytes. */
  get pending(): number {
    return this.buffered;
  }

  /** Takes every buffered byte out (a partial packet handed on as it is). */
  drain(): Buffer {
    const all = this.chunks.length === 1 ? (this.chunks[0] ?? Buffer.alloc(0)) : Buffer.concat(this.chunks);
    this.chunks = [];
    this.buffered = 0;
    return all;
  }

  /** The next whole packet, or why there is none yet. */
  shift(): FrameResult {
    if (this.buffered < 2) return { kind: 'partial', declaredBytes: undefined };
    let remaining = 0;
    let multiplier = 1;
    let i = 1;
    for (;;) {
      if (i >= this.buffered) return { kind: 'partial', declaredBytes: undefined };
      const byte = this.byteAt(i);
      remaining += (byte & 0x7f) * multiplier;
      i++;
      if ((byte & 0x80) === 0) break;
      if (i > 4) return { kind: 'malformed', reason: 'remaining length longer than four bytes' };
      multiplier *= 128;
    }
    if (remaining > MAX_REMAINING_LENGTH) return { kind: 'malformed', reason: 'remaining length too large' };
    const total = i + remaining;
    if (this.buffered < total) return { kind: 'partial', declaredBytes: total };
    const bytes = this.take(total);
    const first = bytes[0] ?? 0;
    return { kind: 'packet', packet: { type: first >> 4, flags: first & 0x0f, bytes, bodyStart: i } };
  }

  private byteAt(index: number): number {
    let offset = index;
    for (const chunk of this.chunks) {
      if (offset < chunk.length) return chunk[offset] ?? 0;
      offset -= chunk.length;
    }
    return 0;
  }

  private take(count: number): Buffer {
    const head = this.chunks[0];
    let out: Buffer;
    if (head && head.length >= count) {
      // The common case: the packet sits inside one read, so it is a view, not a copy.
      out = head.subarray(0, count);
      if (head.length === count) this.chunks.shift();
      else this.chunks[0] = head.subarray(count);
    } else {
      out = Buffer.allocUnsafe(count);
      let filled = 0;
      while (filled < count) {
        const chunk = this.chunks[0];
        if (!chunk) break;
        const n = Math.min(chunk.length, count - filled);
        chunk.copy(out, filled, 0, n);
        filled += n;
        if (n === chunk.length) this.chunks.shift();
        else this.chunks[0] = chunk.subarray(n);
      }
    }
    this.buffered -= count;
    return out;
  }
}
