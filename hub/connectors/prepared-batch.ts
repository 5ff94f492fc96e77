import type { Outbox } from '../store/index.js';
import type { OutFormatter } from './format.js';
import type { OutMessage } from './transport.js';

/** A batch read from the outbox and formatted, ready to send. */
export interface PreparedBatch {
  /** Every row read, in order: the messages' rows and the `gone` ones. */
  rowIds: number[];
  messages: OutMessage[];
  /** Rows whose event retention deleted before it left: settled with the batch, counted dropped. */
  gone: number[];
  /** The last row's id; the afterId of the next read. */
  last: number;
}

/** Reads and formats a connector's next batch. */
export interface BatchPreparer {
  /** The rows after `afterId`; `waiting` is how many the connector counts as waiting. */
  prepare(afterId: number, waiting: number): Promise<PreparedBatch>;
}

/** Reads and formats a batch on the calling thread. */
export function prepareBatch(
  outbox: Pick<Outbox, 'read'>,
  formatter: OutFormatter,
  connector: string,
  afterId: number,
  limit: number,
): PreparedBatch {
  const rows = outbox.read(connector, afterId, limit);
  const rowIds: number[] = [];
  const messages: OutMessage[] = [];
  const gone: number[] = [];
  for (const row of rows) {
    rowIds.push(row.id);
    const message = formatter.message(row);
    if (message) messages.push(message);
    else gone.push(row.id);
  }
  return { rowIds, messages, gone, last: rows[rows.length - 1]?.id ?? afterId };
}
