import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer } from 'node:net';
import type { Duplex } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { Aedes, type AedesOptions, type AedesPublishPacket, type Client, type PublishPacket } from 'aedes';
import { createWebSocketStream, WebSocketServer } from 'ws';
import {
  EdgehubError,
  type Clock,
  type Logger,
  type MessageSource,
  type MqttMessage,
  type OutgoingMessage,
  type Publisher,
} from '../../kernel/index.js';

export interface BrokerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** null turns the WebSocket listener off; 0 picks a free port. */
  wsPort: number | null;
  /** Largest accepted MQTT packet, in bytes. */
  maxPacketBytes: number;
}

/** aedes types its persistence as `any`; any `aedes-persistence` implementation object fits here. */
export type AedesPersistence = object;

/** Which listener accepted a connection. */
export type ListenerKind = 'tcp' | 'tls' | 'ws' | 'wss';

/** What the broker knows about a connection before aedes has read a byte of it. */
export interface ConnectionInfo {
  listener: ListenerKind;
  /** The peer's IP address as the socket reports it (IPv4-mapped IPv6 is left as is). */
  remoteAddress: string | undefined;
  /** The HTTP upgrade request, for WebSocket listeners. */
  request?: IncomingMessage;
}

/**
 * The extension points of the broker. Each is optional; with none the broker is plain aedes with
 * in-memory sessions. They compose in this order for a client PUBLISH: security (ACL, rate limit)
 * → `beforePublish` → aedes acknowledges and routes → `afterPublish`.
 */
export interface BrokerDeps {
  options: BrokerOptions;
  clock: Clock;
  logger: Logger;
  /** An `aedes-persistence` implementation (sessions, retained, QoS 1/2 queues); in memory when absent. */
  persistence?: AedesPersistence;
  /**
   * Wraps each accepted connection's byte stream (after TLS and WebSocket framing are undone)
   * before aedes reads it; the returned stream is what aedes parses and writes to.
   */
  wrapConnection?: (stream: Duplex, info: ConnectionInfo) => Duplex;
  /**
   * Runs for every client PUBLISH that security allowed, before aedes sends PUBACK/PUBREC and
   * routes the message, so a QoS 1/2 acknowledgement can wait for it. A rejection refuses the
   * message as not authorised (MQTT 5: PUBACK/PUBREC 0x87).
   */
  beforePublish?: (packet: PublishPacket, client: Client) => Promise<void> | void;
  /** Runs after aedes routed a message (from a client, or `client` null for the hub's own). */
  afterPublish?: (packet: AedesPublishPacket, client: Client | null) => Promise<void> | void;
  testing?: {
    /** Pretend every connection comes from this address (to test off-loopback rules on loopback). */
    remoteAddress?: string;
  };
}

export interface ListenAddress {
  host: string;
  port: number;
}

export interface BrokerStats {
  clients: number;
  published: number;
  refusedTooLarge: number;
  clientErrors: number;
}

type MessageListener = (message: MqttMessage) => void;

/**
 * The embedded MQTT broker (aedes) with its TCP and WebSocket listeners. It is the hub's
 * {@link MessageSource} (every message a client or the hub publishes) and its {@link Publisher}.
 */
export class Broker implements MessageSource, Publisher {
  private aedes: Aedes | undefined;
  private tcp: NetServer | undefined;
  private http: HttpServer | undefined;
  private wss: WebSocketServer | undefined;
  private listeners: { owner: object; fn: MessageListener }[] = [];
  private stopping: Promise<void> | undefined;
  private readonly counters = { published: 0, refusedTooLarge: 0, clientErrors: 0 };
  /** Keyed by the stream aedes reads (`client.conn`), so hooks can find where a client came from. */
  private readonly connections = new WeakMap<object, ConnectionInfo>();
  mqttAddress: ListenAddress | undefined;
  wsAddress: ListenAddress | undefined;

  constructor(private readonly deps: BrokerDeps) {}

