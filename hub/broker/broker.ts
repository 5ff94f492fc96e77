import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server as HttpServer,
  type ServerResponse,
} from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { SecureContextOptions, Server as TlsServer } from 'node:tls';
import { Aedes, type AedesOptions, type AedesPublishPacket, type Client, type PublishPacket } from 'aedes';
import { writeToStream } from 'mqtt-packet';
import type { WebSocketServer } from 'ws';
import {
  type Cause,
  type Clock,
  type Logger,
  type MessageSource,
  type MqttMessage,
  type OutgoingMessage,
  type Publisher,
  type RetainedReader,
  type QoS,
} from '../../kernel/index.js';
import type { BrokerAuth } from './auth-port.js';
import type { ConnectionInfo, ListenerKind } from './connection-info.js';
import {
  ClientGuard,
  DEFAULT_LIMITS,
  isRefusal,
  newGuardCounters,
  settle,
  type BrokerLimits,
  type CommandGuard,
  type GuardCounters,
} from './guard.js';
import {
  closeServer,
  listen,
  loadTlsOptions,
  reloadCertificate,
  type ListenAddress,
  type TlsFiles,
} from './listeners.js';
import { Mqtt5Layer, withMqtt5Hooks, type Mqtt5Stats } from './mqtt5/index.js';
import { isSharedTopic, readMemberFilter } from './mqtt5/shared-topics.js';
import { SharedSubscriptions, type SharedSubscriptionStats } from './shared-subscriptions.js';

// mqtt-packet otherwise builds a cache of 65,536 two-byte Buffers (one per packet id) on its first
// write: about 6 MiB of old-space objects that every full garbage collection has to mark again.
// Writing a topic length or packet id costs a 2-byte allocation instead.
writeToStream.cacheNumbers = false;

/** The TLS and secure WebSocket listeners; both use one certificate. */
export interface BrokerTlsOptions extends TlsFiles {
  /** Address they bind; the plain listeners' `host` when absent. */
  host?: string;
  /** MQTT over TLS; null turns it off, 0 picks a free port. */
  port: number | null;
  /** MQTT over secure WebSocket; null turns it off, 0 picks a free port. */
  wsPort: number | null;
}

export interface BrokerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** null turns the WebSocket listener off; 0 picks a free port. */
  wsPort: number | null;
  /** Largest accepted MQTT packet, in bytes. */
  maxPacketBytes: number;
  /** Seconds; the longest keep-alive an MQTT 5 client gets (Server Keep Alive). 0 or absent: no limit. */
  maxKeepaliveSeconds?: number;
  /** Topic Aliases an MQTT 5 client may set up toward the broker; 0 or absent: none. */
  topicAliasMaximum?: number;
  tls?: BrokerTlsOptions;
  /** Each absent limit takes its value from {@link DEFAULT_LIMITS}. */
  limits?: Partial<BrokerLimits>;
}

/** aedes types its persistence as `any`; any `aedes-persistence` implementation object fits here. */
export type AedesPersistence = object;

/**
 * The extension points of the broker. Each is optional; with none the broker is plain aedes with
 * in-memory sessions, every client allowed. For a client PUBLISH they compose in this order:
 * `auth` and limits (topic, rate, ACL) → `holdAck` → `beforePublish` → aedes routes and
 * acknowledges (the acknowledgement waiting for `holdAck`) → `afterPublish`.
 */
