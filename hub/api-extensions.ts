import type { MiddlewareHandler } from 'hono';
import type { Logger } from '../kernel/index.js';
import { requireRole, type ApiEnv, type ApiExtensions } from './http/index.js';
import { httpMetrics, metricsRoutes, requestLog, type HubMetrics } from './metrics/index.js';
import { ruleFilesRoutes, type RuleFiles } from './rule-files/index.js';

const admin = requireRole('admin');

/** Reading rule files is a viewer's; validating, previewing, saving and restoring are an admin's (the editor). */
const adminForChanges: MiddlewareHandler<ApiEnv> = (c, next) =>
  c.req.method === 'GET' || c.req.method === 'HEAD' ? next() : admin(c, next);

/** `/api/rule-files`, behind the API's logins with changes for admins. */
export function ruleFilesMount(service: RuleFiles): NonNullable<ApiExtensions['routes']>[number] {
  return { path: '/api/rule-files', app: ruleFilesRoutes(service, adminForChanges as MiddlewareHandler) };
}

/**
 * What the hub mounts on its HTTP API beside the API's own routes: every request timed and logged
 * (first, so refused ones are too), `GET /metrics` (a viewer's, as every GET), and the rule files.
 */
export function hubApiExtensions(parts: {
  metrics: HubMetrics;
  ruleFiles: RuleFiles;
  logger: Logger;
  /** What the hub's caller adds (tests). */
  more?: ApiExtensions | undefined;
}): ApiExtensions {
  return {
    middleware: [httpMetrics(parts.metrics), requestLog(parts.logger), ...(parts.more?.middleware ?? [])],
    routes: [
      ruleFilesMount(parts.ruleFiles),
      { path: '/', app: metricsRoutes(parts.metrics) },
      ...(parts.more?.routes ?? []),
    ],
  };
}

/**
 * The rule-file routes for the OpenAPI document alone (scripts/openapi.ts, its test): the document
 * reads only the declared routes, so no handler, and no service, ever runs.
 */
export function documentedExtensions(): ApiExtensions {
  return { routes: [ruleFilesMount(undefined as unknown as RuleFiles)] };
}
