/**
 * Writes `schemas/openapi.json`, the OpenAPI 3.1 document of the HTTP API (what `/api/openapi.json`
 * serves), for people and tools without a running hub. `npx tsx scripts/openapi.ts`; the test
 * hub/http/openapi-document.test.ts fails while the copy is stale.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { documentedExtensions } from '../hub/api-extensions.js';
import { openApiText } from '../hub/http/openapi-document.js';

const file = join(dirname(fileURLToPath(import.meta.url)), '..', 'schemas', 'openapi.json');
writeFileSync(file, await openApiText(documentedExtensions()));
process.stdout.write(`wrote ${file}\n`);
