import { createClient, RESP_TYPES } from '@redis/client';
import { errorMessage } from '../../../kernel/index.js';
import type { ConnectorConfig } from '../config-schema.js';
import { connectorSecret, connectorTls } from '../secrets.js';
import {
  type ConnectorTransport,
  type InboundHandler,
  type OutMessage,
  type SendOutcome,
} from '../transport.js';

type RedisConnector = Extract<ConnectorConfig, { type: 'redis-stream' }>;
/** The client this transport makes: node-redis's defaults, no modules or scripts. */
function newClient(options: Parameters<typeof createClient>[0]) {
  return createClient(options);
}
type Client = ReturnType<typeof newClient>;

/** The longest a connection attempt waits, ms. */
const CONNECT_TIMEOUT_MS = 10_000;
/** How long one XREADGROUP blocks for new entries, ms; the reader notices a close within it. */
const READ_BLOCK_MS = 2_000;
/** Entries read at once. */
const READ_COUNT = 100;
/** Entries another consumer left unacknowledged this long are taken over, ms. */
const CLAIM_IDLE_MS = 60_000;

/** Server errors that a retry will not change: the entry is dead-lettered. */
const PERMANENT = /^(WRONGTYPE|ERR The ID specified|ERR Invalid stream ID)/;

/** One stream entry as XREADGROUP gives it: [id, [field, value, …]]. */
type StreamEntry = [Buffer, Buffer[]];
/** XREADGROUP's reply for one stream: a list of [stream, entries] (RESP2) or a map (RESP3). */
type StreamReply =
  [Buffer, StreamEntry[]][] | Record<string, StreamEntry[]> | Map<unknown, StreamEntry[]> | null;

function entriesOf(reply: StreamReply): StreamEntry[] {
  if (reply === null) return [];
  if (Array.isArray(reply)) return reply[0]?.[1] ?? [];
  if (reply instanceof Map) return [...reply.values()][0] ?? [];
  return Object.values(reply)[0] ?? [];
}

/**
 * Redis Streams through node-redis: XADD (with MAXLEN ~ when the route bounds the stream) for
 * `out`, one entry per message with the fields `id` (the event id), `key`, `payload` and
 * `content_type`; commands issued together go in one pipeline, so a batch is one round trip and
 * keeps its order. `in` routes read with XREADGROUP on a connection of their own, first what this
 * consumer had not acknowledged before (after a crash), then new entries, and XACK only once the
 * hub stored the event; entries another consumer of the group left idle are claimed with XAUTOCLAIM.
 */
export class RedisTransport implements ConnectorTransport {
  private client: Client | undefined;
  private reader: Client | undefined;
  private lost: ((err: Error) => void) | undefined;
  private closing = false;

  constructor(
    private readonly config: RedisConnector,
    private readonly hubName: string,
  ) {}

  onLost(listener: (err: Error) => void): void {
    this.lost = listener;
  }

  async connect(inbound: InboundHandler): Promise<void> {
    await this.close();
    this.closing = false;
    const client = this.makeClient();
    this.client = client;
    await client.connect();
    if (this.config.in.length > 0) {
      const reader = client.duplicate();
      reader.on('error', () => undefined);
      this.reader = reader;
      await reader.connect();
      for (const route of this.config.in) await this.ensureGroup(client, route.stream, this.group(route));
      for (const route of this.config.in) void this.consume(reader, route, inbound);
    }
  }

