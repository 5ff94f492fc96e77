import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';

/**
 * A POSIX ustar archive of regular files only: for each file a 512-byte header, then its bytes padded
 * to a multiple of 512; two zero blocks end the archive. Enough for backups (any `tar` reads it), and
 * small enough to keep edgehub free of an archive dependency. Names up to 255 bytes (ustar's prefix).
 */
const BLOCK = 512;
/** Bytes copied per read/write when a file is streamed into or out of the archive. */
const CHUNK = 1 << 20;

export interface TarEntry {
  name: string;
  /** Bytes. */
  size: number;
  /** Where the entry's data starts in the archive file, bytes. */
  offset: number;
}

/** Writes entries into an open file descriptor, in order; `finish()` writes the end marker. */
export class TarWriter {
  private position = 0;

  constructor(private readonly fd: number) {}

  /** Adds a file whose bytes come from `read(buffer, offset)` until it returns 0 (a file streamed in chunks). */
  addStream(name: string, size: number, mtimeMs: number, read: (chunk: Buffer) => number): void {
    this.write(header(name, size, mtimeMs));
    const chunk = Buffer.alloc(CHUNK);
    let left = size;
    while (left > 0) {
      const n = read(chunk.subarray(0, Math.min(CHUNK, left)));
      if (n === 0) throw new Error(`${name} ended ${left} bytes early while being archived`);
      this.write(chunk.subarray(0, n));
      left -= n;
    }
    this.pad(size);
  }

  addBuffer(name: string, data: Buffer, mtimeMs: number): void {
    this.write(header(name, data.length, mtimeMs));
    this.write(data);
    this.pad(data.length);
  }

  finish(): void {
    this.write(Buffer.alloc(2 * BLOCK));
  }

  private pad(size: number): void {
    const rest = size % BLOCK;
    if (rest > 0) this.write(Buffer.alloc(BLOCK - rest));
  }

  private write(data: Buffer): void {
    let done = 0;
    while (done < data.length)
      done += writeSync(this.fd, data, done, data.length - done, this.position + done);
    this.position += data.length;
  }
}

function header(name: string, size: number, mtimeMs: number): Buffer {
  const h = Buffer.alloc(BLOCK);
  const [prefix, base] = splitName(name);
  h.write(base, 0, 100, 'utf8');
  octal(h, 100, 8, 0o644);
  octal(h, 108, 8, 0); // uid
  octal(h, 116, 8, 0); // gid
  octal(h, 124, 12, size);
  octal(h, 136, 12, Math.floor(mtimeMs / 1000));
  h.fill(0x20, 148, 156); // the checksum is computed with its own field as spaces
  h.write('0', 156, 'ascii'); // regular file
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  h.write(prefix, 345, 155, 'utf8');
  octal(h, 148, 7, checksum(h));
  return h;
}

/** ustar keeps names over 100 bytes as prefix (≤ 155) + "/" + name (≤ 100). */
function splitName(name: string): [string, string] {
  if (Buffer.byteLength(name) <= 100) return ['', name];
  for (let i = name.lastIndexOf('/'); i > 0; i = name.lastIndexOf('/', i - 1)) {
    if (Buffer.byteLength(name.slice(0, i)) <= 155 && Buffer.byteLength(name.slice(i + 1)) <= 100) {
      return [name.slice(0, i), name.slice(i + 1)];
    }
  }
  throw new Error(`${name} is too long for a tar archive (ustar names are at most 255 bytes)`);
}

function octal(h: Buffer, at: number, width: number, value: number): void {
  h.write(value.toString(8).padStart(width - 1, '0') + '\0', at, width, 'ascii');
}

function checksum(h: Buffer): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
  return sum;
}

function field(h: Buffer, at: number, width: number): string {
  const raw = h.subarray(at, at + width);
  const end = raw.indexOf(0);
  return raw.subarray(0, end === -1 ? width : end).toString('utf8');
}

/**
 * Lists the regular files of a tar archive (ustar, or GNU tar's default format: its long-name
 * entries are followed, directories and other kinds skipped). Throws on a damaged header.
 */
export function listTar(file: string): TarEntry[] {
  const fd = openSync(file, 'r');
  try {
    const entries: TarEntry[] = [];
    const h = Buffer.alloc(BLOCK);
    let position = 0;
    let longName: string | undefined;
    for (;;) {
      if (readSync(fd, h, 0, BLOCK, position) < BLOCK) throw new Error(`${file} ends inside a tar header`);
      if (h.every((b) => b === 0)) return entries;
      const stored = parseInt(field(h, 148, 8).trim(), 8);
      if (stored !== checksum(h)) throw new Error(`${file}: bad tar header checksum at byte ${position}`);
      const size = parseInt(field(h, 124, 12).trim() || '0', 8);
      const type = field(h, 156, 1);
      const prefix = field(h, 345, 155);
      const name = longName ?? (prefix ? `${prefix}/${field(h, 0, 100)}` : field(h, 0, 100));
      longName = undefined;
      const offset = position + BLOCK;
      if (type === 'L') longName = readAt(fd, offset, size).toString('utf8').replace(/\0+$/, '');
      else if (type === '0' || type === '') entries.push({ name, size, offset });
      position = offset + Math.ceil(size / BLOCK) * BLOCK;
    }
  } finally {
    closeSync(fd);
  }
}

/** Streams an entry's bytes to `write`, returning their sha256 (hex). */
export function readTarEntry(fd: number, entry: TarEntry, write: (chunk: Buffer) => void): string {
  const hash = createHash('sha256');
  const chunk = Buffer.alloc(CHUNK);
  for (let done = 0; done < entry.size;) {
    const n = readSync(fd, chunk, 0, Math.min(CHUNK, entry.size - done), entry.offset + done);
    if (n === 0) throw new Error(`the archive ends inside ${entry.name}`);
    hash.update(chunk.subarray(0, n));
    write(chunk.subarray(0, n));
    done += n;
  }
  return hash.digest('hex');
}

function readAt(fd: number, offset: number, size: number): Buffer {
  const out = Buffer.alloc(size);
  if (readSync(fd, out, 0, size, offset) < size) throw new Error('the archive ends inside a tar entry');
  return out;
}
