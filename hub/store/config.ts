import { parseDuration } from '../../kernel/index.js';
import type { HubConfig } from '../config/schema.js';
import type { EventStoreOptions } from './event-store.js';

/** The event store's options from the validated `store:` section. */
export function storeOptionsFromConfig(store: HubConfig['store']): EventStoreOptions {
  return {
    flushIntervalMs: parseDuration(store.flush_interval),
    batchSize: store.batch_size,
    ackTimeoutMs: parseDuration(store.ack_timeout),
    maxBufferedEvents: store.max_buffered_events,
    retention: {
      maxAgeMs: parseDuration(store.retention.max_age),
      maxSizeBytes: store.retention.max_size_mb * 1024 * 1024,
      checkEveryMs: parseDuration(store.retention.check_every),
    },
  };
}
