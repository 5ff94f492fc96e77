import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer } from 'node:net';
import { Aedes, type AedesPublishPacket, type Client } from 'aedes';
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

export interface BrokerDeps {
  options: BrokerOptions;
  clock: Clock;
  logger: Logger;
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
  mqttAddress: ListenAddress | undefined;
  wsAddress: ListenAddress | undefined;

  constructor(private readonly deps: BrokerDeps) {}

  async start(): Promise<void> {
    const { options, logger } = this.deps;
    const aedes = await Aedes.createBroker({ maximumPacketSize: options.maxPacketBytes });
    this.aedes = aedes;
    aedes.on('publish', (packet, client) => this.onPublish(packet, client));
    aedes.on('clientError', (client, err) => this.onClientError(client, err));
    aedes.on('connectionError', (client, err) => this.onClientError(client, err));
    aedes.on('client', (client) =>
      logger.debug('client connected', { client: client.id, v: client.version }),
    );
    aedes.on('clientDisconnect', (client) => logger.debug('client disconnected', { client: client.id }));

    this.tcp = createNetServer((socket) => aedes.handle(socket));
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
        aedes.handle(stream, req);
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
