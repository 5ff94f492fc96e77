import { Duplex } from 'node:stream';
import type {
  IConnackPacket,
  IConnectPacket,
  IDisconnectPacket,
  IPublishPacket,
  ISubackPacket,
  ISubscribePacket,
} from 'mqtt-packet';
import type { Clock, TimerHandle } from '../../../kernel/index.js';
import { encode5, PacketDecoder } from './decoder.js';
import { PacketFramer, PacketType, type RawPacket } from './frame.js';
import {
  checkFixedHeader,
  checkTopicName,
  isViolation,
  readAck,
  readFilters,
  readPublishHeader,
  ReasonCode,
  type Violation,
} from './raw-packet.js';
import { ReceiveWindow } from './receive-window.js';
import { serverKeepAlive } from './keep-alive.js';
import type { SubscriptionIdRegistry } from './subscription-ids.js';
import { isShareFilter, isSharedTopicAt, memberFilter, parseShare, readDelivery } from './shared-topics.js';
import { OutboundAliases } from './topic-aliases.js';

/** A client that broke the protocol, as the connection layer reports it. */
export interface ViolationReport extends Violation {
  readonly clientId: string | undefined;
  readonly protocolVersion: number | undefined;
}

/** What every connection of one broker shares. */
export interface ConnectionContext {
  readonly maxPacketBytes: number;
  /** 0 means no limit. */
  readonly maxKeepaliveSeconds: number;
  readonly clock: Clock;
  readonly subscriptionIds: SubscriptionIdRegistry;
  readonly onViolation: (report: ViolationReport) => void;
  /** A Clean Start connection took the session, or a session ended with its connection. */
  readonly sessionOwners: Map<string, MqttConnection>;
  /** A client acknowledged a shared subscription's delivery (PUBACK, or PUBREC for QoS 2). */
  readonly onSharedAck?: (deliveryKey: string) => void;
}

/** Bytes of held-back PUBLISH packets above which aedes is asked to wait before writing more. */
const HELD_HIGH_WATER_BYTES = 256 * 1024;
/** Queued outgoing bytes at which they are written without waiting for the end of the turn. */
const OUTGOING_FLUSH_BYTES = 64 * 1024;
/** How long a closing connection waits for the peer to close after our DISCONNECT, in ms. */
const CLOSE_LINGER_MS = 2000;
/** How long a protocol error found before CONNACK waits for aedes to send the CONNACK, in ms. */
const CONNACK_WAIT_MS = 5000;

/** Receive Maximum when an MQTT 5 client sends none (MQTT 5 §3.1.2.11.3). */
const DEFAULT_RECEIVE_MAXIMUM = 65_535;

/**
 * The packet-level layer between a client's byte stream and aedes. aedes reads and writes this
 * stream as if it were the socket; the layer looks at each whole packet on the way:
 *
 * - in: rejects packets aedes would accept or drop without a reason (invalid UTF-8 or wildcard
 *   topics, forbidden packet types and flags, a second CONNECT), answering an MQTT 5 client with a
 *   DISCONNECT and its reason code and closing an older one;
 * - out (MQTT 5 only): adds Server Keep Alive to CONNACK, every matching Subscription Identifier to
 *   PUBLISH, holds QoS 1/2 PUBLISH beyond the client's Receive Maximum until a slot frees, and
 *   sends topics a client receives repeatedly by Topic Alias when it accepts them.
 */
export class MqttConnection extends Duplex {
  /**
   * What the layer does with each kind of packet from the client; kinds not listed pass as they are.
   * A handler returns why the packet breaks the protocol, or the bytes to pass on in its place.
   */
  private static readonly inbound: Partial<
    Record<number, (c: MqttConnection, p: RawPacket) => Violation | Buffer | undefined>
  > = {
    [PacketType.PUBLISH]: (c, p) => c.checkPublish(p),
    [PacketType.PUBACK]: (c, p) => c.onAck(p),
    [PacketType.PUBREC]: (c, p) => c.onAck(p),
    [PacketType.PUBREL]: (c, p) => c.onAck(p),
    [PacketType.PUBCOMP]: (c, p) => c.onAck(p),
    [PacketType.SUBSCRIBE]: (c, p) => c.onSubscription(p),
    [PacketType.UNSUBSCRIBE]: (c, p) => c.onSubscription(p),
    [PacketType.DISCONNECT]: (c, p) => c.onDisconnect(p),
  };

