export { HttpApi, type HttpApiDeps } from './http-api.js';
export type { HttpApiPorts } from './routes.js';
