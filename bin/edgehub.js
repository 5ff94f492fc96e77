#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node --max-semi-space-size=4 --heap-growing-percent=15
// The flags keep the hub's memory small on a Raspberry Pi: V8's young generation (16 MiB semi-spaces
// by default) is what grows RSS under a message load, and glibc gives each thread that allocates its
// own malloc arena. The benchmarks run the hub with these same flags and environment (they read them
// from this line).
// Runs the compiled CLI; `npm install` builds it through the `prepare` script.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const compiled = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(fileURLToPath(compiled))) {
  console.error('edgehub: dist/ is missing; run `npm run build` (npm install does it for you).');
  process.exit(1);
}
const { main } = await import(compiled.href);
await main(process.argv.slice(2));
