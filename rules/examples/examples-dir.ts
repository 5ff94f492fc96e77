import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The example rules ship as the YAML in this directory. The bundle runs from `dist/`, where the build
 * copies no YAML, so the directory is found the same way from either place: by walking up to the
 * package root (the directory with `package.json` and `rules/examples`).
 */
function findExamplesDir(): string {
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = dirname(dir)) {
    const candidate = join(dir, 'rules', 'examples');
    if (existsSync(join(dir, 'package.json')) && existsSync(candidate)) return candidate;
    // No package root above: a directory that does not exist, so loading it fails as RULES_DIR_NOT_FOUND.
    if (dirname(dir) === dir) return join(start, 'rules', 'examples');
  }
}

/** The rules directory the demo runs with (`edgehub start --demo`). */
export const EXAMPLE_RULES_DIR: string = findExamplesDir();