export interface BrokerDeps {
  options: BrokerOptions;
  clock: Clock;
  logger: Logger;
  /** Who may connect, publish, subscribe and receive; everyone and everything when absent. */
  auth?: BrokerAuth;
  /** An `aedes-persistence` implementation (sessions, retained, QoS 1/2 queues); in memory when absent. */
  persistence?: AedesPersistence;
  /**
   * Wraps each accepted connection's byte stream (after TLS and WebSocket framing are undone)
   * before aedes reads it; the returned stream is what aedes parses and writes to.
   */
  wrapConnection?: (stream: Duplex, info: ConnectionInfo) => Duplex;
  /**
   * Runs for every client PUBLISH that security allowed, before aedes sends PUBACK/PUBREC and
   * routes the message, so a QoS 1/2 acknowledgement can wait for it (counted against
   * `limits.maxInflight` meanwhile). A rejection refuses the message: an MQTT 5 client gets
   * PUBACK/PUBREC with the error's `reasonCode` if a PUBACK may carry it (else 0x80); an MQTT 3.1.1
   * client is disconnected unacknowledged, so it sends the message again.
   */
  beforePublish?: (packet: PublishPacket, client: Client) => Promise<void> | void;
  /**
   * Runs for every client QoS 1/2 PUBLISH that security allowed. The message is routed at once; its
   * PUBACK (QoS 1) or PUBREC (QoS 2) waits until the returned promise settles (the event store's
   * commit), counted against `limits.maxInflight` meanwhile. Unlike `beforePublish`, the client's
   * next messages are read and routed while one waits, so a commit overlaps the routing.
   */
  holdAck?: (packet: PublishPacket, client: Client) => Promise<void> | undefined;
  /** Holds clients' publishes to actuator command topics to the safety envelope; see {@link CommandGuard}. */
  commandGuard?: CommandGuard;
  /** Runs after aedes routed a message (from a client, or `client` null for the hub's own). */
  afterPublish?: (packet: AedesPublishPacket, client: Client | null) => Promise<void> | void;
  testing?: {
    /** Pretend every connection comes from this address (to test off-loopback rules on loopback). */
    remoteAddress?: string;
  };
}

export interface BrokerStats extends GuardCounters, Mqtt5Stats {
  /** `$share/<group>/<filter>` subscriptions: shares, members, deliveries. */
  shared: SharedSubscriptionStats;
  /** Clients past CONNACK. */
  clients: number;
  /** Open connections, CONNACKed or not. */
  connections: number;
  published: number;
  refusedTooLarge: number;
  clientErrors: number;
  /** Clients that sent more packets than `limits.maxQueued` before their CONNECT was answered. */
  queueFull: number;
  /** Failed TLS handshakes (bad client certificate, plain MQTT on the TLS port, …). */
  tlsErrors: number;
}

type MessageListener = (message: MqttMessage) => void;

/** Queued messages handed out in one turn of the event loop before the rest wait for the next. */
const MAX_HANDED_OUT_AT_ONCE = 1000;
type AnyServer = NetServer | HttpServer;

/**
 * The embedded MQTT broker (aedes) with its TCP, TLS, WebSocket and secure WebSocket listeners, the
 * place where listeners, security, limits, persistence and connection wrapping compose. It is the
 * hub's {@link MessageSource} (every message a client or the hub publishes) and its {@link Publisher}.
 */
export class Broker implements MessageSource, Publisher, RetainedReader {
  private aedes: Aedes | undefined;
  private guard: ClientGuard | undefined;
  /** The packet-level layer and hooks that make aedes honour MQTT 5 client properties. */
  private mqtt5: Mqtt5Layer | undefined;
  private shares: SharedSubscriptions | undefined;
  private readonly servers: AnyServer[] = [];
  private readonly socketServers: WebSocketServer[] = [];
  private tlsServers: (TlsServer | HttpsServer)[] = [];
  private listeners: { owner: object; fn: MessageListener }[] = [];
  /**
   * Messages routed while the listeners were still busy with an earlier one (a rule publishing
   * in reaction to it): each waits its turn, so every listener sees messages one at a time and in
   * the order the broker routed them.
   */
  private readonly queued: MqttMessage[] = [];
  private dispatching = false;
  /** Causes of the messages rules published, by payload buffer, until the broker routed them. */
  private readonly causes = new WeakMap<Buffer, Cause>();
  private stopping: Promise<void> | undefined;
  private open = 0;
  private readonly counters = {
    published: 0,
    refusedTooLarge: 0,
    clientErrors: 0,
    queueFull: 0,
    tlsErrors: 0,
  };
  private readonly guardCounters = newGuardCounters();
  /** Keyed by the stream aedes reads (`client.conn`), so hooks can find where a client came from. */
  private readonly connections = new WeakMap<object, ConnectionInfo>();
  readonly limits: Readonly<BrokerLimits>;
  mqttAddress: ListenAddress | undefined;
  wsAddress: ListenAddress | undefined;
  tlsAddress: ListenAddress | undefined;
  wssAddress: ListenAddress | undefined;

  constructor(private readonly deps: BrokerDeps) {
    this.limits = Object.freeze({ ...DEFAULT_LIMITS, ...deps.options.limits });
  }

