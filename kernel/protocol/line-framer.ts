const NEWLINE = 0x0a;
const CR = 0x0d;

/** What one chunk of bytes gave. */
export interface FramedChunk {
  /** Complete lines, without the `\n` (nor a `\r` before it), decoded as UTF-8. */
  lines: string[];
  /** Bytes dropped because a line grew past the limit without a newline. */
  overflowBytes: number;
}

/**
 * Reassembles newline-terminated lines from a byte stream that arrives in arbitrary chunks. Works on
 * bytes, so a UTF-8 character split across chunks is decoded whole. A line longer than
 * `maxLineBytes` (a device babbling without newlines, or a wrong baud rate) is dropped up to the next
 * newline instead of growing the buffer without bound.
 */
export class LineFramer {
  private parts: Buffer[] = [];
  private size = 0;
  /** True while skipping the rest of an over-long line. */
  private skipping = false;

  constructor(private readonly maxLineBytes = 4096) {}

  push(chunk: Buffer): FramedChunk {
    const lines: string[] = [];
    let overflowBytes = 0;
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(NEWLINE, start);
      const end = nl < 0 ? chunk.length : nl;
      const piece = chunk.subarray(start, end);
      if (this.skipping) {
        overflowBytes += piece.length;
      } else if (this.size + piece.length > this.maxLineBytes) {
        overflowBytes += this.size + piece.length;
        this.parts = [];
        this.size = 0;
        this.skipping = true;
      } else if (piece.length > 0) {
        // A tail kept for the next chunk is copied: the stream may reuse the chunk's memory.
        this.parts.push(nl < 0 ? Buffer.from(piece) : piece);
        this.size += piece.length;
      }
      if (nl < 0) break;
      if (this.skipping) this.skipping = false;
      else lines.push(this.take());
      start = nl + 1;
    }
    return { lines, overflowBytes };
  }

  /** Bytes of the line in progress. */
  get pending(): number {
    return this.size;
  }

  /**
   * Drops the line in progress, e.g. when the port closed mid-line: its end will never come, and the
   * next connection's first line must not be glued onto it. Returns the bytes dropped.
   */
  reset(): number {
    const dropped = this.size;
    this.parts = [];
    this.size = 0;
    this.skipping = false;
    return dropped;
  }

  private take(): string {
    let line = this.parts.length === 1 ? (this.parts[0] ?? Buffer.alloc(0)) : Buffer.concat(this.parts);
    this.parts = [];
    this.size = 0;
    if (line.length > 0 && line[line.length - 1] === CR) line = line.subarray(0, line.length - 1);
    return line.toString('utf8');
  }
}
