import { Readable } from 'node:stream';
import type { Database as SqliteDatabase } from 'better-sqlite3';
import { QlobberTrue } from 'qlobber';
import QlobberSub from 'qlobber/aedes/qlobber-sub.js';
import type { Clock, Logger } from '../../kernel/index.js';
import type { LoadedState } from './broker-state-db.js';
import { BrokerStateDb } from './broker-state-db.js';
import type {
  BrokerRef,
  ClientRef,
  Packet,
  Subscription,
  SubscriptionOptions,
  TopicSubscription,
} from './packets.js';
import { queuedCopy } from './packets.js';
import { SessionExpiries, type SessionEvents } from './session-expiry.js';

export interface SqlitePersistenceDeps {
  /** The SQLite file, usually `brokerDbPath(dataDir)`. */
  file: string;
  clock: Clock;
  logger: Logger;
  /** Caps on each offline client's queue; {@link DEFAULT_QUEUE_LIMITS} when absent. */
  queueLimits?: QueueLimits;
  testing?: {
    /** ms between attempts to save again while writes fail; default 5,000. */
    retryMs?: number;
    /** Called with the raw handle once the file is open, e.g. to make writes fail. */
    onOpen?: (db: SqliteDatabase) => void;
  };
}

/**
 * How much is queued for a client while it is away, as Mosquitto's `max_queued_messages` and
 * `max_queued_bytes`: once either is reached, further messages for it are refused (not queued),
 * and counted. 0 means no cap. Only QoS 1/2 messages are ever queued for an absent client.
 */
export interface QueueLimits {
  maxMessages: number;
  /** Payload and topic bytes. */
  maxBytes: number;
}

export const DEFAULT_QUEUE_LIMITS: QueueLimits = Object.freeze({
  maxMessages: 1000,
  maxBytes: 16 * 1024 * 1024,
});

export interface PersistenceStats {
  retained: number;
  /** Clients with stored subscriptions (persistent sessions). */
  sessions: number;
  /** QoS 1/2 messages queued or in flight to persistent sessions. */
  outgoing: number;
  /** Failed attempts to save the state since start. */
  writeFailures: number;
  /** Messages not queued for an absent client because its queue was full, since start: in all and per client. */
  queueFull: { dropped: number; byClient: Record<string, number> };
}

const QLOBBER_OPTIONS = { wildcard_one: '+', wildcard_some: '#', separator: '/' };

interface OutgoingEntry {
  /** The row in `outgoing`; assigned here so it is known even while the file cannot be written. */
  id: number;
  packet: Packet;
  /** What the entry counts against `maxBytes`. */
  bytes: number;
}

/**
 * aedes' persistence (the `aedes-persistence` 10 async interface) on SQLite: sessions with their
 * whole subscriptions, QoS 1/2 messages queued and in flight (with their expiry), QoS 2 packets
 * received but not yet released, retained messages and wills, all surviving a restart or a crash.
 *
 * The state is held in memory as aedes-persistence's own in-memory implementation holds it (so
 * every read is a map or trie lookup on the broker's hot path) and every change is written
 * through to `broker.db` before its promise resolves; a restart reads the file back.
 */
export class SqlitePersistence {
  private readonly db: BrokerStateDb;
  private retained = new Map<string, Packet>();
  /** client id → topic → options, in subscription order. */
  private subscriptions = new Map<string, Map<string, SubscriptionOptions>>();
  /** QoS 1/2 subscriptions only: what `subscriptionsByTopic` matches against. */
  private trie = new QlobberSub(QLOBBER_OPTIONS);
  private outgoing = new Map<string, OutgoingEntry[]>();
  private nextOutgoingId = 1;
  /** Client id → the bytes of its queue, for `maxBytes`. */
  private readonly queuedBytes = new Map<string, number>();
  private readonly queueLimits: QueueLimits;
  private queueFullDropped = 0;
  private readonly queueFullByClient = new Map<string, number>();
  /** Clients warned of a full queue since it last drained. */
  private readonly warnedFull = new Set<string>();
  private readonly logger: Logger;
  private incoming = new Map<string, Map<number, Packet>>();
  private wills = new Map<string, Packet>();
  private brokerRef: BrokerRef | undefined;
  private readonly expiries: SessionExpiries;
  private opened = false;
  private destroyed = false;

