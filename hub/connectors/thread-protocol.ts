/**
 * What the main thread and the connectors' thread say to each other. A prepared batch travels as
 * column arrays and one packed payload buffer, transferred rather than copied: a Buffer of a few
 * hundred bytes is a view of Node's 8 KiB pool, which a structured clone would copy whole. A batch
 * the thread also sends (`hold`) does not travel at all: only its rows come back.
 */
import type { LogLevel } from '../../kernel/index.js';
import type { ConnectorConfig, OutRouteConfig } from './config-schema.js';
import type { PreparedBatch } from './prepared-batch.js';
import type { SendOutcome } from './transport.js';

export interface ThreadInit {
  /** The event database. */
  file: string;
  hub: string;
  connectors: ConnectorConfig[];
}

export type ThreadRequest =
  /** Each metric's unit, by {@link unitKey}; sent again whenever the device definitions change. */
  | { t: 'units'; units: [string, string][] }
  /** The batch after `afterId`; kept on the thread for a `send` when `hold`, else handed over. */
  | { t: 'prepare'; id: number; connector: string; afterId: number; hold: boolean }
  /** Connects the connector's client on the thread (made on first use, kept across reconnects). */
  | { t: 'connect'; id: number; connector: string }
  /** Sends the held batch whose first message is row `first`, of `count` messages. */
  | { t: 'send'; id: number; connector: string; first: number; count: number }
  | { t: 'close'; id: number; connector: string };

export type ThreadReply =
  | { t: 'prepared'; id: number; batch: PackedBatch }
  | { t: 'held'; id: number; batch: HeldBatch }
  | { t: 'sent'; id: number; outcomes: SendOutcome[] }
  | { t: 'done'; id: number }
  | { t: 'failed'; id: number; message: string }
  /** A connection the thread holds was lost. */
  | { t: 'lost'; connector: string; message: string }
  /** A line for the hub's log, from a client library on the thread. */
  | { t: 'log'; level: LogLevel; msg: string; fields: Record<string, unknown> };

/** A batch held on the thread: its rows, and each message's row. */
export interface HeldBatch {
  rowIds: number[];
  gone: number[];
  last: number;
  messageRows: number[];
}

/** A {@link PreparedBatch}, one entry per message in each column. */
export interface PackedBatch extends HeldBatch {
  eventIds: string[];
  keys: (string | null)[];
  destinations: string[];
  /** Index into the connector's `out` routes; -1 for a rule's `forward`. */
  routes: number[];
  /** 1 where the message is JSON (`application/json`). */
  json: Uint8Array;
  /** Message i's payload is `payload[ends[i - 1] ?? 0 .. ends[i]]`. */
  ends: Uint32Array;
  payload: Uint8Array;
}

/** The key of a unit in the units table. */
export function unitKey(device: string, metric: string): string {
  return `${device}\u0000${metric}`;
}

export function packBatch(
  batch: PreparedBatch,
  routes: readonly OutRouteConfig[],
): { packed: PackedBatch; transfer: ArrayBuffer[] } {
  const { messages } = batch;
  const n = messages.length;
  let total = 0;
  for (const m of messages) total += m.payload.length;
  const payload = new Uint8Array(total);
  const ends = new Uint32Array(n);
  const json = new Uint8Array(n);
  const packed: PackedBatch = {
    rowIds: batch.rowIds,
    gone: batch.gone,
    last: batch.last,
    messageRows: new Array<number>(n),
    eventIds: new Array<string>(n),
    keys: new Array<string | null>(n),
    destinations: new Array<string>(n),
    routes: new Array<number>(n),
    json,
    ends,
    payload,
  };
  let at = 0;
  for (let i = 0; i < n; i++) {
    const m = messages[i] as PreparedBatch['messages'][number];
    payload.set(m.payload, at);
    at += m.payload.length;
    ends[i] = at;
    json[i] = m.contentType === undefined ? 0 : 1;
    packed.messageRows[i] = m.rowId;
    packed.eventIds[i] = m.eventId;
    packed.keys[i] = m.key;
    packed.destinations[i] = m.destination;
    packed.routes[i] = m.route === null ? -1 : routes.indexOf(m.route);
  }
  return { packed, transfer: [payload.buffer, ends.buffer, json.buffer] };
}

/** The batch again, its payloads views of the one transferred buffer. */
export function unpackBatch(packed: PackedBatch, routes: readonly OutRouteConfig[]): PreparedBatch {
  const n = packed.ends.length;
  const messages = new Array<PreparedBatch['messages'][number]>(n);
  const buffer = Buffer.from(packed.payload.buffer, packed.payload.byteOffset, packed.payload.byteLength);
  let from = 0;
  for (let i = 0; i < n; i++) {
    const to = packed.ends[i] ?? from;
    messages[i] = {
      rowId: packed.messageRows[i] ?? 0,
      eventId: packed.eventIds[i] ?? '',
      key: packed.keys[i] ?? null,
      destination: packed.destinations[i] ?? '',
      route: routes[packed.routes[i] ?? -1] ?? null,
      payload: buffer.subarray(from, to),
      contentType: packed.json[i] === 1 ? 'application/json' : undefined,
    };
    from = to;
  }
  return { rowIds: packed.rowIds, messages, gone: packed.gone, last: packed.last };
}

/** What the thread keeps of a held batch, and what comes back: the batch's rows. */
export function heldOf(batch: PreparedBatch): HeldBatch {
  return {
    rowIds: batch.rowIds,
    gone: batch.gone,
    last: batch.last,
    messageRows: batch.messages.map((m) => m.rowId),
  };
}

const NO_PAYLOAD = Buffer.alloc(0);

/**
 * A held batch as the connector's runner sees it: every message's row, in order. The rest of each
 * message (its address, key and bytes) stays on the thread, which sends it.
 */
export function unheldBatch(held: HeldBatch): PreparedBatch {
  return {
    rowIds: held.rowIds,
    gone: held.gone,
    last: held.last,
    messages: held.messageRows.map((rowId) => ({
      rowId,
      eventId: '',
      key: null,
      destination: '',
      route: null,
      payload: NO_PAYLOAD,
      contentType: undefined,
    })),
  };
}
