/**
 * What the event store's main thread and its writer thread say to each other. A batch travels as
 * column arrays and one packed payload buffer, all transferred rather than copied, so handing 2,000
 * events to the writer costs the broker's thread a few copies of bytes and no per-event objects.
 */
import type { MessagePort } from 'node:worker_threads';

/** `flags` bits of a row. */
export const FLAG_QOS_MASK = 0b011;
export const FLAG_RETAIN = 0b100;
/** The payload bytes are JSON text (stored as TEXT); otherwise they are stored as a BLOB. */
export const FLAG_JSON = 0b1000;

export interface BatchMessage {
  t: 'batch';
  /** Increases by one per batch; the writer settles batches in this order. */
  seq: number;
  count: number;
  /** Epoch ms per row. */
  times: Float64Array;
  /** Per row: the reading or state as a number (`events.value`), NaN for none. */
  values: Float64Array;
  flags: Uint8Array;
  /** Per row: index into `topics`. */
  topic: Uint32Array;
  /** Per row: index into `clients`, or -1 when the hub itself published. */
  client: Int32Array;
  /** Distinct topics of the batch, with what the topic convention says about each. */
  topics: string[];
  devices: (string | null)[];
  metrics: (string | null)[];
  clients: string[];
  /** Every row's payload back to back; row i is `payload[ends[i - 1] ?? 0 .. ends[i]]`. */
  payload: Uint8Array;
  ends: Uint32Array;
  /** Rows that become `latest` for their (device, metric): the last such row of the batch. */
  latestRows: Uint32Array;
  /** The `latest.value` of each of those rows, or null for "the same as the payload column". */
  latestValues: (string | null)[];
  /** Outbox entries of the batch: row `outRows[i]` goes to route `outRoutes[i]`; rows ascending. */
  outRows: Uint32Array;
  /** Index into {@link WriterInit.outbox}. */
  outRoutes: Uint16Array;
}

/** An `out` route as the writer sees it: whose outbox a matched event goes to, under which key. */
export interface OutboxRouteInit {
  connector: string;
  /** The route's index in its connector's `out` list. */
  route: number;
  /** What the message key is: the event's device (default), its topic, or none. */
  key: 'device' | 'topic' | 'none';
}

/** An outbox row that carries its own message (a rule's `forward`) rather than pointing at an event. */
export interface OutboxEntry {
  connector: string;
  route: number;
  /** Epoch ms. */
  time: number;
  key: string | null;
  message: Uint8Array;
  /** Overrides the route's destination when set. */
  destination: string | null;
}

/** A stored event for a connector's outbox again: its route, the event id and the message key. */
export type ReplayRow = [route: number, eventId: number, key: string | null];

/** A connector's backlog bounds; beyond them its oldest rows are dropped. */
export interface OutboxLimit {
  connector: string;
  /** Rows kept at most (0: no bound). */
  maxEvents: number;
  /** Rows older than this are dropped, ms (0: no bound). */
  maxAgeMs: number;
  /** Rows through this id are in flight to the remote and never dropped (0: none). */
  keepThrough?: number;
}

export type WriterRequest =
  | BatchMessage
  /** Try again to write what failed before (sent on the flush timer during an outage). */
  | { t: 'retry' }
  /** Replies with `synced` once everything sent before it has been tried. */
  | { t: 'sync'; id: number }
  /** A retention run in bounded steps, yielding to batches between steps. */
  | { t: 'retention'; id: number; nowMs: number; chunkRows: number; untilDone: boolean }
  /** Testing only: a pragma on the writing connection (e.g. to make writes fail). */
  | { t: 'pragma'; id: number; source: string; simple: boolean }
  | { t: 'close'; id: number }
  /** Delivered: a connector's rows through `throughId` go, `dead` ones to the dead-letter table. */
  | {
      t: 'outbox-settle';
      id: number;
      connector: string;
      throughId: number;
      nowMs: number;
      dead: { id: number; reason: string }[];
    }
  /** Drops what is beyond each connector's backlog bounds. */
  | { t: 'outbox-trim'; id: number; nowMs: number; limits: OutboxLimit[] }
  /** Rows that carry their own message, in one transaction. */
  | { t: 'outbox-add'; id: number; entries: OutboxEntry[] }
  /** Moves dead letters (all of a connector's when `ids` is empty) back into its outbox. */
  | { t: 'outbox-revive'; id: number; connector: string; ids: number[] }
  /** Puts stored events back into a connector's outbox (a replay). */
  | { t: 'outbox-replay'; id: number; connector: string; nowMs: number; rows: ReplayRow[] };

export interface WriteError {
  message: string;
  /** SQLite's code, e.g. SQLITE_FULL. */
  code: string | undefined;
}

export type WriterReply =
  | {
      t: 'progress';
      /** Every batch with seq ≤ this is committed or dropped. */
      settledThrough: number;
      /** Rows committed since the last progress reply. */
      committed: number;
      /** Rows dropped from the outage backlog since the last reply (the buffer cap). */
      dropped: number;
      /** Rows the writer still holds because writing failed. */
      backlog: number;
      /** Set when the last write attempt failed. */
      error?: WriteError;
      /** Outbox rows committed since the last reply, per index of {@link WriterInit.outbox}. */
      outboxed?: number[];
    }
  | { t: 'synced'; id: number }
  /** The answer to an outbox request: rows changed (per connector for a trim: dropped). */
  | { t: 'outbox'; id: number; rows: number; dropped: Record<string, number>; error?: WriteError }
  | {
      t: 'retention';
      id: number;
      deletedByAge: number;
      deletedBySize: number;
      steps: number;
      error?: WriteError;
    }
  | { t: 'pragma'; id: number; result: unknown; error?: WriteError }
  | { t: 'closed'; id: number; lost: number; error?: WriteError }
  /** The writer thread could not load; it exits next. */
  | { t: 'crashed'; message: string };

/** How the writer thread is set up (`workerData`). */
export interface WriterInit {
  file: string;
  /** Rows held while writes fail; beyond it the oldest are dropped. */
  maxBufferedEvents: number;
  /** Most rows per transaction when working off a backlog. */
  maxRowsPerTransaction: number;
  /** Retention limits, applied by the writer. */
  retention: {
    /** Events older than this are deleted, ms. */
    maxAgeMs: number;
    /** Live database bytes to stay under. */
    maxSizeBytes: number;
  };
  /** Every `out` route of every connector; batches refer to them by index. */
  outbox: OutboxRouteInit[];
  /** Replies go here, so the main thread can also read them synchronously. */
  replies: MessagePort;
  /** `Int32Array` over it: slot 0 counts replies, for `Atomics.wait` on the main thread. */
  signal: SharedArrayBuffer;
}

export function describeError(err: unknown): WriteError {
  const code = (err as { code?: unknown } | null)?.code;
  return {
    message: err instanceof Error ? err.message : String(err),
    code: typeof code === 'string' ? code : undefined,
  };
}
