import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';

/** The archive's first entry: what edgehub wrote it and what every other entry must hash to. */
export const MANIFEST_NAME = 'manifest.json';
export const MANIFEST_FORMAT = 'edgehub-backup/1';

/** Where each kind of file sits inside the archive. */
export const ARCHIVE_DIRS = { data: 'data/', config: 'config/', rules: 'rules/' } as const;

export interface ManifestFile {
  /** Path inside the archive, e.g. `data/events.db`. */
  name: string;
  /** Bytes. */
  size: number;
  /** Hex. */
  sha256: string;
}

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  edgehubVersion: string;
  /** ISO 8601, the backup machine's clock. */
  createdAt: string;
  files: ManifestFile[];
}

/** Reads a file in chunks (databases can be large) and returns its sha256, hex. */
export function sha256OfFile(file: string): string {
  const hash = createHash('sha256');
  const fd = openSync(file, 'r');
  try {
    const chunk = Buffer.alloc(1 << 20);
    for (let n; (n = readSync(fd, chunk, 0, chunk.length, null)) > 0;) hash.update(chunk.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

/** Names a restore may write: relative, inside one of the archive's folders, no `..`. */
export function isSafeName(name: string): boolean {
  if (name.startsWith('/') || name.includes('\\') || name.includes('\0')) return false;
  if (name.split('/').some((part) => part === '..' || part === '.' || part === '')) return false;
  return Object.values(ARCHIVE_DIRS).some((dir) => name.startsWith(dir));
}
