import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runInstall } from './install.js';
import { checkNodeVersion, nodeIsRecentEnough } from './node-version.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('the Node.js version check', () => {
  it('accepts 20.19 and later, refuses what is older', () => {
    for (const v of ['v20.19.0', 'v20.20.2', 'v22.0.0', 'v24.1.0']) expect(nodeIsRecentEnough(v)).toBe(true);
    for (const v of ['v18.19.0', 'v20.18.3', 'v19.9.0', 'nonsense'])
      expect(nodeIsRecentEnough(v)).toBe(false);
  });

  it("refuses Debian's Node.js 18 with NODE_TOO_OLD, naming where a newer one comes from", () => {
    expect(() => checkNodeVersion('v18.19.0')).toThrow(
      expect.objectContaining({
        code: 'NODE_TOO_OLD',
        message: expect.stringContaining('deb.nodesource.com') as string,
      }) as Error,
    );
  });

  it('install refuses before it writes anything', () => {
    const root = mkdtempSync(join(tmpdir(), 'edgehub-install-'));
    dirs.push(root);
    expect(() => runInstall({ root, testing: { nodeVersion: 'v18.19.0' } })).toThrow(
      expect.objectContaining({ code: 'NODE_TOO_OLD' }) as Error,
    );
    expect(existsSync(join(root, 'etc'))).toBe(false);
  });
});