  async start(): Promise<void> {
    const { options, logger } = this.deps;
    const tls = options.tls;
    const secure = tls && (tls.port !== null || tls.wsPort !== null) ? await loadTlsOptions(tls) : undefined;
    this.guard = new ClientGuard({
      auth: this.deps.auth,
      limits: this.limits,
      clock: this.deps.clock,
      logger,
      counters: this.guardCounters,
      connectionOf: (client) => this.connectionOf(client),
      openConnections: () => this.open,
      beforePublish: this.deps.beforePublish,
      holdAck: this.deps.holdAck,
      deferAck: (client, messageId, until) => this.mqtt5?.deferAck(client.conn, messageId, until),
      commandGuard: this.deps.commandGuard,
      onShareJoin: (clientId, share, qos) => this.shares?.join(clientId, share, qos),
    });
    this.mqtt5 = new Mqtt5Layer({
      options: {
        maxPacketBytes: options.maxPacketBytes,
        maxKeepaliveSeconds: options.maxKeepaliveSeconds ?? 0,
      },
      clock: this.deps.clock,
      logger,
      onSharedAck: (key) => this.shares?.acknowledged(key),
    });
    const mqtt5 = this.mqtt5;
    const aedes = await Aedes.createBroker(this.aedesOptions(this.guard));
    this.aedes = aedes;
    this.watchShares(aedes, new SharedSubscriptions(aedes, this.deps.clock, logger.child('shared')));
    aedes.on('sessionExpired', (client) => mqtt5.sessionExpired(client.id));
    aedes.on('publish', (packet, client) => this.onPublish(packet, client));
    aedes.on('clientError', (client, err) => this.onClientError(client, err));
    aedes.on('connectionError', (client, err) => this.onClientError(client, err));
    aedes.on('client', (client) =>
      logger.debug('client connected', { client: client.id, v: client.version }),
    );
    aedes.on('clientDisconnect', (client) => logger.debug('client disconnected', { client: client.id }));

    const tcp = this.track(createNetServer((socket) => this.acceptSocket(socket, 'tcp')));
    this.mqttAddress = await listen(tcp, options.host, options.port, 'MQTT', '--mqtt-port');
    if (options.wsPort !== null) {
      const http = this.track(createHttpServer(upgradeOnly));
      await this.attachWebSocket(http, 'ws');
      this.wsAddress = await listen(http, options.host, options.wsPort, 'MQTT over WebSocket', '--ws-port');
    }
    if (tls && secure) await this.startTls(tls, secure);
    logger.info('MQTT broker listening', {
      mqtt: show(this.mqttAddress),
      ws: show(this.wsAddress),
      ...(this.tlsAddress ? { tls: show(this.tlsAddress) } : {}),
      ...(this.wssAddress ? { wss: show(this.wssAddress) } : {}),
    });
  }

  /** What aedes tells of clients and sessions, fed to the shared subscriptions' dispatcher. */
  private watchShares(aedes: Aedes, shares: SharedSubscriptions): void {
    this.shares = shares;
    aedes.on('unsubscribe', (filters, client) => {
      for (const filter of filters) {
        const member = isSharedTopic(filter) ? readMemberFilter(filter) : undefined;
        if (member) shares.leave(client.id, member);
      }
    });
    aedes.on('client', (client) => {
      // A Clean Start: aedes dropped the session's subscriptions, shared ones too.
      if (client.clean) shares.cleanStart(client.id);
    });
    aedes.on('clientDisconnect', (client) => {
      // A connection that was taken over: the session goes on with the newer one.
      const current = (aedes as unknown as { clients: Record<string, Client | undefined> }).clients[
        client.id
      ];
      if (current && current !== client) return;
      const { sessionExpiryInterval } = client as Client & { sessionExpiryInterval?: number };
      shares.disconnected(
        client.id,
        client.version === 5 ? (sessionExpiryInterval ?? 0) === 0 : client.clean,
      );
    });
    aedes.on('sessionExpired', (client) => shares.sessionEnded(client.id));
  }

  /** Every address the broker listens on, for the hub's "who can reach me" checks. */
  listenHosts(): string[] {
    return [this.mqttAddress, this.wsAddress, this.tlsAddress, this.wssAddress].flatMap((a) =>
      a ? [a.host] : [],
    );
  }

