import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import { topicMatches } from '../../../kernel/index.js';
import type { ConnectorConfig } from '../config-schema.js';
import { connectorSecret, connectorTls } from '../secrets.js';
import type { ConnectorTransport, InboundHandler, OutMessage, SendOutcome } from '../transport.js';

type MqttConnector = Extract<ConnectorConfig, { type: 'mqtt' }>;

/** Seconds the upstream keeps the session (subscriptions, queued QoS 1/2) while the hub is away. */
const SESSION_EXPIRY_S = 7 * 24 * 3600;
/** The longest a CONNECT waits for its CONNACK, ms. */
const CONNECT_TIMEOUT_MS = 10_000;

/** MQTT 5 PUBACK reasons that will not change on a retry: the message is dead-lettered. */
const PERMANENT_REASONS = new Set([0x87, 0x90, 0x93, 0x95, 0x99]);

/**
 * An upstream MQTT broker through mqtt.js: a persistent session (clean start off, a week of session
 * expiry) so QoS 1 messages for the hub wait upstream while it is away; publishes at the route's
 * QoS, never more at once than the upstream's Receive Maximum (mqtt.js holds the rest); the event
 * id travels as the MQTT 5 user property `edgehub-id`. Reconnecting is the runner's: mqtt.js's own
 * reconnect is off, so the backoff runs on the hub's clock.
 */
export class MqttTransport implements ConnectorTransport {
  private client: MqttClient | undefined;
  private lost: ((err: Error) => void) | undefined;

  constructor(
    private readonly config: MqttConnector,
    private readonly hubName: string,
  ) {}

  onLost(listener: (err: Error) => void): void {
    this.lost = listener;
  }

  async connect(inbound: InboundHandler): Promise<void> {
    await this.close();
    const c = this.config;
    const password = connectorSecret(c);
    const tls = connectorTls(c);
    const options: IClientOptions = {
      clientId: c.client_id ?? `${this.hubName}-${c.id}`,
      protocolVersion: c.protocol_version,
      clean: false,
      keepalive: c.keepalive,
      reconnectPeriod: 0,
      connectTimeout: CONNECT_TIMEOUT_MS,
      ...(c.username !== undefined && { username: c.username }),
      ...(password !== undefined && { password }),
      ...(tls && tls),
      ...(c.protocol_version === 5 && { properties: { sessionExpiryInterval: SESSION_EXPIRY_S } }),
      customHandleAcks: (topic, payload, packet, done) => {
        const route = this.config.in.find((r) => topicMatches(r.topic, topic));
        if (!route) return done(0);
        inbound(route, {
          source: topic,
          key: null,
          payload,
          ack: () => {
            done(0);
            return Promise.resolve();
          },
          // Left unacknowledged: the upstream sends it again on the next connection.
          nack: () => {
            this.client?.end(true);
            return Promise.resolve();
          },
        });
      },
    };
    const client = mqtt.connect(c.url, options);
    this.client = client;
    await new Promise<void>((resolve, reject) => {
      const failed = (err: Error): void => {
        client.removeListener('connect', connected);
        client.end(true);
        reject(err);
      };
      const connected = (): void => {
        client.removeListener('error', failed);
        resolve();
      };
      client.once('connect', connected);
      client.once('error', failed);
      client.once('close', () => failed(new Error(`connection to ${c.url} closed`)));
    });
    client.on('error', () => undefined);
    client.once('close', () => {
      if (this.client === client) this.lost?.(new Error(`connection to ${c.url} lost`));
    });
    client.on('message', (topic, payload, packet: IPublishPacket) => {
      // QoS 1 and 2 went through customHandleAcks.
      if (packet.qos !== 0) return;
      const route = this.config.in.find((r) => topicMatches(r.topic, topic));
      if (route)
        inbound(route, {
          source: topic,
          key: null,
          payload,
          ack: () => Promise.resolve(),
          nack: () => Promise.resolve(),
        });
    });
    const subscriptions = Object.fromEntries(this.config.in.map((r) => [r.topic, { qos: r.qos }]));
    if (Object.keys(subscriptions).length > 0) await client.subscribeAsync(subscriptions);
  }

  async send(batch: readonly OutMessage[]): Promise<SendOutcome[]> {
    const client = this.client;
    if (!client?.connected) throw new Error(`not connected to ${this.config.url}`);
    const v5 = this.config.protocol_version === 5;
    return Promise.all(
      batch.map(async (m): Promise<SendOutcome> => {
        const route = m.route && 'qos' in m.route ? m.route : undefined;
        try {
          await client.publishAsync(m.destination, m.payload, {
            qos: route?.qos ?? 1,
            retain: route?.retain ?? false,
            ...(v5 && {
              properties: {
                userProperties: { 'edgehub-id': m.eventId },
                ...(m.contentType !== undefined && { contentType: m.contentType }),
              },
            }),
          });
          return undefined;
        } catch (err) {
          const code = (err as { code?: unknown }).code;
          const reason = (err as Error).message;
          if (typeof code === 'number' && PERMANENT_REASONS.has(code))
            return { permanent: true, reason: `upstream refused it: ${reason} (0x${code.toString(16)})` };
          throw err;
        }
      }),
    );
  }

  close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (!client) return Promise.resolve();
    return new Promise((resolve) => client.end(true, {}, () => resolve()));
  }
}
