import type { MessageSource, OutgoingMessage, Publisher } from '../../kernel/index.js';

/** Stands in for the broker where nothing published is looked at: accepts and drops everything. */
export const noPublisher: Publisher = { publish: () => Promise.resolve() };

/** Stands in for the broker: appends every message it is handed to `into`, and accepts it. */
export function recordingPublisher(into: OutgoingMessage[]): Publisher {
  return {
    publish: (message) => {
      into.push(message);
      return Promise.resolve();
    },
  };
}

/** A broker on which nobody ever publishes. */
export const silentSource: MessageSource = { onMessage: () => undefined, offOwner: () => undefined };
