import amqp, { type Channel, type ChannelModel, type ConfirmChannel, type Message } from 'amqplib';
import { errorMessage } from '../../../kernel/index.js';
import type { ConnectorConfig } from '../config-schema.js';
import { connectorSecret, connectorTls } from '../secrets.js';
import {
  type ConnectorTransport,
  type InboundHandler,
  type OutMessage,
  type SendOutcome,
} from '../transport.js';
import { partlyTaken, sendIsolating } from './isolate.js';

type AmqpConnector = Extract<ConnectorConfig, { type: 'amqp' }>;

/** A channel closed by the server for a reason a retry will not change (404: no such exchange). */
function permanentReason(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 404 || /NOT_FOUND/.test(errorMessage(err))) return 'no such exchange';
  if (code === 403 || /ACCESS_REFUSED/.test(errorMessage(err))) return 'access refused';
  if ((err as { unroutable?: unknown } | null)?.unroutable === true) return 'unroutable';
  return undefined;
}

/**
 * RabbitMQ (AMQP 0-9-1) through amqplib: a confirm channel, so a message counts as delivered only
 * once the broker confirmed it (persistent, so a durable queue keeps it across a broker restart);
 * published `mandatory`, so a message no queue is bound for comes back and is dead-lettered rather
 * than silently dropped. The event id travels as the AMQP `message-id`. `in` routes consume with a
 * bounded prefetch and acknowledge once the hub stored the event; what was not acknowledged the
 * broker delivers again.
 */
export class AmqpTransport implements ConnectorTransport {
  private model: ChannelModel | undefined;
  private channel: ConfirmChannel | undefined;
  private consumers: Channel[] = [];
  private lost: ((err: Error) => void) | undefined;
  private closing = false;
  /** Message ids the broker returned as unroutable during the current send. */
  private readonly returned = new Set<string>();
  /** Why the broker closed a channel, for the confirms that failed with it. */
  private readonly channelErrors = new WeakMap<ConfirmChannel, Error>();

  constructor(private readonly config: AmqpConnector) {}

  onLost(listener: (err: Error) => void): void {
    this.lost = listener;
  }

  async connect(inbound: InboundHandler): Promise<void> {
    await this.close();
    this.closing = false;
    const c = this.config;
    const password = connectorSecret(c);
    const tls = connectorTls(c);
    const model = await amqp.connect(c.url, {
      timeout: 10_000,
      ...(c.username !== undefined && { credentials: amqp.credentials.plain(c.username, password ?? '') }),
      ...(tls && tls),
    });
    this.model = model;
    model.on('error', () => undefined);
    model.on('close', (err?: Error) => {
      if (!this.closing && this.model === model)
        this.lost?.(new Error(`connection to RabbitMQ closed${err ? `: ${errorMessage(err)}` : ''}`));
    });
    this.channel = await this.openChannel(model);
    for (const route of c.in) {
      const channel = await model.createChannel();
      channel.on('error', () => undefined);
      this.consumers.push(channel);
      await channel.prefetch(route.prefetch);
      await channel.consume(route.queue, (msg) => {
        if (!msg) {
          if (!this.closing) this.lost?.(new Error(`the queue ${route.queue} was cancelled`));
          return;
        }
        this.receive(channel, route, msg, inbound);
      });
    }
  }

  send(batch: readonly OutMessage[]): Promise<SendOutcome[]> {
    return sendIsolating(batch, (part) => this.publishAll(part), permanentReason);
  }

  async close(): Promise<void> {
    this.closing = true;
    const model = this.model;
    this.model = this.channel = undefined;
    this.consumers = [];
    await model?.close().catch(() => undefined);
  }

  private async openChannel(model: ChannelModel): Promise<ConfirmChannel> {
    const channel = await model.createConfirmChannel();
    // The broker closes a channel over a missing exchange (404): its confirms then fail only with
    // "channel closed", so the reason is kept from the error that came first.
    channel.on('error', (err: Error) => this.channelErrors.set(channel, err));
    channel.on('return', (msg: Message) => {
      const id = msg.properties.messageId as unknown;
      if (typeof id === 'string') this.returned.add(id);
    });
    channel.on('close', () => {
      if (this.channel === channel) this.channel = undefined;
    });
    return channel;
  }

  /** Publishes the whole part and resolves once the broker confirmed every message. */
  private async publishAll(part: readonly OutMessage[]): Promise<void> {
    const model = this.model;
    if (!model) throw new Error('not connected to RabbitMQ');
    // A channel the broker closed (a 404 for a missing exchange) is opened again for the next try.
    const channel = this.channel ?? (this.channel = await this.openChannel(model));
    this.returned.clear();
    const confirms = part.map(
      (m) =>
        new Promise<void>((resolve, reject) => {
          const exchange = m.route && 'exchange' in m.route ? m.route.exchange : '';
          const ok = channel.publish(
            exchange,
            m.destination,
            m.payload,
            {
              persistent: true,
              mandatory: true,
              messageId: m.eventId,
              ...(m.contentType !== undefined && { contentType: m.contentType }),
              headers: { 'edgehub-key': m.key ?? '' },
            },
            (err: unknown) =>
              err ? reject(err instanceof Error ? err : new Error(errorMessage(err))) : resolve(),
          );
          void ok;
        }),
    );
    const results = await Promise.allSettled(confirms);
    // Confirmed and routed: not sent again while the rest of the part is tried one by one.
    const taken = results.map(
      (r, i) => r.status === 'fulfilled' && !this.returned.has(part[i]?.eventId ?? ''),
    );
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw partlyTaken(this.channelErrors.get(channel) ?? failed.reason, taken);
    const unroutable = part.find((m) => this.returned.has(m.eventId));
    if (unroutable)
      throw partlyTaken(
        Object.assign(new Error(`no queue is bound for routing key ${unroutable.destination}`), {
          unroutable: true,
        }),
        taken,
      );
  }

  private receive(
    channel: Channel,
    route: AmqpConnector['in'][number],
    msg: amqp.ConsumeMessage,
    inbound: InboundHandler,
  ): void {
    const key = msg.properties.headers?.['edgehub-key'] as unknown;
    inbound(route, {
      source: msg.fields.routingKey || route.queue,
      key: typeof key === 'string' && key !== '' ? key : null,
      payload: msg.content,
      ack: () => {
        channel.ack(msg);
        return Promise.resolve();
      },
      nack: () => {
        channel.nack(msg, false, true);
        return Promise.resolve();
      },
    });
  }
}
