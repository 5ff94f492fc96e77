export {
  EventStore,
  type EventStoreDeps,
  type EventStoreOptions,
  type EventStoreStats,
  type OutboxRouting,
  type RetentionResult,
  type WriterControl,
} from './event-store.js';
export { durableAckHook, type PublishedPacket } from './durable-acks.js';
export { openEventReader, type EventReader } from './event-reader.js';
export type {
  Bucket,
  DownsampleQuery,
  EventHistory,
  EventQuery,
  LatestValue,
  StoredEvent,
} from './event-queries.js';
export { runEventsCommand, type EventsCommandIo, type EventsCommandOptions } from './events-command.js';
export { EVENTS_DB_SCHEMA, eventsDbPath } from './schema.js';
export {
  openOutboxReader,
  Outbox,
  type DeadLetter,
  type OutboxBacklog,
  type OutboxEvent,
  type OutboxReader,
  type OutboxRow,
} from './outbox.js';
export type { OutboxEntry, OutboxLimit, OutboxRouteInit, ReplayRow } from './writer-protocol.js';
export { storeOptionsFromConfig } from './config.js';
