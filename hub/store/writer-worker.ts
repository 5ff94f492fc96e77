/**
 * The event store's writer thread: owns the only writing connection to the event database, so
 * SQLite inserts, index updates, checkpoints and retention never run on the broker's thread.
 * Imports stay minimal (no kernel, no devices): this file is loaded once per store start.
 */
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import type { Database as SqliteDatabase } from 'better-sqlite3';
import { BatchWriter } from './batch-writer.js';
import { OutboxWriter } from './outbox-writer.js';
import { configureWriter } from './pragmas.js';
import { Retention } from './retention.js';
import type { BatchMessage, WriteError, WriterInit, WriterReply, WriterRequest } from './writer-protocol.js';
import { describeError } from './writer-protocol.js';

const init = workerData as WriterInit;
const signal = new Int32Array(init.signal);
const input = parentPort;
if (!input) throw new Error('writer-worker runs as a worker thread');

let db: SqliteDatabase | undefined;
let writer: BatchWriter | undefined;
let retention: Retention | undefined;
let outbox: OutboxWriter | undefined;
/** Set when opening failed; the next attempt tries again. */
let openError: unknown;
let lastSettled = 0;
/** A write attempt is due at the end of the current group of requests. */
let pendingWrite = false;
/** Rows were added or dropped without an attempt (during an outage); the main thread must hear of it. */
let pendingReport = false;
/**
 * The last attempt failed. Until the main thread asks for a retry (its flush timer), new batches are
 * only held, so a full disk costs one failed transaction per flush interval, not one per batch.
 */
let failing = false;
/** Rows that arrived while the database could not even be opened; written once it opens. */
let heldBeforeOpen = 0;
let droppedEarly = 0;
const early: BatchMessage[] = [];

function reply(message: WriterReply): void {
  init.replies.postMessage(message);
  // Wakes a main thread blocked in a synchronous flush; it then reads the reply from the port.
  Atomics.add(signal, 0, 1);
  Atomics.notify(signal, 0);
}

function open(): BatchWriter | undefined {
  if (writer) return writer;
  if (db?.open) db.close();
  try {
    const handle = new Database(init.file, { fileMustExist: true });
    configureWriter(handle);
    db = handle;
    writer = new BatchWriter(
      handle,
      { maxHeldRows: init.maxBufferedEvents, maxRowsPerTransaction: init.maxRowsPerTransaction },
      init.outbox,
    );
    retention = new Retention(handle, init.retention);
    outbox = new OutboxWriter(handle);
    openError = undefined;
    for (const b of early.splice(0)) writer.add(b);
    heldBeforeOpen = 0;
    return writer;
  } catch (err) {
    openError = err;
    return undefined;
  }
}

/** Writes what is held and reports it; called once per group of requests that arrived together. */
function writeHeld(): void {
  pendingWrite = pendingReport = false;
  const w = open();
  if (!w) {
    failing = true;
    report(0, describeError(openError));
    return;
  }
  const outcome = w.writeAll();
  failing = outcome.error !== undefined;
  report(outcome.committed, failing ? describeError(outcome.error) : undefined);
}

/** Batches held before the database opens, whole batches dropped beyond the cap. */
function holdEarly(batch: BatchMessage): void {
  early.push(batch);
  heldBeforeOpen += batch.count;
  while (heldBeforeOpen > init.maxBufferedEvents && early.length > 1) {
    const dropped = early.shift();
    if (!dropped) break;
    heldBeforeOpen -= dropped.count;
    droppedEarly += dropped.count;
    lastSettled = dropped.seq;
  }
}

function report(committed: number, error?: WriteError): void {
  pendingReport = false;
  if (writer) lastSettled = Math.max(lastSettled, writer.settledThrough);
  const progress: WriterReply = {
    t: 'progress',
    settledThrough: lastSettled,
    committed,
    dropped: (writer?.takeDropped() ?? 0) + droppedEarly,
    backlog: (writer?.backlog ?? 0) + heldBeforeOpen,
  };
  droppedEarly = 0;
  const outboxed = writer?.takeOutboxed();
  if (outboxed) progress.outboxed = outboxed;
  if (error) progress.error = error;
  reply(progress);
}