  async start(): Promise<void> {
    const { options, logger } = this.deps;
    const aedes = await Aedes.createBroker(this.aedesOptions());
    this.aedes = aedes;
    aedes.on('publish', (packet, client) => this.onPublish(packet, client));
    aedes.on('clientError', (client, err) => this.onClientError(client, err));
    aedes.on('connectionError', (client, err) => this.onClientError(client, err));
    aedes.on('client', (client) =>
      logger.debug('client connected', { client: client.id, v: client.version }),
    );
    aedes.on('clientDisconnect', (client) => logger.debug('client disconnected', { client: client.id }));

    this.tcp = createNetServer((socket) =>
      this.accept(socket, { listener: 'tcp', remoteAddress: socket.remoteAddress }),
    );
    this.mqttAddress = await listen(this.tcp, options.host, options.port, 'MQTT', '--mqtt-port');

    if (options.wsPort !== null) {
      this.http = createHttpServer((_req, res) => {
        res.writeHead(426, { 'content-type': 'text/plain' }).end('MQTT over WebSocket only\n');
      });
      this.wss = new WebSocketServer({
        server: this.http,
        // MQTT clients ask for the `mqtt` subprotocol (older ones `mqttv3.1`); answer with what they asked.
        handleProtocols: (protocols) => [...protocols].find((p) => p.startsWith('mqtt')) ?? false,
      });
      this.wss.on('connection', (socket, req) => {
        const stream = createWebSocketStream(socket);
        stream.on('error', (err) => logger.debug('websocket stream error', { error: err.message }));
        this.accept(stream, { listener: 'ws', remoteAddress: req.socket.remoteAddress, request: req });
      });
      this.wsAddress = await listen(
        this.http,
        options.host,
        options.wsPort,
        'MQTT over WebSocket',
        '--ws-port',
      );
    }
    logger.info('MQTT broker listening', {
      mqtt: `${this.mqttAddress.host}:${this.mqttAddress.port}`,
      ws: this.wsAddress ? `${this.wsAddress.host}:${this.wsAddress.port}` : 'off',
    });
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
    const aedes = this.aedes;
    if (!aedes || aedes.closed) return Promise.reject(new Error('broker is not running'));
    return new Promise((resolve, reject) => {
      aedes.publish(
        {
          cmd: 'publish',
          topic: message.topic,
          payload: typeof message.payload === 'string' ? Buffer.from(message.payload) : message.payload,
          qos: message.qos ?? 0,
          retain: message.retain ?? false,
          dup: false,
        },
        (err) => (err ? reject(err) : resolve()),
      );
    });
  }

  stats(): BrokerStats {
    return { clients: this.aedes?.connectedClients ?? 0, ...this.counters };
  }

  /** Closes listeners and client connections; idempotent. */
  stop(): Promise<void> {
    this.stopping ??= this.close();
    return this.stopping;
  }

  private async close(): Promise<void> {
    // Stop accepting first; the servers finish closing once aedes has closed every client.
    const listenersClosed = Promise.all([closeServer(this.tcp), closeServer(this.http)]);
    this.wss?.clients.forEach((c) => c.terminate());
    this.http?.closeAllConnections();
    const aedes = this.aedes;
    if (aedes && !aedes.closed) await new Promise<void>((resolve) => aedes.close(() => resolve()));
    await listenersClosed;
    this.listeners = [];
  }

  private aedesOptions(): AedesOptions {
    const { options, persistence, beforePublish, afterPublish } = this.deps;
    const opts: AedesOptions = { maximumPacketSize: options.maxPacketBytes };
    if (persistence !== undefined) opts.persistence = persistence;
    opts.authorizePublish = (client, packet, done) => {
      // $SYS is the broker's own namespace; aedes refuses client publishes there by default.
      if (packet.topic.startsWith('$SYS')) return done(new Error('$SYS topics are reserved'));
      if (!client || !beforePublish) return done(null);
      settle(() => beforePublish(packet, client), done);
    };
    if (afterPublish)
      opts.published = (packet, client, done) => settle(() => afterPublish(packet, client), done);
    return opts;
  }

  private accept(stream: Duplex, info: ConnectionInfo): void {
    const { testing, wrapConnection } = this.deps;
    const seen: ConnectionInfo =
      testing?.remoteAddress !== undefined ? { ...info, remoteAddress: testing.remoteAddress } : info;
    const conn = wrapConnection ? wrapConnection(stream, seen) : stream;
    this.connections.set(conn, seen);
    this.aedes?.handle(conn, seen.request);
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
    };
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
    this.counters.clientErrors++;
    const id = client?.id ?? 'unknown';
    if (err.message === 'packet too large') {
      this.counters.refusedTooLarge++;
      this.deps.logger.warn('refused a packet larger than mqtt.max_packet_bytes', {
        client: id,
        bytes: err.size,
        limit: this.deps.options.maxPacketBytes,
      });
      return;
    }
    this.deps.logger.warn('client error', { client: id, error: err.message });
  }
}

/** Calls a hook that may be sync or async and reports to an aedes-style callback exactly once. */
function settle(hook: () => Promise<void> | void, done: (err: Error | null) => void): void {
  let result: Promise<void> | void;
  try {
    result = hook();
  } catch (err) {
    done(err instanceof Error ? err : new Error(String(err)));
    return;
  }
  if (result === undefined) {
    done(null);
    return;
  }
  result.then(
    () => done(null),
    (err: unknown) => done(err instanceof Error ? err : new Error(String(err))),
  );
}

function listen(
  server: NetServer | HttpServer,
  host: string,
  port: number,
  what: string,
  flag: string,
): Promise<ListenAddress> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      const hint =
        err.code === 'EADDRINUSE'
          ? `port ${port} on ${host} is already in use (another MQTT broker such as Mosquitto?); choose another with ${flag}`
          : err.code === 'EACCES'
            ? `no permission to listen on port ${port}; ports below 1024 need privileges, choose another with ${flag}`
            : err.message;
      reject(
        new EdgehubError('LISTEN_FAILED', `${what} listener on ${host}:${port}: ${hint}`, { cause: err }),
      );
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      const addr = server.address() as AddressInfo;
      resolve({ host: addr.address, port: addr.port });
    });
  });
}

function closeServer(server: NetServer | HttpServer | undefined): Promise<void> {
  if (!server?.listening) return Promise.resolve();
  return new Promise((resolve) => server.close(() => resolve()));
}
