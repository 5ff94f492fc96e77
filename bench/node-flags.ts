import { readFileSync } from 'node:fs';

/** The words of the `edgehub` command's shebang after `env -S`, e.g. `MALLOC_ARENA_MAX=2 node --flag`. */
function shebangWords(): string[] {
  const bin = readFileSync(new URL('../bin/edgehub.js', import.meta.url), 'utf8');
  const shebang = bin.split('\n', 1)[0] ?? '';
  return shebang.split(/\s+/);
}

/** The node flags the `edgehub` command runs with, read from its shebang so benchmarks use the same. */
export function productNodeFlags(): string[] {
  return shebangWords().filter((word) => word.startsWith('--'));
}

/** The environment the `edgehub` command sets for node (its shebang's NAME=VALUE words). */
export function productNodeEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const word of shebangWords()) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(word);
    if (m?.[1] !== undefined && m[2] !== undefined) env[m[1]] = m[2];
  }
  return env;
}
