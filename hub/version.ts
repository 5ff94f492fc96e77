import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * edgehub's version, from the `package.json` of the package this module runs from (found by walking
 * up, so it is the same from the sources and from the `dist/` bundle); `unknown` when none is found.
 */
function readVersion(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      try {
        const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown; version?: unknown };
        if (pkg.name === 'edgehub' && typeof pkg.version === 'string') return pkg.version;
      } catch {
        // Not readable as JSON: keep looking further up.
      }
    }
    if (dirname(dir) === dir) return 'unknown';
  }
}

export const EDGEHUB_VERSION: string = readVersion();
