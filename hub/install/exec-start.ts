import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExecStart } from './service-unit.js';

/**
 * The edgehub package's folder: the nearest one above this module holding edgehub's package.json.
 * The same from the TypeScript sources (hub/install/) and from the bundle (dist/).
 */
export function packageRoot(from: string = fileURLToPath(import.meta.url)): string {
  let dir = dirname(from);
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      const { name } = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string };
      if (name === 'edgehub') return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no edgehub package.json above ${from}`);
    dir = parent;
  }
}

/**
 * How the service starts the hub: this node binary with the flags and environment of the `edgehub`
 * command's shebang (`#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node --flag ...`), so the service runs
 * with the memory settings a user gets from a terminal. Paths are resolved through symlinks (npm's
 * global bin links into its lib folder), so the unit names the files themselves.
 */
export function resolveExecStart(root: string = packageRoot()): ExecStart {
  const script = realpathSync(join(root, 'bin', 'edgehub.js'));
  const shebang = readFileSync(script, 'utf8').split('\n', 1)[0] ?? '';
  const words = shebang
    .replace(/^#!\S*/, '')
    .trim()
    .split(/\s+/);
  return {
    node: realpathSync(process.execPath),
    nodeFlags: words.filter((w) => w.startsWith('--')),
    script,
    environment: words.filter((w) => /^[A-Z_][A-Z0-9_]*=/.test(w)),
  };
}
