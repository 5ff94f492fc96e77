import type { Duplex } from 'node:stream';
import type { AedesPublishPacket, Client, ConnectPacket, PublishPacket } from 'aedes';
import type { Clock, ErrorCode, Logger } from '../../../kernel/index.js';
import { MqttConnection, type ConnectionContext, type ViolationReport } from './connection.js';
import { encode5 } from './decoder.js';
import { serverKeepAlive } from './keep-alive.js';
import { isSharedTopic, readDelivery } from './shared-topics.js';
import { SubscriptionIdRegistry } from './subscription-ids.js';

export interface Mqtt5LayerOptions {
  /** Largest packet the hub accepts, in bytes (the broker's `maximumPacketSize`). */
  maxPacketBytes: number;
  /** Longest keep-alive an MQTT 5 client gets, in seconds; 0 means no limit. */
  maxKeepaliveSeconds: number;
}

export interface Mqtt5LayerDeps {
  options: Mqtt5LayerOptions;
  clock: Clock;
  logger: Logger;
  /** A client acknowledged a shared subscription's delivery. */
  onSharedAck?: (deliveryKey: string) => void;
}

export interface Mqtt5Stats {
  /** Connections closed because the client broke the protocol. */
  protocolErrors: number;
  /** Messages not sent to a client because they exceed the Maximum Packet Size it declared. */
  droppedOverClientMaximum: number;
}

/**
 * What edgehub adds to aedes 2.0.0-beta.1 so MQTT 5 clients get what the protocol promises. aedes
 * stores several client properties without honouring them; where an aedes hook reaches, the fix
 * is a hook (`preConnect`, `authorizeForward`, `authorizePublish`); where none does, it is
 * {@link MqttConnection}, a packet-level layer on each connection's stream.
 */
export class Mqtt5Layer {
  private readonly counters = { protocolErrors: 0, droppedOverClientMaximum: 0 };
  private readonly subscriptionIds = new SubscriptionIdRegistry();
  private readonly context: ConnectionContext;
  private readonly open = new Set<MqttConnection>();

  constructor(private readonly deps: Mqtt5LayerDeps) {
    const { options, clock } = deps;
    this.context = {
      maxPacketBytes: options.maxPacketBytes,
      maxKeepaliveSeconds: options.maxKeepaliveSeconds,
      clock,
      subscriptionIds: this.subscriptionIds,
      sessionOwners: new Map(),
      onViolation: (report) => this.onViolation(report),
      ...(deps.onSharedAck && { onSharedAck: deps.onSharedAck }),
    };
  }

  /** The stream aedes should handle in place of `stream`. */
  wrap(stream: Duplex): Duplex {
    const connection = new MqttConnection(stream, this.context);
    this.open.add(connection);
    connection.once('close', () => this.open.delete(connection));
    return connection;
  }

  /**
   * The PUBACK/PUBREC aedes sends for `messageId` on `conn` waits until `until` settles (see
   * `BrokerDeps.holdAck`). Every connection aedes reads is one of the layer's.
   */
  deferAck(conn: unknown, messageId: number, until: Promise<void>): void {
    if (conn instanceof MqttConnection) conn.deferAck(messageId, until);
  }

  /**
   * Ends every connection still open. aedes closes the clients it accepted; this catches the ones
   * it has not (no CONNECT yet), which would otherwise hold the listener open until aedes' 30 s
   * connect timeout.
   */
  closeAll(): void {
    for (const connection of this.open) connection.destroy();
    this.open.clear();
  }

  /**
   * For aedes `preConnect`: an MQTT 5 client asking for a longer keep-alive than the hub allows
   * (or none) is held to the hub's; the connection layer tells it so in CONNACK (Server Keep Alive).
   */
  limitKeepAlive(packet: ConnectPacket): void {
    const imposed = serverKeepAlive(
      packet.protocolVersion ?? 4,
      packet.keepalive ?? 0,
      this.deps.options.maxKeepaliveSeconds,
    );
    if (imposed !== undefined) packet.keepalive = imposed;
  }

