import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { Database as SqliteDatabase, Statement } from 'better-sqlite3';
import { EdgehubError, errorMessage, type MqttMessage, type QoS } from '../../../kernel/index.js';

/**
 * A recorded message with its payload as the bytes that were published; also the message handed to
 * the engine (one object per event, since a replay goes through millions of them).
 */
export interface RecordedEvent extends MqttMessage {
  readonly id: number;
  /** Epoch ms at which the broker accepted it (also `receivedAt`). */
  readonly time: number;
}

/** Where a back-test reads recorded events from, oldest first, one page at a time. */
export interface EventPages {
  /** Up to `limit` events after `after` (by time, then id) and at or before `until` (epoch ms). */
  next(after: { time: number; id: number }, until: number, limit: number): RecordedEvent[];
}

/** A stored event decoded as the event store's reader returns it (`openEventReader`). */
export interface HistoryEvent {
  readonly id: number;
  readonly time: number;
  readonly clientId: string | null;
  readonly topic: string;
  /** Parsed JSON, the text, or a Buffer for binary payloads. */
  readonly payload: unknown;
  readonly qos: QoS;
  readonly retain: boolean;
}

/** The event store's reader, or anything that answers its time-range query. */
export interface HistorySource {
  query(query: { since: number; until: number; order: 'asc'; limit: number }): readonly HistoryEvent[];
}

/** The bytes a decoded payload was published as, so the engine decodes it as it did live. */
export function payloadBytes(payload: unknown): Buffer {
  if (Buffer.isBuffer(payload)) return payload;
  if (typeof payload === 'string') {
    // Text that parses as JSON was published as a JSON string ("42" as "\"42\""); keep it text.
    const c = payload.charCodeAt(0);
    const jsonLike =
      c === 0x7b ||
      c === 0x5b ||
      c === 0x22 ||
      c === 0x2d ||
      (c >= 0x30 && c <= 0x39) ||
      payload === 'true' ||
      payload === 'false' ||
      payload === 'null';
    if (jsonLike) {
      try {
        JSON.parse(payload);
        return Buffer.from(JSON.stringify(payload));
      } catch {
        // Not JSON: it was published as this text.
      }
    }
    return Buffer.from(payload);
  }
  return Buffer.from(JSON.stringify(payload) ?? '');
}

/** Pages over the event store's reader (`openEventReader`), re-encoding each decoded payload. */
export function readerPages(reader: HistorySource): EventPages {
  return {
    next(after, until, limit) {
      // The reader's query starts at a time, so events of the boundary millisecond that were
      // already replayed come back again; ask for more until a full page of new ones is in hand.
      for (let want = limit; ; want *= 2) {
        const page = reader.query({ since: after.time, until, order: 'asc', limit: want });
        const out: RecordedEvent[] = [];
        for (const e of page) {
          if (e.time === after.time && e.id <= after.id) continue;
          out.push({
            id: e.id,
            time: e.time,
            clientId: e.clientId,
            topic: e.topic,
            payload: payloadBytes(e.payload),
            qos: e.qos,
            retain: e.retain,
            receivedAt: e.time,
          });
          if (out.length === limit) return out;
        }
        if (page.length < want) return out;
      }
    },
  };
}

/**
 * Pages straight from an event database, read-only, with the payload column as stored: JSON text is
 * the exact text that was published and anything else the raw bytes, so nothing is parsed and
 * re-encoded on the way to the engine (the reason back-tests reach their speed target). Reads only
 * the `events` columns the event store documents; `test/rules-backtest.test.ts` checks that it sees
 * what `openEventReader` sees. Safe while the hub writes (WAL).
 */
export function openEventPages(file: string): EventPages & { close(): void } {
  if (!existsSync(file)) {
    throw new EdgehubError(
      'USAGE',
      `no event database at ${file}; the hub creates it on first start (hub.data_dir), or pass the data directory it uses`,
    );
  }
  let db: SqliteDatabase;
  let statement: Statement;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw new EdgehubError('USAGE', `cannot read the event database ${file}: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  try {
    db.pragma('busy_timeout = 5000');
    // KiB when negative: 16 MiB of page cache.
    db.pragma('cache_size = -16384');
    // `time >= ?` walks the time index; the id test skips what the previous page already gave.
    statement = db
      .prepare(
        `SELECT id, time, client_id, topic, payload, qos, retain FROM events
         WHERE time >= @time AND (time > @time OR id > @id) AND time <= @until
         ORDER BY time, id LIMIT @limit`,
      )
      .raw(true);
  } catch (err) {
    db.close();
    throw new EdgehubError('USAGE', `${file} is not an edgehub event database: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  return {
    next(after, until, limit) {
      const rows = statement.all({ time: after.time, id: after.id, until, limit }) as unknown[][];
      const out: RecordedEvent[] = new Array<RecordedEvent>(rows.length);
      for (let i = 0; i < rows.length; i++) {
        const r = rows[i] as [number, number, string | null, string, unknown, number, number];
        const stored = r[4];
        out[i] = {
          id: r[0],
          time: r[1],
          clientId: r[2],
          topic: r[3],
          payload: Buffer.isBuffer(stored)
            ? stored
            : typeof stored === 'string'
              ? Buffer.from(stored)
              : stored === null || stored === undefined
                ? Buffer.alloc(0)
                : Buffer.from(String(stored as number)),
          qos: r[5] === 1 || r[5] === 2 ? r[5] : 0,
          retain: r[6] === 1,
          receivedAt: r[1],
        };
      }
      return out;
    },
    close() {
      if (db.open) db.close();
    },
  };
}
