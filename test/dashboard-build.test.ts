import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDashboard, type DashboardWeight } from '../scripts/build.js';
import { TempDirs } from './support/temp.js';

const temp = new TempDirs();
let out = '';
let weight: DashboardWeight;

// The browser bundle as `npm install` builds it, into a folder of this test's own.
beforeAll(() => {
  out = temp.make('edgehub-dashboard-');
  weight = buildDashboard(out);
});
afterAll(() => temp.cleanup());

const files = (): string[] =>
  readdirSync(join(out, 'assets')).filter((f) => !f.endsWith('.gz') && !f.endsWith('.br'));

describe('the dashboard build (npm run build)', () => {
  it('writes an index.html naming hashed files that exist, with nothing inline for the CSP to block', () => {
    const index = readFileSync(join(out, 'index.html'), 'utf8');
    const refs = [...index.matchAll(/(?:src|href)="\/(assets\/[^"]+)"/g)].map((m) => m[1] ?? '');
    expect(refs.some((r) => /^assets\/main-[A-Z0-9]+\.js$/.test(r))).toBe(true);
    expect(refs.some((r) => /^assets\/main-[A-Z0-9]+\.css$/.test(r))).toBe(true);
    for (const r of refs) expect(() => readFileSync(join(out, r))).not.toThrow();
    expect(index).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>|<style|style="/);
  });

  it('puts a .gz and a .br beside every file, each unpacking to the same bytes', () => {
    for (const name of [...files().map((f) => join('assets', f)), 'index.html']) {
      const original = readFileSync(join(out, name));
      expect(gunzipSync(readFileSync(join(out, `${name}.gz`))).equals(original)).toBe(true);
      expect(brotliDecompressSync(readFileSync(join(out, `${name}.br`))).equals(original)).toBe(true);
    }
  });

  it('weighs at most 250 KB gzipped in all, with the rule editor (CodeMirror) in its own chunk', () => {
    expect(weight.total).toBeLessThanOrEqual(250_000);
    expect(weight.editor).toBeGreaterThan(50_000);
    expect(weight.initial).toBeLessThan(weight.total - weight.editor);
    const index = readFileSync(join(out, 'index.html'), 'utf8');
    expect(index).not.toContain(weight.editorFile);
    // What the first page loads holds no CodeMirror: its class names appear only in the editor's chunks.
    for (const r of [...index.matchAll(/"\/(assets\/[^"]+\.js)"/g)].map((m) => m[1] ?? ''))
      expect(readFileSync(join(out, r), 'utf8')).not.toContain('cm-gutter');
  });
});
