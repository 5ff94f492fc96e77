// First: it must run before any dependency loads `debug` (see the module).
// eslint-disable-next-line no-restricted-imports -- a side effect that must run before kernel/index.ts loads anything
import '../kernel/quiet-debug.js';
export { Broker, type BrokerStats, type ListenAddress } from './broker/index.js';
export { main } from './cli.js';
export { loadConfig, type ConfigOverrides } from './config/load.js';
export { configSchema, type DeviceConfig, type HubConfig } from './config/schema.js';
export {
  connectorSchema,
  type ConnectorConfig,
  type ConnectorEvent,
  type ConnectorStatus,
  type EventEnvelope,
} from './connectors/index.js';
export type { HubBus, HubEvents } from './events.js';
export { Hub, type HubDeps } from './hub.js';
export {
  ruleFilesRoutes,
  RuleFiles,
  RuleFileVersions,
  RulesInvalidError,
  type Preview,
  type RuleFileProblem,
  type SaveResult,
} from './rule-files/index.js';
export { DeviceRegistry, type DeviceRecord, type DeviceStatus } from './registry/index.js';
export { EventStore, eventsDbPath, openEventReader, type StoredEvent } from './store/index.js';
export {
  AlertRouter,
  DeliveryStore,
  Notifiers,
  notifiersSchema,
  openDeliveryReader,
  webhookSignature,
  type DeliveryRecord,
  type NotifierConfig,
} from './notifiers/index.js';