  /**
   * Reads the certificate and key again and swaps them into the TLS listeners; new handshakes use
   * them, open connections keep theirs. A bad file is logged and the running certificate stays.
   */
  async reloadTls(): Promise<boolean> {
    const tls = this.deps.options.tls;
    if (!tls || this.tlsServers.length === 0) return true;
    return reloadCertificate(tls, this.tlsServers, this.deps.logger);
  }

  /** What the broker knows about a connected client's connection. */
  connectionOf(client: Client): ConnectionInfo | undefined {
    return this.connections.get(client.conn);
  }

  onMessage(owner: object, fn: MessageListener): void {
    this.listeners = [...this.listeners, { owner, fn }];
  }

  offOwner(owner: object): void {
    this.listeners = this.listeners.filter((l) => l.owner !== owner);
  }

  publish(message: OutgoingMessage): Promise<void> {
    const qos = message.qos ?? 0;
    const retain = message.retain ?? false;
    if (qos === 0 && !retain) {
      try {
        this.publishNow(message);
        return Promise.resolve();
      } catch (err) {
        return Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
    }
    const aedes = this.aedes;
    if (!aedes || aedes.closed) return Promise.reject(new Error('broker is not running'));
    return new Promise((resolve, reject) => {
      aedes.publish(this.packetOf(message, qos, retain), (err) => (err ? reject(err) : resolve()));
    });
  }

  /** The retained messages on topics matching `filter`, as the broker's persistence holds them. */
  async retained(filter: string): Promise<MqttMessage[]> {
    const aedes = this.aedes;
    if (!aedes || aedes.closed) throw new Error('broker is not running');
    // aedes's types leave out its persistence; every aedes-persistence has this stream.
    const { persistence } = aedes as unknown as {
      persistence: { createRetainedStreamCombi(patterns: string[]): AsyncIterable<AedesPublishPacket> };
    };
    const found: MqttMessage[] = [];
    for await (const packet of persistence.createRetainedStreamCombi([filter])) {
      found.push({
        topic: packet.topic,
        payload: Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload),
        qos: packet.qos,
        retain: true,
        clientId: null,
        receivedAt: this.deps.clock.now(),
      });
    }
    return found;
  }

  /**
   * aedes refuses a message synchronously or not at all, and routes QoS 0 messages that are not
   * retained in the order it was handed them, with nothing to store first. So such a message is
   * accepted once handed over: the caller (a rule run) need not wait for every subscriber's socket
   * write, which kept each run alive for a turn of the event loop.
   */
  publishNow(message: OutgoingMessage): void {
    const aedes = this.aedes;
    if (!aedes || aedes.closed) throw new Error('broker is not running');
    let handedOver = false;
    let refusal: Error | undefined;
    aedes.publish(this.packetOf(message, 0, false), (err) => {
      if (!handedOver) refusal = err ?? undefined;
      else if (err) {
        this.deps.logger.error('delivering a message the hub published failed', {
          topic: message.topic,
          error: err.message,
        });
      }
    });
    handedOver = true;
    if (refusal) throw refusal;
  }

  stats(): BrokerStats {
    return {
      clients: this.aedes?.connectedClients ?? 0,
      connections: this.open,
      ...this.counters,
      ...this.guardCounters,
      ...(this.mqtt5?.stats() ?? { protocolErrors: 0, droppedOverClientMaximum: 0 }),
      shared: this.shares?.stats() ?? { groups: 0, members: 0, delivered: 0, redelivered: 0, dropped: 0 },
    };
  }

  /**
   * Subscriptions of the connected clients (each filter once per client), counted when asked (a
   * metrics scrape), so subscribing costs nothing more. Persistent sessions' stored subscriptions
   * of absent clients are not in it.
   */
  subscriptionCount(): number {
    const clients = (this.aedes as unknown as { clients?: Record<string, Client | undefined> } | undefined)
      ?.clients;
    let n = 0;
    for (const client of Object.values(clients ?? {})) {
      // aedes keeps each client's subscriptions as filter → options; not in its typings.
      const subs = (client as (Client & { subscriptions?: Record<string, unknown> }) | undefined)
        ?.subscriptions;
      if (subs) n += Object.keys(subs).length;
    }
    return n;
  }

  /** Closes listeners and client connections; idempotent. */
  stop(): Promise<void> {
    this.stopping ??= this.close();
    return this.stopping;
  }