  constructor(deps: SqlitePersistenceDeps) {
    this.db = new BrokerStateDb({
      file: deps.file,
      clock: deps.clock,
      logger: deps.logger,
      snapshot: () => this.snapshot(),
      ...(deps.testing ? { testing: deps.testing } : {}),
    });
    this.queueLimits = deps.queueLimits ?? DEFAULT_QUEUE_LIMITS;
    this.logger = deps.logger;
    this.expiries = new SessionExpiries({
      clock: deps.clock,
      logger: deps.logger,
      save: (clientId, row) =>
        void this.db.run((w) => (row ? w.putSessionExpiry(row) : w.delSessionExpiry(clientId))),
      wipe: (clientId) => this.dropSession(clientId),
    });
  }

  /** The broker this persistence serves; aedes sets it through `setup`. */
  get broker(): BrokerRef | undefined {
    return this.brokerRef;
  }

  /**
   * Called by aedes when the broker starts: opens the file, restores what it holds, and follows
   * the broker's clients to know when their sessions end (see {@link SessionExpiries}).
   */
  async setup(broker: BrokerRef & Partial<SessionEvents>): Promise<void> {
    this.brokerRef = broker;
    if (!this.opened) {
      this.restore(this.db.open());
      this.opened = true;
      if (typeof broker.on === 'function') this.expiries.listen(broker as SessionEvents);
    }
    await Promise.resolve();
  }

  /**
   * Removes an ended session: its subscriptions, queued and in-flight messages and QoS 2 state. Its
   * will is left to aedes, which publishes a will a previous process still owed.
   */
  dropSession(clientId: string): void {
    void this.cleanSubscriptions({ id: clientId });
    const queue = this.outgoing.get(clientId) ?? [];
    this.outgoing.delete(clientId);
    this.queuedBytes.delete(clientId);
    this.warnedFull.delete(clientId);
    const incoming = [...(this.incoming.get(clientId)?.keys() ?? [])];
    this.incoming.delete(clientId);
    void this.db.run((w) => {
      for (const entry of queue) w.delOutgoing(entry.id);
      for (const messageId of incoming) w.delIncoming(clientId, messageId);
    });
  }

  stats(): PersistenceStats {
    let outgoing = 0;
    for (const queue of this.outgoing.values()) outgoing += queue.length;
    return {
      retained: this.retained.size,
      sessions: this.subscriptions.size,
      outgoing,
      writeFailures: this.db.failures,
      queueFull: { dropped: this.queueFullDropped, byClient: Object.fromEntries(this.queueFullByClient) },
    };
  }

  // --- retained messages ---

  storeRetained(packet: Packet): Promise<void> {
    const copy: Packet = { ...packet };
    const topic = String(copy.topic);
    if ((copy.payload?.length ?? 0) === 0) {
      this.retained.delete(topic);
      return this.db.run((w) => w.delRetained(topic));
    }
    this.retained.set(topic, copy);
    return this.db.run((w) => w.putRetained(topic, copy));
  }

  createRetainedStreamCombi(patterns: readonly string[]): Readable {
    const matches: Packet[] = [];
    for (const pattern of patterns) matches.push(...this.retainedMatching(pattern));
    return Readable.from(matches);
  }

  createRetainedStream(pattern: string): Readable {
    return Readable.from(this.retainedMatching(pattern));
  }

  // --- subscriptions ---

  addSubscriptions(client: ClientRef, subs: readonly Subscription[]): Promise<void> {
    // A client that subscribed to nothing still counts as a session, as in aedes-persistence.
    if (!this.subscriptions.has(client.id)) this.subscriptions.set(client.id, new Map());
    const changed = subs.map((sub) => [sub.topic, this.applySubscription(client.id, sub)] as const);
    return this.db.run((w) => {
      for (const [topic, options] of changed) w.putSubscription(client.id, topic, options);
    });
  }

  removeSubscriptions(client: ClientRef, topics: readonly string[]): Promise<void> {
    const stored = this.subscriptions.get(client.id);
    if (!stored) return Promise.resolve();
    const removed: string[] = [];
    for (const topic of topics) {
      const previous = stored.get(topic);
      if (previous === undefined) continue;
      if (previous.qos > 0) this.trie.remove(topic, { clientId: client.id, topic });
      stored.delete(topic);
      removed.push(topic);
    }
    if (stored.size === 0) this.subscriptions.delete(client.id);
    return this.db.run((w) => {
      for (const topic of removed) w.delSubscription(client.id, topic);
    });
  }

