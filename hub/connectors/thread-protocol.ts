/**
 * What the main thread and the connectors' prepare thread say to each other. A prepared batch
 * travels as column arrays and one packed payload buffer, transferred rather than copied: a
 * Buffer of a few hundred bytes is a view of Node's 8 KiB pool, which a structured clone would
 * copy whole.
 */
import type { ConnectorType, OutRouteConfig } from './config-schema.js';
import type { PreparedBatch } from './prepared-batch.js';

export interface PrepareInit {
  /** The event database. */
  file: string;
  hub: string;
  connectors: { id: string; type: ConnectorType; out: OutRouteConfig[]; batchSize: number }[];
}

export type PrepareRequest =
  /** Each metric's unit, by {@link unitKey}; sent again whenever the device definitions change. */
  | { t: 'units'; units: [string, string][] }
  | { t: 'prepare'; id: number; connector: string; afterId: number };

export type PrepareReply =
  { t: 'prepared'; id: number; batch: PackedBatch } | { t: 'failed'; id: number; message: string };

/** A {@link PreparedBatch}, one entry per message in each column. */
export interface PackedBatch {
  rowIds: number[];
  gone: number[];
  last: number;
  messageRows: number[];
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
