#!/usr/bin/env node
// Runs the compiled CLI; `npm install` builds it through the `prepare` script.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const compiled = new URL('../dist/hub/cli.js', import.meta.url);
if (!existsSync(fileURLToPath(compiled))) {
  console.error('edgehub: dist/ is missing; run `npm run build` (npm install does it for you).');
  process.exit(1);
}
const { main } = await import(compiled.href);
await main(process.argv.slice(2));