  /**
   * For aedes `authorizeForward`: a message larger than the Maximum Packet Size the client declared
   * is not sent to it (MQTT 5 §3.1.2.11.4); aedes then treats it as delivered.
   */
  fitsClient(client: Client, packet: AedesPublishPacket): boolean {
    const max = client.maximumPacketSize;
    if (client.version !== 5 || max === undefined) return true;
    const ids = packet.retain ? [] : (this.subscriptionIds.get(client.id)?.matching(packet.topic) ?? []);
    // A shared subscription's delivery goes out on its original topic (see shared-topics.ts).
    const delivered = isSharedTopic(packet.topic) ? readDelivery(packet.topic)?.topic : undefined;
    const size = publishWireSize(delivered === undefined ? packet : { ...packet, topic: delivered }, ids);
    if (size <= max) return true;
    this.counters.droppedOverClientMaximum++;
    this.deps.logger.debug('message larger than the client accepts was not sent to it', {
      client: client.id,
      topic: packet.topic,
      bytes: size,
      clientMaximum: max,
    });
    return false;
  }

  /**
   * For aedes `authorizePublish`, which also sees every will before it is published: Will Delay
   * Interval belongs to the CONNECT's will, never to the PUBLISH it becomes (MQTT 5 §3.1.3.2).
   */
  stripWillOnlyProperties(packet: PublishPacket): void {
    const props = packet.properties as
      (PublishPacket['properties'] & { willDelayInterval?: number }) | undefined;
    if (props?.willDelayInterval === undefined) return;
    const { willDelayInterval: _dropped, ...rest } = props;
    packet.properties = rest;
  }

  /** aedes wiped an expired session; its subscription identifiers go with it. */
  sessionExpired(clientId: string): void {
    if (!this.context.sessionOwners.has(clientId)) this.subscriptionIds.drop(clientId);
  }

  stats(): Mqtt5Stats {
    return { ...this.counters };
  }

  private onViolation(report: ViolationReport): void {
    this.counters.protocolErrors++;
    const code: ErrorCode = 'MQTT_PROTOCOL_ERROR';
    this.deps.logger.warn('closed a connection that broke the MQTT protocol', {
      code,
      client: report.clientId ?? 'unknown',
      protocol: report.protocolVersion ?? 'unknown',
      reasonCode: `0x${report.code.toString(16)}`,
      error: report.message,
    });
  }
}

/** Bytes a PUBLISH takes on an MQTT 5 connection, carrying the given Subscription Identifiers. */
export function publishWireSize(packet: AedesPublishPacket, ids: readonly number[]): number {
  const present = packet.properties?.subscriptionIdentifier;
  const all = new Set<number>(Array.isArray(present) ? present : present === undefined ? [] : [present]);
  for (const id of ids) all.add(id);
  const { subscriptionIdentifier: _si, ...others } = packet.properties ?? {};
  if (Object.values(others).some((v) => v !== undefined)) {
    // Other properties (user properties, correlation data...): let mqtt-packet measure them.
    const withIds = all.size === 0 ? others : { ...others, subscriptionIdentifier: [...all] };
    return encode5({ ...packet, cmd: 'publish', messageId: 1, properties: withIds }).length;
  }
  const payloadBytes =
    typeof packet.payload === 'string' ? Buffer.byteLength(packet.payload) : packet.payload.length;
  let propsBytes = 0;
  for (const id of all) propsBytes += 1 + varIntBytes(id);
  const remaining =
    2 +
    Buffer.byteLength(packet.topic) +
    (packet.qos > 0 ? 2 : 0) +
    varIntBytes(propsBytes) +
    propsBytes +
    payloadBytes;
  return 1 + varIntBytes(remaining) + remaining;
}

function varIntBytes(n: number): number {
  return n < 128 ? 1 : n < 16_384 ? 2 : n < 2_097_152 ? 3 : 4;
}