/** Ends a group of requests: an attempt if one is due, else news of rows held or dropped. */
function settleGroup(): void {
  if (pendingWrite) writeHeld();
  else if (pendingReport) report(0);
}

function handle(message: WriterRequest): void {
  switch (message.t) {
    case 'batch':
      if (writer) writer.add(message);
      else holdEarly(message);
      if (failing) pendingReport = true;
      else pendingWrite = true;
      return;
    case 'retry':
      pendingWrite = true;
      return;
    case 'sync':
      settleGroup();
      reply({ t: 'synced', id: message.id });
      return;
    case 'retention':
      settleGroup();
      void runRetention(message.id, message.nowMs, message.chunkRows, message.untilDone);
      return;
    case 'pragma': {
      settleGroup();
      open();
      try {
        if (!db) throw openError;
        const result: unknown = db.pragma(message.source, { simple: message.simple });
        reply({ t: 'pragma', id: message.id, result });
      } catch (err) {
        reply({ t: 'pragma', id: message.id, result: undefined, error: describeError(err) });
      }
      return;
    }
    case 'close':
      close(message.id);
      return;
    case 'outbox-settle':
    case 'outbox-trim':
    case 'outbox-add':
    case 'outbox-revive':
    case 'outbox-replay':
      settleGroup();
      outboxRequest(message);
      return;
  }
}

type OutboxRequest = Extract<WriterRequest, { t: `outbox-${string}` }>;

/** One outbox change in its own transaction, after the batches that came before it. */
function outboxRequest(message: OutboxRequest): void {
  open();
  const answer: Extract<WriterReply, { t: 'outbox' }> = { t: 'outbox', id: message.id, rows: 0, dropped: {} };
  try {
    if (!outbox) throw openError;
    switch (message.t) {
      case 'outbox-settle':
        answer.rows = outbox.settle(message.connector, message.throughId, message.nowMs, message.dead);
        break;
      case 'outbox-trim':
        answer.dropped = outbox.trim(message.nowMs, message.limits);
        break;
      case 'outbox-add':
        answer.rows = outbox.add(message.entries);
        break;
      case 'outbox-revive':
        answer.rows = outbox.revive(message.connector, message.ids);
        break;
      case 'outbox-replay':
        answer.rows = outbox.replay(message.connector, message.nowMs, message.rows);
        break;
    }
  } catch (err) {
    answer.error = describeError(err);
  }
  reply(answer);
}

async function runRetention(id: number, nowMs: number, chunkRows: number, untilDone: boolean) {
  const r = retention ?? (open() ? retention : undefined);
  const total = { deletedByAge: 0, deletedBySize: 0, steps: 0 };
  let error: WriteError | undefined;
  if (!r) {
    error = describeError(openError);
  } else {
    try {
      for (;;) {
        const step = r.step(nowMs, chunkRows);
        total.deletedByAge += step.deletedByAge;
        total.deletedBySize += step.deletedBySize;
        total.steps++;
        if (step.done) break;
        // Batches (and the acknowledgements waiting on them) go first between steps.
        if (!untilDone) await new Promise<void>((resolve) => setImmediate(resolve));
        if (!db?.open) return;
      }
      if (total.deletedByAge + total.deletedBySize > 0) {
        r.pruneLatest();
        r.pruneRollups();
      }
    } catch (err) {
      error = describeError(err);
    }
  }
  reply({ t: 'retention', id, ...total, ...(error ? { error } : {}) });
}

function close(id: number): void {
  let error: WriteError | undefined;
  // One last attempt, outage or not: what cannot be written now is lost with the process.
  if (pendingWrite || pendingReport || (writer?.backlog ?? 0) + heldBeforeOpen > 0) writeHeld();
  const lost = (writer?.backlog ?? 0) + heldBeforeOpen;
  try {
    db?.close();
  } catch (err) {
    error = describeError(err);
  }
  db = writer = retention = outbox = undefined;
  reply({ t: 'closed', id, lost, ...(error ? { error } : {}) });
  input?.close();
}

input.on('message', (first: WriterRequest) => {
  // Group commit: every request already queued is taken now, so batches that arrived while the last
  // transaction ran are written together in one.
  handle(first);
  for (;;) {
    const next = receiveMessageOnPort(input) as { message: WriterRequest } | undefined;
    if (!next) break;
    handle(next.message);
  }
  settleGroup();
});