  private async close(): Promise<void> {
    // Stop accepting first; the servers finish closing once aedes has closed every client.
    const listenersClosed = Promise.all(this.servers.map((s) => closeServer(s)));
    for (const wss of this.socketServers) wss.clients.forEach((c) => c.terminate());
    for (const s of this.servers) if ('closeAllConnections' in s) s.closeAllConnections();
    const aedes = this.aedes;
    if (aedes && !aedes.closed) await new Promise<void>((resolve) => aedes.close(() => resolve()));
    // Connections that never sent CONNECT are not aedes clients; end them so the listeners close.
    this.mqtt5?.closeAll();
    await listenersClosed;
    this.listeners = [];
  }

  private async startTls(tls: BrokerTlsOptions, secure: SecureContextOptions): Promise<void> {
    // Loaded only for a TLS listener: importing node:tls from a module reads its root certificates.
    const [{ createServer: createTlsServer }, { createServer: createHttpsServer }] = await Promise.all([
      import('node:tls'),
      import('node:https'),
    ]);
    const host = tls.host ?? this.deps.options.host;
    const serverOptions = {
      ...secure,
      requestCert: tls.caFile !== undefined,
      rejectUnauthorized: tls.requireClientCert,
    };
    if (tls.port !== null) {
      const server = this.track(createTlsServer(serverOptions, (socket) => this.acceptSocket(socket, 'tls')));
      this.watchTls(server);
      this.tlsAddress = await listen(server, host, tls.port, 'MQTT over TLS', 'mqtt.tls.port');
    }
    if (tls.wsPort !== null) {
      const server = this.track(createHttpsServer(serverOptions, upgradeOnly));
      this.watchTls(server);
      await this.attachWebSocket(server, 'wss');
      this.wssAddress = await listen(
        server,
        host,
        tls.wsPort,
        'MQTT over secure WebSocket',
        'mqtt.tls.ws_port',
      );
    }
  }

  private watchTls(server: TlsServer | HttpsServer): void {
    this.tlsServers = [...this.tlsServers, server];
    server.on('tlsClientError', (err, socket) => {
      this.counters.tlsErrors++;
      this.deps.logger.debug('TLS handshake failed', { from: socket.remoteAddress, error: err.message });
    });
  }

  private track<S extends AnyServer>(server: S): S {
    this.servers.push(server);
    return server;
  }

  private async attachWebSocket(server: HttpServer | HttpsServer, kind: ListenerKind): Promise<void> {
    // Loaded only when a WebSocket listener is on: a hub without one saves the module's memory.
    const { WebSocketServer, createWebSocketStream } = await import('ws');
    const wss = new WebSocketServer({
      server,
      // MQTT clients ask for the `mqtt` subprotocol (older ones `mqttv3.1`); answer with what they asked.
      handleProtocols: (protocols) => [...protocols].find((p) => p.startsWith('mqtt')) ?? false,
    });
    this.socketServers.push(wss);
    wss.on('connection', (socket, req: IncomingMessage) => {
      const stream = createWebSocketStream(socket);
      stream.on('error', (err) => this.deps.logger.debug('websocket stream error', { error: err.message }));
      this.accept(stream, { listener: kind, remoteAddress: req.socket.remoteAddress, request: req });
    });
  }

  private aedesOptions(guard: ClientGuard): AedesOptions {
    const { options, persistence, afterPublish } = this.deps;
    const opts: AedesOptions = {
      ...(this.mqtt5 ? withMqtt5Hooks(guard.hooks(), this.mqtt5) : guard.hooks()),
      maximumPacketSize: options.maxPacketBytes,
      queueLimit: this.limits.maxQueued,
      receiveMaximum: this.limits.maxInflight,
      topicAliasMaximum: options.topicAliasMaximum ?? 0,
    };
    if (persistence !== undefined) opts.persistence = persistence;
    if (afterPublish)
      opts.published = (packet, client, done) => settle(() => afterPublish(packet, client), done);
    return opts;
  }

  private acceptSocket(socket: Socket, kind: ListenerKind): void {
    // MQTT packets are small and a rule's reply to a reading is one: Nagle's algorithm would hold
    // it until the peer acknowledges the previous segment, which a delayed ACK can make 40 ms.
    socket.setNoDelay(true);
    this.accept(socket, { listener: kind, remoteAddress: socket.remoteAddress });
  }

