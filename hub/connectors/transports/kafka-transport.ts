import { Kafka, logLevel, type Consumer, type Message, type Producer, type SASLOptions } from 'kafkajs';
import { errorMessage, type Logger } from '../../../kernel/index.js';
import type { ConnectorConfig } from '../config-schema.js';
import { connectorSecret, connectorTls } from '../secrets.js';
import {
  type ConnectorTransport,
  type InboundHandler,
  type OutMessage,
  type SendOutcome,
} from '../transport.js';
import { sendIsolating } from './isolate.js';

type KafkaConnector = Extract<ConnectorConfig, { type: 'kafka' }>;

/** Kafka error types a retry will not change: the message is dead-lettered. */
const PERMANENT_TYPES = new Set([
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_TOPIC_EXCEPTION',
  'TOPIC_AUTHORIZATION_FAILED',
  'UNKNOWN_TOPIC_OR_PARTITION',
  'INVALID_RECORD',
  'CORRUPT_MESSAGE',
]);

/** The Kafka error type somewhere in an error's chain (kafkajs wraps the broker's in retries). */
function kafkaType(err: unknown, depth = 0): string | undefined {
  if (!err || typeof err !== 'object' || depth > 5) return undefined;
  const e = err as { type?: unknown; cause?: unknown; originalError?: unknown; errors?: unknown[] };
  if (typeof e.type === 'string' && PERMANENT_TYPES.has(e.type)) return e.type;
  for (const inner of [e.cause, e.originalError, ...(Array.isArray(e.errors) ? e.errors : [])]) {
    const found = kafkaType(inner, depth + 1);
    if (found) return found;
  }
  return undefined;
}

/**
 * Kafka through kafkajs (pure JavaScript, in maintenance but sound against current brokers; kept
 * behind this transport): an idempotent producer with acks from every in-sync replica and one
 * request in flight, so a key's messages land in its partition in order, exactly once per attempt.
 * The event id travels as the header `edgehub-id`. `in` routes consume in a group and commit a
 * message's offset only once the hub stored it.
 */
export class KafkaTransport implements ConnectorTransport {
  private producer: Producer | undefined;
  private consumers: Consumer[] = [];
  private lost: ((err: Error) => void) | undefined;
  private closing = false;

  constructor(
    private readonly config: KafkaConnector,
    private readonly hubName: string,
    private readonly logger: Logger,
  ) {}

  onLost(listener: (err: Error) => void): void {
    this.lost = listener;
  }

  async connect(inbound: InboundHandler): Promise<void> {
    await this.close();
    this.closing = false;
    const c = this.config;
    const tls = connectorTls(c);
    const password = connectorSecret(c);
    // A username means SASL; PLAIN unless another mechanism is named.
    const sasl: SASLOptions | undefined =
      c.username === undefined
        ? undefined
        : { mechanism: c.sasl ?? 'plain', username: c.username, password: password ?? '' };
    const kafka = new Kafka({
      clientId: c.client_id ?? `${this.hubName}-${c.id}`,
      brokers: c.brokers,
      ...(tls && { ssl: tls }),
      ...(sasl && { sasl }),
      connectionTimeout: 10_000,
      // A few quick retries inside kafkajs; the long backoff is the runner's, on the hub's clock.
      retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 2_000 },
      logCreator: () => (entry) => {
        if (entry.level <= logLevel.WARN)
          this.logger.debug('kafkajs', { connector: c.id, message: entry.log.message });
      },
    });
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: true,
    });
    this.producer = producer;
    producer.on(producer.events.DISCONNECT, () => {
      if (!this.closing && this.producer === producer) this.lost?.(new Error('Kafka producer disconnected'));
    });
    await producer.connect();
    for (const route of c.in) {
      const consumer = kafka.consumer({ groupId: route.group ?? `${this.hubName}-${c.id}` });
      this.consumers.push(consumer);
      consumer.on(consumer.events.CRASH, (e) => {
        if (!this.closing) this.lost?.(new Error(`Kafka consumer crashed: ${errorMessage(e.payload.error)}`));
      });
      await consumer.connect();
      await consumer.subscribe({ topic: route.topic, fromBeginning: false });
      await consumer.run({
        autoCommit: true,
        eachBatchAutoResolve: false,
        eachBatch: async (payload) => {
          const { batch } = payload;
          for (const message of batch.messages) {
            if (!payload.isRunning() || payload.isStale()) return;
            await new Promise<void>((resolve, reject) => {
              inbound(route, {
                source: batch.topic,
                key: message.key?.toString() ?? null,
                payload: message.value ?? Buffer.alloc(0),
                ack: () => {
                  payload.resolveOffset(message.offset);
                  resolve();
                  return Promise.resolve();
                },
                // Thrown from the batch: kafkajs reads it again from the last committed offset.
                nack: () => {
                  reject(new Error('a message from Kafka could not be stored'));
                  return Promise.resolve();
                },
              });
            });
            await payload.heartbeat();
          }
        },
      });
    }
  }

  send(batch: readonly OutMessage[]): Promise<SendOutcome[]> {
    return sendIsolating(batch, (part) => this.sendAll(part), kafkaType);
  }

  async close(): Promise<void> {
    this.closing = true;
    const producer = this.producer;
    const consumers = this.consumers.splice(0);
    this.producer = undefined;
    await Promise.all([
      producer?.disconnect().catch(() => undefined),
      ...consumers.map((c) => c.disconnect().catch(() => undefined)),
    ]);
  }

  /** The whole batch in one request per broker; it all lands or it all throws. */
  private async sendAll(batch: readonly OutMessage[]): Promise<void> {
    const producer = this.producer;
    if (!producer) throw new Error('not connected to Kafka');
    const byTopic = new Map<string, Message[]>();
    for (const m of batch) {
      const messages = byTopic.get(m.destination) ?? [];
      messages.push({
        key: m.key,
        value: m.payload,
        headers: {
          'edgehub-id': m.eventId,
          ...(m.contentType !== undefined && { 'content-type': m.contentType }),
        },
      });
      byTopic.set(m.destination, messages);
    }
    await producer.sendBatch({
      acks: -1,
      topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
    });
  }
}
