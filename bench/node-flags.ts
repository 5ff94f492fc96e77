import { readFileSync } from 'node:fs';

/** The node flags the `edgehub` command runs with, read from its shebang so benchmarks use the same. */
export function productNodeFlags(): string[] {
  const bin = readFileSync(new URL('../bin/edgehub.js', import.meta.url), 'utf8');
  const shebang = bin.split('\n', 1)[0] ?? '';
  return shebang.split(/\s+/).filter((word) => word.startsWith('--'));
}