  async subscriptionsByClient(client: ClientRef): Promise<Subscription[]> {
    const subs: Subscription[] = [];
    for (const [topic, options] of this.subscriptions.get(client.id) ?? []) subs.push({ topic, ...options });
    return Promise.resolve(subs);
  }

  async countOffline(): Promise<{ subsCount: number; clientsCount: number }> {
    return Promise.resolve({
      subsCount: this.trie.subscriptionsCount,
      clientsCount: this.subscriptions.size,
    });
  }

  async subscriptionsByTopic(topic: string): Promise<TopicSubscription[]> {
    return Promise.resolve(this.trie.match(topic));
  }

  cleanSubscriptions(client: ClientRef): Promise<void> {
    const stored = this.subscriptions.get(client.id);
    if (!stored) return Promise.resolve();
    for (const [topic, options] of stored) {
      if (options.qos > 0) this.trie.remove(topic, { clientId: client.id, topic });
    }
    this.subscriptions.delete(client.id);
    return this.db.run((w) => w.delSubscriptions(client.id));
  }

  getClientList(topic: string): Readable {
    const clients: string[] = [];
    for (const [clientId, topics] of this.subscriptions) if (topics.has(topic)) clients.push(clientId);
    return Readable.from(clients);
  }

  // --- QoS 1/2 messages to deliver ---

  outgoingEnqueue(sub: { clientId: string }, packet: Packet): Promise<void> {
    return this.outgoingEnqueueCombi([sub], packet);
  }

  outgoingEnqueueCombi(subs: readonly { clientId: string }[], packet: Packet): Promise<void> {
    if (subs.length === 0) return Promise.resolve();
    const added: [string, OutgoingEntry][] = [];
    const bytes = packetBytes(packet);
    for (const sub of subs) {
      if (this.queueIsFull(sub.clientId, bytes)) {
        this.refuseQueued(sub.clientId, packet);
        continue;
      }
      const entry: OutgoingEntry = { id: this.nextOutgoingId++, packet: queuedCopy(packet), bytes };
      this.queueOf(sub.clientId).push(entry);
      this.queuedBytes.set(sub.clientId, (this.queuedBytes.get(sub.clientId) ?? 0) + bytes);
      added.push([sub.clientId, entry]);
    }
    if (added.length === 0) return Promise.resolve();
    return this.db.run((w) => {
      for (const [clientId, entry] of added) w.addOutgoing(entry.id, clientId, entry.packet);
    });
  }

  /**
   * Records the message id a queued packet was sent with (found by broker id and counter), or
   * replaces the packet that was sent with that message id (a PUBREL replacing its PUBLISH).
   */
  outgoingUpdate(client: ClientRef, packet: Packet): Promise<void> {
    const queue = this.queueOf(client.id);
    for (let i = 0; i < queue.length; i++) {
      const entry = queue[i];
      if (!entry) continue;
      const queued = entry.packet;
      // A PUBREL carries no broker id: it must never match an earlier PUBREL (whose id is also
      // undefined) by identity, only a packet by message id. aedes-persistence's in-memory
      // version does match them, which renumbers the wrong entry when QoS 2 flows overlap.
      if (packet.brokerId !== undefined && queued.brokerId === packet.brokerId) {
        // The same id with another counter is a different packet (message ids wrap at 65535).
        if (queued.brokerCounter === packet.brokerCounter) {
          queued.messageId = packet.messageId;
          return this.db.run((w) => w.setOutgoingMessageId(entry.id, packet.messageId));
        }
      } else if (queued.messageId === packet.messageId) {
        entry.packet = packet;
        return this.db.run((w) => w.replaceOutgoing(entry.id, packet));
      }
    }
    return Promise.reject(new Error('no such packet'));
  }

  outgoingClearMessageId(client: ClientRef, packet: Packet): Promise<Packet | undefined> {
    const queue = this.outgoing.get(client.id);
    const messageId = (packet as Packet | undefined)?.messageId;
    if (!queue || messageId === undefined) return Promise.resolve(undefined);
    const at = queue.findIndex((e) => e.packet.messageId === messageId);
    const entry = queue[at];
    if (!entry) return Promise.resolve(undefined);
    queue.splice(at, 1);
    this.queuedBytes.set(client.id, (this.queuedBytes.get(client.id) ?? 0) - entry.bytes);
    if (queue.length === 0) {
      this.outgoing.delete(client.id);
      this.queuedBytes.delete(client.id);
      this.warnedFull.delete(client.id);
    }
    return this.db.run((w) => w.delOutgoing(entry.id)).then(() => entry.packet);
  }

