import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TokenFile } from '../http/index.js';
import { runTokenCreate, runTokenList, runTokenRevoke } from './token-command.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('edgehub token', () => {
  it('prints a new token once, keeps only its hash (0600), lists and revokes by name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgehub-token-'));
    dirs.push(dir);
    const file = new TokenFile(join(dir, 'http-tokens.json'));
    const lines: string[] = [];
    const notes: string[] = [];
    const io = { out: (l: string) => lines.push(l), note: (l: string) => notes.push(l) };
    runTokenCreate(file, 'prometheus', 'viewer', io, Date.UTC(2026, 0, 1));
    // The token alone on stdout, so a script can take it with $(...); the rest is said on stderr.
    expect(lines).toHaveLength(1);
    expect(notes.join('\n')).toContain('not shown again');
    const token = lines[0] ?? '';
    expect(token).toMatch(/^edgehub_[\w-]{43}$/);
    expect(readFileSync(file.file, 'utf8')).not.toContain(token);
    expect(statSync(file.file).mode & 0o777).toBe(0o600);
    expect(file.find(token)).toMatchObject({ name: 'prometheus', role: 'viewer' });
    expect(() => runTokenCreate(file, 'prometheus', 'admin', io)).toThrow(
      expect.objectContaining({ code: 'USAGE' }),
    );
    lines.length = 0;
    runTokenList(file, io);
    expect(lines).toEqual(['prometheus  viewer  created 2026-01-01T00:00:00.000Z']);
    expect(runTokenRevoke(file, 'prometheus', io)).toBe(0);
    expect(runTokenRevoke(file, 'prometheus', io)).toBe(1);
    expect(file.find(token)).toBeUndefined();
  });
});