  async send(batch: readonly OutMessage[]): Promise<SendOutcome[]> {
    const client = this.client;
    if (!client?.isReady) throw new Error('not connected to Redis');
    const results = await Promise.allSettled(
      batch.map((m) => {
        const maxLen = m.route && 'max_len' in m.route ? m.route.max_len : 0;
        const fields: Record<string, string | Buffer> = {
          id: m.eventId,
          key: m.key ?? '',
          payload: m.payload,
        };
        if (m.contentType !== undefined) fields.content_type = m.contentType;
        return client.xAdd(
          m.destination,
          '*',
          fields,
          maxLen > 0 ? { TRIM: { strategy: 'MAXLEN', strategyModifier: '~', threshold: maxLen } } : undefined,
        );
      }),
    );
    return results.map((r) => {
      if (r.status === 'fulfilled') return undefined;
      const reason = errorMessage(r.reason);
      if (PERMANENT.test(reason)) return { permanent: true, reason: `Redis refused it: ${reason}` };
      return { permanent: false, reason };
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    const clients = [this.reader, this.client];
    this.reader = this.client = undefined;
    await Promise.all(
      clients.map(async (c) => {
        if (c?.isOpen) await c.close().catch(() => c.destroy());
      }),
    );
  }

  private makeClient(): Client {
    const c = this.config;
    const password = connectorSecret(c);
    const tls = connectorTls(c);
    const client = newClient({
      url: c.url,
      ...(c.username !== undefined && { username: c.username }),
      ...(password !== undefined && { password }),
      socket: {
        connectTimeout: CONNECT_TIMEOUT_MS,
        // Reconnecting is the runner's, on the hub's clock.
        reconnectStrategy: false,
        ...(tls && { tls: true as const, ...tls }),
      },
    });
    client.on('error', () => undefined);
    client.on('end', () => {
      if (!this.closing) this.lost?.(new Error('connection to Redis lost'));
    });
    return client;
  }

  private group(route: RedisConnector['in'][number]): string {
    return route.group ?? `${this.hubName}-${this.config.id}`;
  }

  private get consumer(): string {
    return `${this.hubName}-${this.config.id}`;
  }

  private async ensureGroup(client: Client, stream: string, group: string): Promise<void> {
    try {
      await client.xGroupCreate(stream, group, '$', { MKSTREAM: true });
    } catch (err) {
      if (!errorMessage(err).startsWith('BUSYGROUP')) throw err;
    }
  }

  /** Reads the route's stream until the transport closes: own pending entries first, then new ones. */
  private async consume(
    reader: Client,
    route: RedisConnector['in'][number],
    inbound: InboundHandler,
  ): Promise<void> {
    const raw = reader.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
    const group = this.group(route);
    let from = '0';
    let sinceClaim = 0;
    while (!this.closing && this.reader === reader) {
      try {
        if (from === '>' && (sinceClaim += READ_BLOCK_MS) >= CLAIM_IDLE_MS) {
          sinceClaim = 0;
          await raw.sendCommand([
            'XAUTOCLAIM',
            route.stream,
            group,
            this.consumer,
            String(CLAIM_IDLE_MS),
            '0',
            'COUNT',
            String(READ_COUNT),
            'JUSTID',
          ]);
          from = '0';
        }
        const reply = await raw.sendCommand<StreamReply>([
          'XREADGROUP',
          'GROUP',
          group,
          this.consumer,
          'COUNT',
          String(READ_COUNT),
          ...(from === '>' ? ['BLOCK', String(READ_BLOCK_MS)] : []),
          'STREAMS',
          route.stream,
          from,
        ]);
        const entries = entriesOf(reply);
        if (from === '0' && entries.length === 0) from = '>';
        await Promise.all(entries.map(([id, fields]) => this.deliver(route, id, fields, inbound)));
      } catch (err) {
        if (this.closing || this.reader !== reader) return;
        this.lost?.(new Error(`reading ${route.stream}: ${errorMessage(err)}`));
        return;
      }
    }
  }

  private deliver(
    route: RedisConnector['in'][number],
    id: Buffer,
    fields: Buffer[],
    inbound: InboundHandler,
  ): Promise<void> {
    const values = new Map<string, Buffer>();
    for (let i = 0; i + 1 < fields.length; i += 2) {
      const name = fields[i];
      const value = fields[i + 1];
      if (name && value) values.set(name.toString(), value);
    }
    // An entry from another edgehub carries `payload`; any other stream's entry arrives whole, as JSON.
    const payload =
      values.get('payload') ??
      Buffer.from(JSON.stringify(Object.fromEntries([...values].map(([k, v]) => [k, v.toString()]))));
    const key = values.get('key')?.toString() || null;
    return new Promise<void>((resolve) => {
      inbound(route, {
        source: route.stream,
        key,
        payload,
        ack: async () => {
          resolve();
          await this.client?.xAck(route.stream, this.group(route), id.toString());
        },
        // Left pending: read again from this consumer's pending entries after the next connect.
        nack: () => {
          resolve();
          this.lost?.(new Error('a message from Redis could not be stored'));
          return Promise.resolve();
        },
      });
    });
  }
}
