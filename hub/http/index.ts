export { HttpApi, type HttpApiDeps, type HttpAuthConfig } from './http-api.js';
export { createApiApp, type ApiAppDeps, type ApiExtensions } from './api-app.js';
export { requireRole, roleCovers, ROLES, type ApiEnv, type Principal, type Role } from './api-env.js';
export { HttpProblem, badRequest, errorSchema } from './problem.js';
export { LiveStream, DEFAULT_STREAM_LIMITS, type StreamLimits, type StreamMessage } from './live-stream.js';
export { TokenFile, tokensPath, type TokenRecord } from './auth/token-file.js';
export type { ConnectorControl, ConnectorPorts, HttpApiPorts } from './ports.js';