  /** What the layer does with each kind of packet aedes sends an MQTT 5 client; the rest pass. */
  private static readonly outbound: Partial<Record<number, (c: MqttConnection, p: RawPacket) => void>> = {
    [PacketType.CONNACK]: (c, p) => c.onConnack(p),
    [PacketType.PUBLISH]: (c, p) => c.onPublishOut(p),
    [PacketType.SUBACK]: (c, p) => {
      c.onSuback(p);
      c.send(p.bytes);
    },
    [PacketType.PUBACK]: (c, p) => c.onAckOut(p),
    [PacketType.PUBREC]: (c, p) => c.onAckOut(p),
  };

  private readonly framerIn = new PacketFramer();
  private readonly decoder = new PacketDecoder();
  private framerOut: PacketFramer | undefined;
  private outDecoder: PacketDecoder | undefined;
  private window: ReceiveWindow<Buffer> | undefined;
  /** Set when the client accepts Topic Aliases (Topic Alias Maximum in CONNECT). */
  private aliases: OutboundAliases | undefined;
  /** The client's Maximum Packet Size; an alias that would take a packet over it is not used. */
  private clientMaxPacket = Infinity;
  private version: number | undefined;
  private clientId: string | undefined;
  private keepAliveOverride: number | undefined;
  /** Whether the session ends with this connection: Session Expiry Interval 0 (MQTT 5), a clean session (older). */
  private sessionEnds = true;
  private connackSent = false;
  private connackOk = false;
  /** Set once a violation is found; the connection is closing. */
  private violation: Violation | undefined;
  private disconnectPending = false;
  /** After aedes refused an oversized packet's header, bytes pass through untouched. */
  private passthrough = false;
  private readonly pendingSubscribes = new Map<number, { filters: string[]; id: number | undefined }>();
  /** What the acknowledgement of each of the client's QoS 1/2 messages waits for, by packet identifier. */
  private readonly heldAcks = new Map<number, Promise<void>>();
  /** Delivery keys of shared subscription messages in flight to the client, by packet identifier. */
  private readonly sharedInFlight = new Map<number, string>();
  private heldBytes = 0;
  private socketFull = false;
  private pausedForAedes = false;
  private writeDone: ((err?: Error | null) => void) | undefined;
  /** Bytes for the socket, written together once this turn of the event loop is done (see send). */
  private outgoing: Buffer[] = [];
  private outgoingBytes = 0;
  /** Something was written this turn; what else comes is queued until the turn ends. */
  private turnStarted = false;
  private timer: TimerHandle | undefined;

