export { AlertRouter, SEVERITY_PRIORITY, type AlertRouterDeps } from './alert-router.js';
export {
  alertRoutingSchema,
  notifiersSchema,
  type AlertRoutingConfig,
  type NotifierConfig,
  type NotifierType,
} from './config-schema.js';
export {
  DeliveryStore,
  NOTIFICATIONS_DB_SCHEMA,
  notificationsDbPath,
  openDeliveryReader,
  type DeliveryQuery,
  type DeliveryReader,
  type DeliveryRecord,
  type DeliveryState,
} from './delivery-store.js';
export { startHubNotifiers, type HubNotifiers } from './hub-notifiers.js';
export { Notifiers, type NotifiersDeps } from './notifiers.js';
export type { ChannelStats } from './notifier-channel.js';
export { webhookSignature } from './transports/webhook-transport.js';
