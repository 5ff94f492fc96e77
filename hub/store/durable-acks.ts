import type { Clock, MqttMessage, QoS } from '../../kernel/index.js';
import type { EventStore } from './event-store.js';

/** What the hook reads of a client PUBLISH (aedes' packet has more). */
export interface PublishedPacket {
  topic: string;
  payload: Buffer | string;
  qos: QoS;
  retain: boolean;
}

/**
 * The broker's `beforePublish` hook for durable acknowledgements: a QoS 1/2 message goes into the
 * event store first, and its PUBACK/PUBREC waits until the batch holding it is committed (group
 * commit: every message held in one turn of the event loop shares one transaction). QoS 0 and the
 * broker's own `$` topics pass straight through. The store lets an acknowledgement go without its
 * commit during a write outage or after `ackTimeoutMs`, and counts it (`ackedBeforeStored`), so a
 * failing disk never stalls publishers. The broker's later `append` of the same message is skipped.
 */
export function durableAckHook(
  store: () => EventStore | undefined,
  clock: Clock,
): (packet: PublishedPacket, client: { id: string }) => Promise<void> | undefined {
  return (packet, client) => {
    if (packet.qos === 0 || packet.topic.startsWith('$')) return undefined;
    const message: MqttMessage = {
      topic: packet.topic,
      payload: Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload),
      qos: packet.qos,
      retain: packet.retain,
      clientId: client.id,
      receivedAt: clock.now(),
    };
    return store()?.appendDurable(message);
  };
}
