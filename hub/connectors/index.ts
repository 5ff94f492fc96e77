export {
  connectorListSchema,
  connectorSchema,
  type ConnectorConfig,
  type ConnectorType,
  type InRouteConfig,
  type OutRouteConfig,
} from './config-schema.js';
export type { ConnectorCounters, ConnectorState } from './connector-runner.js';
export { Connectors, type ConnectorEvent, type ConnectorsDeps, type ConnectorStatus } from './connectors.js';
export type { EventEnvelope } from './format.js';
export { CONNECTOR_STATUS_ROOT, OutboxRoutes } from './outbox-routes.js';
