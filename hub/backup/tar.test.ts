import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { listTar, readTarEntry, TarWriter } from './tar.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'edgehub-tar-'));
  dirs.push(d);
  return d;
}

function gnuTar(args: string[]): string {
  try {
    return execFileSync('tar', args, { encoding: 'utf8' });
  } catch (err) {
    throw new Error(`these tests need GNU tar on the PATH (apt-get install tar): ${(err as Error).message}`);
  }
}

const longName = `rules/${'deep/'.repeat(25)}rule.yaml`;
const files: Record<string, Buffer> = {
  'manifest.json': Buffer.from('{"a":1}\n'),
  'data/events.db': Buffer.alloc(512 * 3 + 7, 0xab),
  'empty.txt': Buffer.alloc(0),
  [longName]: Buffer.from('rules: []\n'),
};

describe('the tar writer', () => {
  it('writes an archive GNU tar lists and extracts byte for byte', () => {
    const dir = tempDir();
    const archive = join(dir, 'a.tar');
    const fd = openSync(archive, 'w');
    const tar = new TarWriter(fd);
    for (const [name, data] of Object.entries(files)) tar.addBuffer(name, data, 1_700_000_000_000);
    tar.finish();
    closeSync(fd);

    expect(gnuTar(['-tf', archive]).trim().split('\n')).toEqual(Object.keys(files));
    const out = join(dir, 'out');
    mkdirSync(out);
    gnuTar(['-xf', archive, '-C', out]);
    for (const [name, data] of Object.entries(files)) expect(readFileSync(join(out, name))).toEqual(data);
  });

  it('reads what GNU tar writes, long names included', () => {
    const dir = tempDir();
    const src = join(dir, 'src');
    for (const [name, data] of Object.entries(files)) {
      mkdirSync(join(src, name, '..'), { recursive: true });
      writeFileSync(join(src, name), data);
    }
    const archive = join(dir, 'g.tar');
    gnuTar(['-cf', archive, '-C', src, ...Object.keys(files)]);

    const entries = listTar(archive);
    expect(entries.map((e) => e.name)).toEqual(Object.keys(files));
    const fd = openSync(archive, 'r');
    try {
      for (const entry of entries) {
        const chunks: Buffer[] = [];
        readTarEntry(fd, entry, (c) => chunks.push(Buffer.from(c)));
        expect(Buffer.concat(chunks)).toEqual(files[entry.name]);
      }
    } finally {
      closeSync(fd);
    }
  });

  it('refuses a header whose checksum does not match', () => {
    const dir = tempDir();
    const archive = join(dir, 'a.tar');
    const fd = openSync(archive, 'w');
    const tar = new TarWriter(fd);
    tar.addBuffer('x.txt', Buffer.from('x'), 0);
    tar.finish();
    closeSync(fd);
    const bytes = readFileSync(archive);
    bytes[0] = 0x79; // the first byte of the name
    writeFileSync(archive, bytes);
    expect(() => listTar(archive)).toThrow(/checksum/);
  });
});
