export { HttpApi, type HttpApiDeps } from './http-api.js';
export type { ConnectorControl, ConnectorPorts, HttpApiPorts } from './routes.js';