  constructor(
    private readonly socket: Duplex,
    private readonly ctx: ConnectionContext,
  ) {
    super({ allowHalfOpen: true });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => {
      if (!this.violation) this.push(null);
    });
    socket.on('drain', () => {
      this.socketFull = false;
      this.releaseWriter();
    });
    socket.on('error', (err) => this.destroy(err));
    socket.on('close', () => {
      this.ctx.clock.clearTimer(this.timer);
      if (!this.destroyed) this.destroy();
    });
  }

  override _read(): void {
    if (this.pausedForAedes && !this.violation) {
      this.pausedForAedes = false;
      this.socket.resume();
    }
  }

  override _writev(chunks: { chunk: Buffer }[], done: (err?: Error | null) => void): void {
    // Once a violation is found nothing more goes out, except the CONNACK a DISCONNECT must follow.
    if ((this.violation && !this.disconnectPending) || this.socket.destroyed) {
      done();
      return;
    }
    if (!this.framerOut) {
      // MQTT 3.1.1 and 3.1 clients: nothing to change on the way out.
      // One buffer, so that a packet written in pieces goes out whole (see send).
      const first = chunks[0];
      if (first) this.send(chunks.length === 1 ? first.chunk : Buffer.concat(chunks.map((c) => c.chunk)));
    } else {
      for (const { chunk } of chunks) this.framerOut.push(chunk);
      for (let r = this.framerOut.shift(); r.kind === 'packet'; r = this.framerOut.shift()) {
        this.onOutbound(r.packet);
        if (this.violation && !this.disconnectPending) break;
      }
    }
    this.writeDone = done;
    this.releaseWriter();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this._writev([{ chunk }], done);
  }

  override _final(done: (err?: Error | null) => void): void {
    this.flush();
    if (!this.violation) this.socket.end();
    done();
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.window?.clear();
    this.heldBytes = 0;
    const id = this.clientId;
    if (id !== undefined && this.ctx.sessionOwners.get(id) === this) {
      this.ctx.sessionOwners.delete(id);
      if (this.sessionEnds) this.ctx.subscriptionIds.drop(id);
    }
    // A violation is already closing the socket gracefully, so the DISCONNECT reaches the client.
    if (!this.violation) {
      this.ctx.clock.clearTimer(this.timer);
      // aedes destroys the stream right after a refusing CONNACK; the client must still get it.
      this.flush();
      this.socket.destroy();
    }
    done(err);
  }

  private onData(chunk: Buffer): void {
    if (this.violation) return;
    if (this.passthrough) {
      this.forward(chunk);
      return;
    }
    this.framerIn.push(chunk);
    let found: Violation | undefined;
    for (;;) {
      const r = this.framerIn.shift();
      if (r.kind === 'partial') {
        if (r.declaredBytes !== undefined && r.declaredBytes > this.ctx.maxPacketBytes) {
          // aedes refuses it from the header alone (0x95 to MQTT 5 clients) and counts it; its
          // body is never buffered here.
          this.passthrough = true;
          this.forward(this.framerIn.drain());
        }
        break;
      }
      if (r.kind === 'malformed') {
        found = { code: ReasonCode.MALFORMED_PACKET, message: r.reason };
        break;
      }
      const verdict = this.onInbound(r.packet);
      if (Buffer.isBuffer(verdict)) {
        this.forward(verdict);
        continue;
      }
      found = verdict;
      if (found) break;
      this.forward(r.packet.bytes);
    }
    if (found) this.fail(found);
  }

  private forward(bytes: Buffer): void {
    if (!this.push(bytes) && !this.pausedForAedes) {
      this.pausedForAedes = true;
      this.socket.pause();
    }
  }

  /** Looks at one packet from the client; returns why it breaks the protocol, or what to pass on instead. */
  private onInbound(packet: RawPacket): Violation | Buffer | undefined {
    const header = checkFixedHeader(packet, this.version);
    if (header) return header;
    if (packet.type === PacketType.CONNECT) return this.onConnect(packet);
    if (this.version === undefined) {
      return { code: ReasonCode.PROTOCOL_ERROR, message: 'the first packet must be CONNECT' };
    }
    return MqttConnection.inbound[packet.type]?.(this, packet);
  }

  private onConnect(packet: RawPacket): Violation | undefined {
    if (this.version !== undefined) {
      return { code: ReasonCode.PROTOCOL_ERROR, message: 'a second CONNECT on one connection' };
    }
    const decoded = this.decoder.decode(packet.bytes);
    if (decoded instanceof Error || decoded.cmd !== 'connect') {
      return {
        code: ReasonCode.MALFORMED_PACKET,
        message: `CONNECT: ${decoded instanceof Error ? decoded.message : 'not a CONNECT'}`,
      };
    }
    const connect: IConnectPacket = decoded;
    this.version = connect.protocolVersion ?? 4;
    this.clientId = connect.clientId === '' ? undefined : connect.clientId;
    if (this.version === 5) {
      this.framerOut = new PacketFramer();
      this.outDecoder = new PacketDecoder(5);
      this.window = new ReceiveWindow(connect.properties?.receiveMaximum ?? DEFAULT_RECEIVE_MAXIMUM);
      this.keepAliveOverride = serverKeepAlive(5, connect.keepalive ?? 0, this.ctx.maxKeepaliveSeconds);
      this.sessionEnds = (connect.properties?.sessionExpiryInterval ?? 0) === 0;
      const aliasMaximum = connect.properties?.topicAliasMaximum ?? 0;
      if (aliasMaximum > 0) this.aliases = new OutboundAliases(aliasMaximum);
      this.clientMaxPacket = connect.properties?.maximumPacketSize ?? Infinity;
    } else {
      this.sessionEnds = connect.clean !== false;
    }
    return undefined;
  }

  private checkPublish(packet: RawPacket): Violation | undefined {
    const header = readPublishHeader(packet);
    if (isViolation(header)) return header;
    if (header.topicEnd === header.topicStart) {
      // MQTT 5 allows an empty topic name when a Topic Alias names it (§3.3.2.3.4); aedes resolves it.
      if (this.version === 5) {
        const decoded = this.decoder.decode(packet.bytes);
        if (decoded instanceof Error) return { code: ReasonCode.MALFORMED_PACKET, message: decoded.message };
        if (decoded.cmd === 'publish' && decoded.properties?.topicAlias !== undefined) return undefined;
      }
      return {
        code: ReasonCode.PROTOCOL_ERROR,
        message: 'PUBLISH with an empty topic name and no Topic Alias',
      };
    }
    return checkTopicName(packet.bytes, header.topicStart, header.topicEnd);
  }

  private onAck(packet: RawPacket): Violation | undefined {
    const ack = readAck(packet);
    if (isViolation(ack)) return ack;
    if (packet.type === PacketType.PUBACK || packet.type === PacketType.PUBREC) {
      const key = this.sharedInFlight.get(ack.messageId);
      if (key !== undefined) {
        this.sharedInFlight.delete(ack.messageId);
        this.ctx.onSharedAck?.(key);
      }
    }
    const window = this.window;
    if (!window || packet.type === PacketType.PUBREL) return undefined;
    // A PUBREC with a failure code ends the QoS 2 flow just as PUBCOMP does (MQTT 5 §4.3.3).
    if (packet.type === PacketType.PUBREC && ack.reasonCode < 0x80) return undefined;
    for (const bytes of window.release(ack.messageId)) {
      this.heldBytes -= bytes.length;
      this.sendPublish(bytes);
    }
    this.releaseWriter();
    return undefined;
  }

  private onSubscription(packet: RawPacket): Violation | Buffer | undefined {
    const filters = readFilters(packet, this.version ?? 4);
    if (isViolation(filters)) return filters;
    if (this.version !== 5) return undefined;
    const messageId = packet.bytes.readUInt16BE(packet.bodyStart);
    const shared = filters.some(isShareFilter);
    if (packet.type === PacketType.UNSUBSCRIBE) {
      const rewritten = shared ? this.unshare(packet) : undefined;
      if (rewritten && !Buffer.isBuffer(rewritten)) return rewritten;
      const session = this.clientId === undefined ? undefined : this.ctx.subscriptionIds.get(this.clientId);
      for (const f of rewritten ? this.memberFilters(filters) : filters) session?.delete(f);
      return rewritten;
    }
    const decoded = this.decoder.decode(packet.bytes);
    if (decoded instanceof Error) return { code: ReasonCode.MALFORMED_PACKET, message: decoded.message };
    const subscribe = decoded as ISubscribePacket;
    const id = subscribe.properties?.subscriptionIdentifier;
    let replaced: Buffer | undefined;
    if (shared) {
      for (const sub of subscribe.subscriptions) {
        if (!isShareFilter(sub.topic)) continue;
        const share = parseShare(sub.topic);
        if (typeof share === 'string') return { code: ReasonCode.PROTOCOL_ERROR, message: share };
        // MQTT 5 §3.8.3.1: No Local on a shared subscription is a Protocol Error.
        if (sub.nl === true)
          return { code: ReasonCode.PROTOCOL_ERROR, message: `No Local on shared subscription ${sub.topic}` };
        sub.topic = memberFilter(this.clientId ?? '', share);
      }
      replaced = encode5(subscribe);
    }
    this.pendingSubscribes.set(messageId, {
      filters: shared ? subscribe.subscriptions.map((s) => s.topic) : filters,
      id: typeof id === 'number' ? id : undefined,
    });
    return replaced;
  }

  /** The filters aedes holds for `filters`: a shared one as its member filter. */
  private memberFilters(filters: readonly string[]): string[] {
    return filters.map((f) => {
      if (!isShareFilter(f)) return f;
      const share = parseShare(f);
      return typeof share === 'string' ? f : memberFilter(this.clientId ?? '', share);
    });
  }

  /** An UNSUBSCRIBE naming shared subscriptions, rewritten to their member filters. */
  private unshare(packet: RawPacket): Violation | Buffer {
    const decoded = this.decoder.decode(packet.bytes);
    if (decoded instanceof Error || decoded.cmd !== 'unsubscribe')
      return {
        code: ReasonCode.MALFORMED_PACKET,
        message: decoded instanceof Error ? decoded.message : 'not an UNSUBSCRIBE',
      };
    decoded.unsubscriptions = this.memberFilters(decoded.unsubscriptions);
    return encode5(decoded);
  }

  private onDisconnect(packet: RawPacket): undefined {
    if (this.version !== 5) return;
    const decoded = this.decoder.decode(packet.bytes);
    if (decoded instanceof Error) return;
    const expiry = (decoded as IDisconnectPacket).properties?.sessionExpiryInterval;
    if (expiry !== undefined) this.sessionEnds = expiry === 0;
  }

  /**
   * Holds the acknowledgement aedes will write for the client's `messageId` until `until` settles.
   * An MQTT 3.1.1 connection's packets to the client are framed from now on (they are whole at each
   * write aedes makes, so framing can start between two), so the acknowledgement can be found.
   */
  deferAck(messageId: number, until: Promise<void>): void {
    this.framerOut ??= new PacketFramer();
    this.heldAcks.set(messageId, until);
  }

  /** A PUBACK or PUBREC to the client: sent once what its message waits for has settled. */
  private onAckOut(packet: RawPacket): void {
    const ack = this.heldAcks.size === 0 ? undefined : readAck(packet);
    const until = ack && !isViolation(ack) ? this.heldAcks.get(ack.messageId) : undefined;
    if (!ack || isViolation(ack) || !until) {
      this.send(packet.bytes);
      return;
    }
    this.heldAcks.delete(ack.messageId);
    // Holds settle in the order their messages came, so the acknowledgements keep that order.
    void until.then(() => {
      if (!this.destroyed) this.send(packet.bytes);
    });
  }

  /** One whole packet aedes wrote to a client whose packets the layer frames. */
  private onOutbound(packet: RawPacket): void {
    const handle = MqttConnection.outbound[packet.type];
    if (handle) handle(this, packet);
    else this.send(packet.bytes);
  }

  private onConnack(packet: RawPacket): void {
    const decoded = this.outDecoder?.decode(packet.bytes);
    let bytes = packet.bytes;
    if (decoded && !(decoded instanceof Error) && decoded.cmd === 'connack') {
      const connack: IConnackPacket = decoded;
      this.connackOk = (connack.reasonCode ?? connack.returnCode ?? 0) === 0;
      const id = this.clientId ?? connack.properties?.assignedClientIdentifier;
      if (this.connackOk && id !== undefined) {
        this.clientId = id;
        // No session was present: whatever identifiers were known belong to a session that is gone.
        if (!connack.sessionPresent) this.ctx.subscriptionIds.drop(id);
        this.ctx.sessionOwners.set(id, this);
      }
      if (this.connackOk) {
        // Shared subscriptions are the hub's (see shared-topics.ts), though aedes says it has none.
        connack.properties = { ...connack.properties, sharedSubscriptionAvailable: true };
        if (this.keepAliveOverride !== undefined) connack.properties.serverKeepAlive = this.keepAliveOverride;
        bytes = encode5(connack);
      }
    }
    this.connackSent = true;
    this.send(bytes);
    if (this.disconnectPending && this.violation) this.closeWith(this.violation);
  }

  private onPublishOut(packet: RawPacket): void {
    const header = readPublishHeader(packet);
    if (isViolation(header)) {
      this.send(packet.bytes);
      return;
    }
    let bytes = this.withSubscriptionIds(packet, header.topicStart, header.topicEnd, header.retain);
    if (isSharedTopicAt(packet.bytes, header.topicStart, header.topicEnd))
      bytes = this.restoreSharedTopic(bytes, header.qos, header.messageId);
    if (header.qos > 0 && this.window && !this.window.offer(header.messageId, header.dup, bytes)) {
      this.heldBytes += bytes.length;
      return;
    }
    this.sendPublish(bytes);
  }

  /**
   * A shared subscription's delivery goes to the client on the topic it was published on; a QoS 1/2
   * one is remembered until the client acknowledges it, so the hub knows it arrived.
   */
  private restoreSharedTopic(bytes: Buffer, qos: number, messageId: number): Buffer {
    const decoded = this.outDecoder?.decode(bytes);
    if (!decoded || decoded instanceof Error || decoded.cmd !== 'publish') return bytes;
    const delivery = readDelivery(decoded.topic);
    if (!delivery) return bytes;
    if (qos > 0) this.sharedInFlight.set(messageId, delivery.key);
    decoded.topic = delivery.topic;
    return encode5(decoded);
  }

  /**
   * Sends a PUBLISH, by Topic Alias where the client accepts them. Aliases are applied as packets
   * leave, after the Receive Maximum window, so one that registers an alias always precedes those
   * using it.
   */
  private sendPublish(bytes: Buffer): void {
    const aliases = this.aliases;
    if (!aliases) {
      this.send(bytes);
      return;
    }
    const decoded = this.outDecoder?.decode(bytes);
    if (!decoded || decoded instanceof Error || decoded.cmd !== 'publish' || decoded.topic === '') {
      this.send(bytes);
      return;
    }
    const use = aliases.use(decoded.topic);
    if (!use) {
      this.send(bytes);
      return;
    }
    const publish: IPublishPacket = decoded;
    publish.properties = { ...publish.properties, topicAlias: use.alias };
    if (use.known) publish.topic = '';
    const aliased = encode5(publish);
    if (aliased.length > this.clientMaxPacket) {
      // Setting an alias up adds three bytes: a message that only just fit goes without one.
      aliases.forget(decoded.topic);
      this.send(bytes);
      return;
    }
    this.send(aliased);
  }

  /**
   * aedes sends one copy of a message that matches several subscriptions, carrying one identifier;
   * MQTT 5 §3.3.4 wants every matching subscription's identifier on it. Retained messages sent on
   * SUBSCRIBE carry that subscription's identifier already and are left alone.
   */
  private withSubscriptionIds(
    packet: RawPacket,
    topicStart: number,
    topicEnd: number,
    retain: boolean,
  ): Buffer {
    const session = this.clientId === undefined ? undefined : this.ctx.subscriptionIds.get(this.clientId);
    if (!session || session.size === 0 || retain) return packet.bytes;
    const ids = session.matching(packet.bytes.toString('utf8', topicStart, topicEnd));
    if (ids.length === 0) return packet.bytes;
    const decoded = this.outDecoder?.decode(packet.bytes);
    if (!decoded || decoded instanceof Error || decoded.cmd !== 'publish') return packet.bytes;
    const publish: IPublishPacket = decoded;
    const present = publish.properties?.subscriptionIdentifier;
    const all = new Set<number>(Array.isArray(present) ? present : present === undefined ? [] : [present]);
    const before = all.size;
    for (const id of ids) all.add(id);
    if (all.size === before) return packet.bytes;
    const sorted = [...all].sort((a, b) => a - b);
    publish.properties = {
      ...publish.properties,
      subscriptionIdentifier: sorted.length === 1 ? (sorted[0] ?? 0) : sorted,
    };
    return encode5(publish);
  }

  private onSuback(packet: RawPacket): void {
    const decoded = this.outDecoder?.decode(packet.bytes);
    if (!decoded || decoded instanceof Error || decoded.cmd !== 'suback') return;
    const suback: ISubackPacket = decoded;
    const pending = this.pendingSubscribes.get(suback.messageId ?? -1);
    if (!pending || this.clientId === undefined) return;
    this.pendingSubscribes.delete(suback.messageId ?? -1);
    if (pending.id === undefined && !this.ctx.subscriptionIds.get(this.clientId)) return;
    const session = this.ctx.subscriptionIds.getOrCreate(this.clientId);
    pending.filters.forEach((filter, i) => {
      const granted = suback.granted[i];
      if (typeof granted === 'number' && granted < 0x80) session.set(filter, pending.id);
    });
    this.ctx.subscriptionIds.prune(this.clientId);
  }

  /**
   * Writes bytes to the socket, coalescing a burst. The first packet of a turn of the event loop
   * goes out at once, so a lone reply never waits; what follows it in the same turn is queued and
   * written as one, at the end of the turn or once 64 KiB are waiting. One system call per packet
   * was a fifth of the broker thread's time when many messages go to one subscriber, and the
   * subscriber reads them in fewer, larger segments.
   */
  private send(bytes: Buffer): void {
    if (!this.turnStarted) {
      this.turnStarted = true;
      setImmediate(this.endTurn);
      if (!this.socket.destroyed && !this.socket.write(bytes)) this.socketFull = true;
      return;
    }
    this.outgoing.push(bytes);
    this.outgoingBytes += bytes.length;
    if (this.outgoingBytes >= OUTGOING_FLUSH_BYTES) this.flush();
  }

  private readonly endTurn = (): void => {
    this.turnStarted = false;
    this.flush();
  };

  /** Writes what send() queued, in order. */
  private flush(): void {
    const chunks = this.outgoing;
    if (chunks.length === 0) return;
    this.outgoing = [];
    this.outgoingBytes = 0;
    if (this.socket.destroyed) return;
    const bytes = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
    if (!this.socket.write(bytes)) this.socketFull = true;
  }

  /** Lets aedes write again once the socket drained and few enough packets are held back. */
  private releaseWriter(): void {
    if (this.socketFull || this.heldBytes > HELD_HIGH_WATER_BYTES) return;
    const done = this.writeDone;
    this.writeDone = undefined;
    done?.();
  }

  private fail(violation: Violation): void {
    if (this.violation) return;
    this.violation = violation;
    this.ctx.onViolation({ ...violation, clientId: this.clientId, protocolVersion: this.version });
    if (this.version === 5 && !this.connackSent) {
      // A DISCONNECT may only follow CONNACK: wait for aedes to answer the CONNECT first.
      this.disconnectPending = true;
      this.timer = this.ctx.clock.setTimer('mqtt5.await-connack', CONNACK_WAIT_MS, () =>
        this.closeWith(violation),
      );
      return;
    }
    this.closeWith(violation);
  }

  /** Sends DISCONNECT with the reason (MQTT 5 after a successful CONNACK) and ends the connection. */
  private closeWith(violation: Violation): void {
    this.disconnectPending = false;
    this.ctx.clock.clearTimer(this.timer);
    this.writeDone?.();
    this.writeDone = undefined;
    if (this.version === 5 && this.connackOk && !this.socket.destroyed) {
      const reasonString = violation.message.slice(0, 200);
      this.send(encode5({ cmd: 'disconnect', reasonCode: violation.code, properties: { reasonString } }));
    }
    this.flush();
    this.socket.end();
    // Keep reading (and discarding) so the peer's close is seen.
    this.socket.resume();
    this.timer = this.ctx.clock.setTimer('mqtt5.close-linger', CLOSE_LINGER_MS, () => this.socket.destroy());
    // aedes sees the client go as an unexpected close, so its will is published.
    this.push(null);
  }
}