  outgoingStream(client: ClientRef): Readable {
    // A copy of the queue: aedes clears entries while it reads the stream.
    return Readable.from((this.outgoing.get(client.id) ?? []).map((e) => e.packet));
  }

  // --- QoS 2 messages received and not yet released ---

  incomingStorePacket(client: ClientRef, packet: Packet): Promise<void> {
    const messageId = Number(packet.messageId);
    const copy = queuedCopy(packet);
    copy.messageId = messageId;
    let stored = this.incoming.get(client.id);
    if (!stored) {
      stored = new Map();
      this.incoming.set(client.id, stored);
    }
    stored.set(messageId, copy);
    return this.db.run((w) => w.putIncoming(client.id, messageId, copy));
  }

  incomingGetPacket(client: ClientRef, packet: Packet): Promise<Packet> {
    const found = this.incoming.get(client.id)?.get(Number(packet.messageId));
    return found ? Promise.resolve(found) : Promise.reject(new Error('no such packet'));
  }

  incomingDelPacket(client: ClientRef, packet: Packet): Promise<void> {
    const messageId = Number(packet.messageId);
    const stored = this.incoming.get(client.id);
    if (!stored?.delete(messageId)) return Promise.reject(new Error('no such packet'));
    if (stored.size === 0) this.incoming.delete(client.id);
    return this.db.run((w) => w.delIncoming(client.id, messageId));
  }

  // --- wills ---

  /** Stores a client's will, stamped with this broker's id (a restarted hub has a new one). */
  putWill(client: ClientRef, packet: Packet): Promise<void> {
    packet.brokerId = this.brokerRef?.id;
    packet.clientId = client.id;
    this.wills.set(client.id, packet);
    return this.db.run((w) => w.putWill(client.id, packet));
  }

  async getWill(client: ClientRef): Promise<Packet | undefined> {
    return Promise.resolve(this.wills.get(client.id));
  }

  delWill(client: ClientRef): Promise<Packet | undefined> {
    const will = this.wills.get(client.id);
    if (!will) return Promise.resolve(undefined);
    this.wills.delete(client.id);
    return this.db.run((w) => w.delWill(client.id)).then(() => will);
  }

  /** Wills of brokers not in `brokers`: after a crash, those of the previous process, still owed. */
  streamWill(brokers: Record<string, unknown> = {}): Readable {
    const owed: Packet[] = [];
    for (const will of this.wills.values()) {
      if (will.brokerId === undefined || !Object.hasOwn(brokers, will.brokerId)) owed.push(will);
    }
    return Readable.from(owed);
  }

  /** Commits what is pending and closes the file. */
  async destroy(): Promise<void> {
    if (this.destroyed) throw new Error('destroyed called twice!');
    this.destroyed = true;
    this.expiries.close();
    this.db.close();
    await Promise.resolve();
  }

  /** Like `destroy`, for the hub's lifecycle: safe to call twice. */
  close(): Promise<void> {
    return this.destroyed ? Promise.resolve() : this.destroy();
  }

  private retainedMatching(pattern: string): Packet[] {
    const filter = new QlobberTrue(QLOBBER_OPTIONS);
    filter.add(pattern);
    const matches: Packet[] = [];
    for (const [topic, packet] of this.retained) if (filter.test(topic)) matches.push(packet);
    return matches;
  }

  /**
   * Whether a message of `bytes` would take an absent client's queue over a cap. A connected
   * client's queue holds what is in flight to it, which Receive Maximum and the socket bound.
   */
  private queueIsFull(clientId: string, bytes: number): boolean {
    if (this.brokerRef?.clients?.[clientId] !== undefined) return false;
    const { maxMessages, maxBytes } = this.queueLimits;
    const count = this.outgoing.get(clientId)?.length ?? 0;
    if (maxMessages > 0 && count >= maxMessages) return true;
    return maxBytes > 0 && (this.queuedBytes.get(clientId) ?? 0) + bytes > maxBytes;
  }

