/**
 * The shapes aedes hands its persistence. aedes types them loosely (`any`); these name the fields the
 * persistence reads and leave the rest to travel along untouched.
 */

/** A PUBLISH (or a PUBREL standing in for one in the outgoing queue) as aedes passes it. */
export interface Packet {
  cmd?: string;
  topic?: string | undefined;
  payload?: Buffer | Uint8Array | string;
  qos?: number;
  retain?: boolean;
  dup?: boolean;
  messageId?: number | undefined;
  /** Which broker (process) created the packet, and its sequence there: together they identify it. */
  brokerId?: string | undefined;
  brokerCounter?: number;
  clientId?: string;
  /** MQTT 5 no-local. */
  nl?: boolean;
  /** MQTT 5 properties: user properties, correlation data, message expiry interval, ... */
  properties?: Record<string, unknown>;
  /** Epoch ms after which a queued message is dropped (MQTT 5 message expiry). */
  messageExpiry?: number;
  [key: string]: unknown;
}

export interface ClientRef {
  id: string;
}

export interface BrokerRef {
  id: string;
  /** aedes' connected clients by id. */
  clients?: Record<string, unknown>;
}

/** One subscription of a SUBSCRIBE packet, the whole of it. */
export interface Subscription {
  topic: string;
  qos: number;
  /** MQTT 5 retain handling: 0 send retained, 1 only for new subscriptions, 2 never. */
  rh?: number | undefined;
  /** MQTT 5 retain as published. */
  rap?: boolean | undefined;
  /** MQTT 5 no local. */
  nl?: boolean | undefined;
  /** MQTT 5 subscription identifier, echoed on matching messages. */
  subscriptionIdentifier?: number;
}

/** A subscription without its topic, as stored per (client, topic). */
export interface SubscriptionOptions {
  qos: number;
  rh?: number | undefined;
  rap?: boolean | undefined;
  nl?: boolean | undefined;
  subscriptionIdentifier?: number;
}

/** What `subscriptionsByTopic` returns: a matching subscription and whose it is. */
export interface TopicSubscription {
  clientId: string;
  topic: string;
  qos: number;
  rh?: number | undefined;
  rap?: boolean | undefined;
  nl?: boolean | undefined;
}

/**
 * The copy queued for delivery: the fields aedes' own Packet class keeps, so a queued packet looks
 * the same whichever persistence holds it (`messageId` is assigned when it is sent).
 */
export function queuedCopy(original: Packet): Packet {
  const copy: Packet = {};
  if (Object.hasOwn(original, 'clientId')) copy.clientId = original.clientId as string;
  if (Object.hasOwn(original, 'nl')) copy.nl = original.nl as boolean;
  if (Object.hasOwn(original, 'properties')) copy.properties = original.properties as Record<string, unknown>;
  if (Object.hasOwn(original, 'messageExpiry')) copy.messageExpiry = original.messageExpiry as number;
  copy.cmd = original.cmd || 'publish';
  copy.brokerId = original.brokerId;
  copy.brokerCounter = original.brokerCounter || 0;
  copy.topic = original.topic;
  copy.payload = original.payload || Buffer.alloc(0);
  copy.qos = original.qos || 0;
  copy.retain = original.retain || false;
  copy.dup = original.dup || false;
  if (copy.qos > 0 || copy.cmd !== 'publish') copy.messageId = undefined;
  return copy;
}
