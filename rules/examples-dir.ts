import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The example rules ship as YAML beside this file in the source tree. The bundle runs from `dist/`,
 * where the build copies no YAML, so from there the package root is found by walking up to
 * `package.json`.
 */
function findExamplesDir(): string {
  const beside = fileURLToPath(new URL('./examples', import.meta.url));
  if (existsSync(beside)) return beside;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'rules', 'examples');
    if (existsSync(join(dir, 'package.json')) && existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return beside;
    dir = parent;
  }
}

/** The rules directory the demo runs with (`edgehub start --demo`). */
export const EXAMPLE_RULES_DIR: string = findExamplesDir();