  private refuseQueued(clientId: string, packet: Packet): void {
    this.queueFullDropped++;
    const dropped = (this.queueFullByClient.get(clientId) ?? 0) + 1;
    this.queueFullByClient.set(clientId, dropped);
    const { maxMessages } = this.queueLimits;
    const count = this.outgoing.get(clientId)?.length ?? 0;
    const refused =
      maxMessages > 0 && count >= maxMessages
        ? 'mqtt.limits.max_queued_messages'
        : 'mqtt.limits.max_queued_bytes';
    const fields = { client: clientId, topic: String(packet.topic), refused, queued: count, dropped };
    // The first drop since the queue last drained is a warning; the rest of the outage is counted.
    if (!this.warnedFull.has(clientId)) {
      this.warnedFull.add(clientId);
      this.logger.warn('the queue of a client that is away is full; its new messages are dropped', fields);
    } else {
      this.logger.debug('dropped a message for a client whose queue is full', fields);
    }
  }

  private queueOf(clientId: string): OutgoingEntry[] {
    let queue = this.outgoing.get(clientId);
    if (!queue) {
      queue = [];
      this.outgoing.set(clientId, queue);
    }
    return queue;
  }

  private restore(state: LoadedState): void {
    for (const packet of state.retained) this.retained.set(String(packet.topic), packet);
    for (const { clientId, topic, options } of state.subscriptions) {
      this.applySubscription(clientId, { topic, ...options });
    }
    for (const { id, clientId, packet } of state.outgoing) {
      const bytes = packetBytes(packet);
      this.queueOf(clientId).push({ id, packet, bytes });
      this.queuedBytes.set(clientId, (this.queuedBytes.get(clientId) ?? 0) + bytes);
      this.nextOutgoingId = Math.max(this.nextOutgoingId, id + 1);
    }
    for (const { clientId, messageId, packet } of state.incoming) {
      let stored = this.incoming.get(clientId);
      if (!stored) {
        stored = new Map();
        this.incoming.set(clientId, stored);
      }
      stored.set(messageId, packet);
    }
    for (const { clientId, packet } of state.wills) this.wills.set(clientId, packet);
    this.expiries.restore(state.sessionExpiries);
  }

  /** Records one subscription in memory (replacing one on the same topic); returns what to store. */
  private applySubscription(clientId: string, sub: Subscription): SubscriptionOptions {
    let stored = this.subscriptions.get(clientId);
    if (!stored) {
      stored = new Map();
      this.subscriptions.set(clientId, stored);
    }
    const previous = stored.get(sub.topic);
    const options: SubscriptionOptions = { qos: sub.qos, rh: sub.rh, rap: sub.rap, nl: sub.nl };
    // Kept per client (restored on reconnect) but not in the trie, as aedes-persistence does.
    if (sub.subscriptionIdentifier !== undefined) options.subscriptionIdentifier = sub.subscriptionIdentifier;
    if (sub.qos > 0) {
      const { topic, qos, rh, rap, nl } = sub;
      this.trie.add(topic, { clientId, topic, qos, rh, rap, nl });
    } else if (previous !== undefined && previous.qos > 0) {
      this.trie.remove(sub.topic, { clientId, topic: sub.topic });
    }
    stored.set(sub.topic, options);
    return options;
  }

  private snapshot(): LoadedState {
    const state: LoadedState = {
      retained: [],
      subscriptions: [],
      outgoing: [],
      incoming: [],
      wills: [],
      sessionExpiries: this.expiries.snapshot(),
    };
    state.retained.push(...this.retained.values());
    for (const [clientId, topics] of this.subscriptions) {
      for (const [topic, options] of topics) state.subscriptions.push({ clientId, topic, options });
    }
    for (const [clientId, queue] of this.outgoing) {
      for (const { id, packet } of queue) state.outgoing.push({ id, clientId, packet });
    }
    for (const [clientId, packets] of this.incoming) {
      for (const [messageId, packet] of packets) state.incoming.push({ clientId, messageId, packet });
    }
    for (const [clientId, packet] of this.wills) state.wills.push({ clientId, packet });
    return state;
  }
}

/** What a queued message counts against {@link QueueLimits.maxBytes}: its payload and topic. */
function packetBytes(packet: Packet): number {
  const payload = packet.payload;
  const payloadBytes =
    payload === undefined ? 0 : typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
  return payloadBytes + Buffer.byteLength(String(packet.topic ?? ''));
}