  private accept(stream: Duplex, info: ConnectionInfo): void {
    const { testing, wrapConnection } = this.deps;
    const seen: ConnectionInfo =
      testing?.remoteAddress !== undefined ? { ...info, remoteAddress: testing.remoteAddress } : info;
    this.open++;
    stream.once('close', () => this.open--);
    const wrapped = wrapConnection ? wrapConnection(stream, seen) : stream;
    // Innermost, so the MQTT 5 layer sees exactly the bytes aedes parses and writes.
    const conn = this.mqtt5 ? this.mqtt5.wrap(wrapped) : wrapped;
    this.connections.set(conn, seen);
    this.aedes?.handle(conn, seen.request);
  }

  /**
   * A packet for aedes; a message's cause rides on its payload buffer, which aedes passes through
   * to the published hook untouched, so nothing about it goes on the wire.
   */
  private packetOf(message: OutgoingMessage, qos: QoS, retain: boolean): PublishPacket {
    const packet = packetOf(message, qos, retain);
    if (message.cause !== undefined) this.causes.set(payloadOf(packet), message.cause);
    return packet;
  }

  private onPublish(packet: AedesPublishPacket, client: Client | null): void {
    // $SYS and other $-topics are the broker's own bookkeeping, not events.
    if (packet.topic.startsWith('$')) return;
    this.counters.published++;
    const message: MqttMessage = {
      topic: packet.topic,
      payload: Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload),
      qos: packet.qos,
      retain: packet.retain,
      clientId: client ? client.id : null,
      receivedAt: this.deps.clock.now(),
      cause: client
        ? undefined
        : Buffer.isBuffer(packet.payload)
          ? this.causes.get(packet.payload)
          : undefined,
    };
    if (this.dispatching) {
      this.queued.push(message);
      return;
    }
    this.dispatching = true;
    this.dispatch(message);
    this.drain();
  }

  /** Hands out the queued messages; after a long run of them, the rest on the next turn. */
  private drain(): void {
    let handed = 0;
    for (let next = this.queued.shift(); next; next = this.queued.shift()) {
      this.dispatch(next);
      if (++handed >= MAX_HANDED_OUT_AT_ONCE && this.queued.length > 0) {
        // A rule answering its own messages (with the loop breaker off) must not hold the event
        // loop for ever; messages routed meanwhile queue behind these, so the order holds.
        setImmediate(() => this.drain());
        return;
      }
    }
    this.dispatching = false;
  }

  private dispatch(message: MqttMessage): void {
    for (const l of this.listeners) {
      try {
        l.fn(message);
      } catch (err) {
        this.deps.logger.error('message listener threw', {
          owner: l.owner.constructor.name,
          topic: message.topic,
          error: err instanceof Error ? err.message : String(err),
        });
      }
    }
  }

  private onClientError(client: Client | null, err: Error & { size?: number }): void {
    // Refusals (quota, credentials) were logged and counted where they were decided.
    if (isRefusal(err)) return;
    this.counters.clientErrors++;
    const id = client?.id ?? 'unknown';
    if (err.message === 'packet too large') {
      this.counters.refusedTooLarge++;
      this.deps.logger.warn('refused a packet larger than mqtt.max_packet_bytes', {
        refused: 'mqtt.max_packet_bytes',
        client: id,
        bytes: err.size,
        limit: this.deps.options.maxPacketBytes,
      });
      return;
    }
    if (err.message === 'Client queue limit reached') {
      this.counters.queueFull++;
      this.deps.logger.warn('disconnected a client over mqtt.limits.max_queued', {
        client: id,
        limit: this.limits.maxQueued,
      });
      return;
    }
    this.deps.logger.warn('client error', { client: id, error: err.message });
  }
}

function upgradeOnly(_req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(426, { 'content-type': 'text/plain' }).end('MQTT over WebSocket only\n');
}

function show(address: ListenAddress | undefined): string {
  return address ? `${address.host}:${address.port}` : 'off';
}

function packetOf(message: OutgoingMessage, qos: QoS, retain: boolean): PublishPacket {
  return {
    cmd: 'publish',
    topic: message.topic,
    payload: typeof message.payload === 'string' ? Buffer.from(message.payload) : message.payload,
    qos,
    retain,
    dup: false,
  };
}

/** The payload buffer of a packet the hub publishes, which aedes hands on unchanged. */
function payloadOf(packet: PublishPacket): Buffer {
  return packet.payload as Buffer;
}
