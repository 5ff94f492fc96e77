import { MemoryLogger } from '../../kernel/index.js';
import { createApiApp, type ApiExtensions } from './api-app.js';
import type { HttpApiPorts } from './ports.js';

/** Ports that answer nothing: the document depends only on the routes, never on a hub. */
const NO_PORTS: HttpApiPorts = {
  rules: () => [],
  rulesStatus: () => undefined,
  traces: undefined,
  devices: { get: () => undefined, list: () => [] },
  postEvent: () => undefined,
  health: () => ({}),
};

/**
 * The OpenAPI 3.1 document of the API as `/api/openapi.json` serves it; kept in
 * `schemas/openapi.json` (scripts/openapi.ts writes it, a test checks it is current).
 */
export async function openApiDocument(extensions?: ApiExtensions): Promise<unknown> {
  const app = createApiApp({
    ports: NO_PORTS,
    logger: new MemoryLogger(),
    maxBodyBytes: 64 * 1024,
    secure: false,
    ...(extensions && { extensions }),
  });
  const res = await app.request('/api/openapi.json');
  return await res.json();
}

/** The document as it is stored: two-space JSON and a final newline. */
export async function openApiText(extensions?: ApiExtensions): Promise<string> {
  return JSON.stringify(await openApiDocument(extensions), null, 2) + '\n';
}
