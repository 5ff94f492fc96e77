import type { Database, Statement } from 'better-sqlite3';
import type { QoS } from '../../kernel/index.js';
import { EdgehubError, readSchemaVersion } from '../../kernel/index.js';
import { decodeStored } from './payload.js';
import { DEVICE_METRIC_INDEX, ROLLUP_MS } from './schema.js';
import { assertTopicFilter } from '../../kernel/index.js';

/** One stored MQTT message. */
export interface StoredEvent {
  id: number;
  /** Epoch ms on the hub clock when the broker accepted the message. */
  time: number;
  /** Null when the hub itself published (a rule, a bridge). */
  clientId: string | null;
  topic: string;
  /** From edgehub's topic convention (`sensors/<device>/<metric>` …); null for other topics. */
  deviceId: string | null;
  metric: string | null;
  /** Parsed JSON, the text when it is not JSON, or a Buffer when it is not UTF-8. */
  payload: unknown;
  qos: QoS;
  retain: boolean;
}

export interface EventQuery {
  device?: string;
  metric?: string;
  /** An MQTT topic filter, `+` and `#` included. */
  topicFilter?: string;
  /** Epoch ms, inclusive. */
  since?: number;
  /** Epoch ms, inclusive. */
  until?: number;
  /** Most events returned; all when unset. */
  limit?: number;
  /** `desc` (newest first) by default. */
  order?: 'asc' | 'desc';
  /** Only events before this one in newest-first order (older, or as old with a lower id): paging. */
  before?: { time: number; id: number };
}

/** One metric's numeric readings of one device in [since, until] (epoch ms), in buckets of `bucketMs`. */
export interface DownsampleQuery {
  device: string;
  metric: string;
  since: number;
  until: number;
  bucketMs: number;
}

/** One bucket: `t` its start (epoch ms), `n` the readings in it; empty buckets are not returned. */
export interface Bucket {
  t: number;
  min: number;
  max: number;
  avg: number;
  n: number;
}

/** The last value a device reported for one metric (a sensor reading or an actuator's state). */
export interface LatestValue {
  deviceId: string;
  metric: string;
  /** `{"value": 21.5}` → 21.5; the whole payload when it carries no `value` / `on`. */
  value: unknown;
  /** Epoch ms. */
  time: number;
  eventId: number;
}

/** Reading stored events: what a rules engine, an API or the CLI asks for. */
export interface EventHistory {
  query(query?: EventQuery): StoredEvent[];
  /** A device's events in [since, until] (epoch ms), oldest first. */
  history(device: string, since: number, until: number): StoredEvent[];
  history(device: string, metric: string | undefined, since: number, until: number): StoredEvent[];
  /** The last value per (device, metric), ordered by device then metric. */
  latest(device?: string): LatestValue[];
  /** Min, max, mean and count per bucket, computed in SQL; only numbers (`{"value": n}` or a bare `n`). */
  downsample(query: DownsampleQuery): Bucket[];
}

interface EventRow {
  id: number;
  time: number;
  client_id: string | null;
  topic: string;
  device_id: string | null;
  metric: string | null;
  payload: unknown;
  qos: number;
  retain: number;
}

interface LatestRow {
  device_id: string;
  metric: string;
  value: unknown;
  time: number;
  event_id: number;
}

/**
 * Min/max/mean/count of `value` per bucket, from the (device_id, metric, time, value) index alone:
 * named, since without statistics (no ANALYZE on a hub) SQLite may choose events_device_time and look
 * every row of the device up. Rows without a number (value NULL) are left out.
 */
const DOWNSAMPLE_SQL = `
SELECT (time - CAST(@since AS INTEGER)) / CAST(@bucket AS INTEGER) AS b,
  min(value) AS min, max(value) AS max, avg(value) AS avg, count(value) AS n
FROM events INDEXED BY ${DEVICE_METRIC_INDEX}
WHERE device_id = @device AND metric = @metric AND time >= @since AND time <= @until AND value IS NOT NULL
GROUP BY b ORDER BY b`;

/**
 * The same from the per-minute `rollups`, for buckets of {@link ROLLUP_BUCKETS_FROM} minutes or more:
 * a minute goes whole to the bucket its start falls in, so a bucket's edges are exact to the minute.
 */
const DOWNSAMPLE_ROLLUPS_SQL = `
SELECT max(0, (minute * ${ROLLUP_MS} - CAST(@since AS INTEGER)) / CAST(@bucket AS INTEGER)) AS b,
  min(min) AS min, max(max) AS max, sum(sum) / sum(n) AS avg, sum(n) AS n
FROM rollups
WHERE device_id = @device AND metric = @metric
  AND minute >= CAST(@since AS INTEGER) / ${ROLLUP_MS} AND minute <= CAST(@until AS INTEGER) / ${ROLLUP_MS}
GROUP BY b ORDER BY b`;

/** Buckets this many rollup minutes wide or wider are read from `rollups`. */
const ROLLUP_BUCKETS_FROM = 10;

/**
 * The same from the payloads, for a reader of a data folder the hub has not brought to schema
 * version 4 yet: a bare JSON number or an object's numeric `value`. `->` gives the value as JSON text,
 * so a number is text starting with a digit or a minus, and only objects are parsed at all.
 * `LIMIT -1` keeps SQLite from flattening the inner query, which would parse each payload once per
 * aggregate.
 */
const DOWNSAMPLE_FROM_PAYLOAD_SQL = `
SELECT b, min(v + 0) AS min, max(v + 0) AS max, avg(v + 0) AS avg, count(*) AS n FROM (
  SELECT (time - CAST(@since AS INTEGER)) / CAST(@bucket AS INTEGER) AS b,
    CASE WHEN typeof(payload) <> 'text' THEN NULL
      WHEN substr(payload, 1, 1) = '{' THEN CASE WHEN json_valid(payload) THEN payload -> '$.value' END
      ELSE payload END AS v
  FROM events
  WHERE device_id = @device AND metric = @metric AND time >= @since AND time <= @until
  LIMIT -1
) WHERE v GLOB '[0-9-]*' GROUP BY b ORDER BY b`;

const COLUMNS = 'id, time, client_id, topic, device_id, metric, payload, qos, retain';

/** The SQL behind {@link EventHistory}, shared by the writing store and read-only readers. */
export class EventQueries implements EventHistory {
  /** Prepared statements by SQL text; a query shape is prepared once per connection. */
  private readonly statements = new Map<string, Statement>();

  /**
   * The file's schema version: a reader may open an older data folder that the hub has not upgraded
   * yet. Version 3 brought the (device, metric, time) index; version 4 its `value`, and `rollups`.
   */
  private readonly version: number;

  constructor(private readonly db: Database) {
    this.version = readSchemaVersion(db);
  }

  query(query: EventQuery = {}): StoredEvent[] {
    const where: string[] = [];
    const params: unknown[] = [];
    if (query.device !== undefined) {
      where.push('device_id = ?');
      params.push(query.device);
    }
    if (query.metric !== undefined) {
      where.push('metric = ?');
      params.push(query.metric);
    }
    if (query.since !== undefined) {
      where.push('time >= ?');
      params.push(query.since);
    }
    if (query.until !== undefined) {
      where.push('time <= ?');
      params.push(query.until);
    }
    if (query.before !== undefined) {
      where.push('(time < ? OR (time = ? AND id < ?))');
      params.push(query.before.time, query.before.time, query.before.id);
    }
    if (query.topicFilter !== undefined) {
      assertTopicFilter(query.topicFilter);
      where.push('topic_matches(?, topic)');
      params.push(query.topicFilter);
    }
    const limit = query.limit ?? -1;
    if (query.limit !== undefined && (!Number.isInteger(limit) || limit < 0)) {
      throw new EdgehubError('USAGE', `limit must be a whole number ≥ 0, got ${query.limit}`);
    }
    const dir = (query.order ?? 'desc') === 'asc' ? 'ASC' : 'DESC';
    // Without statistics (no ANALYZE on a hub) SQLite prefers events_device_time for an ordered range
    // and then reads every metric of the device; named, the index reads only this metric's rows.
    const indexed =
      this.version >= 3 && query.device !== undefined && query.metric !== undefined
        ? ` INDEXED BY ${DEVICE_METRIC_INDEX}`
        : '';
    const sql =
      `SELECT ${COLUMNS} FROM events${indexed}` +
      (where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '') +
      ` ORDER BY time ${dir}, id ${dir} LIMIT ?`;
    params.push(limit);
    return (this.statement(sql).all(...params) as EventRow[]).map(toEvent);
  }

  history(device: string, since: number, until: number): StoredEvent[];
  history(device: string, metric: string | undefined, since: number, until: number): StoredEvent[];
  history(device: string, a: string | number | undefined, b: number, c?: number): StoredEvent[] {
    const query: EventQuery = { device, order: 'asc' };
    if (typeof a === 'number') {
      query.since = a;
      query.until = b;
    } else {
      if (a !== undefined) query.metric = a;
      query.since = b;
      if (c !== undefined) query.until = c;
    }
    return this.query(query);
  }

  latest(device?: string): LatestValue[] {
    const rows =
      device === undefined
        ? (this.statement(
            'SELECT device_id, metric, value, time, event_id FROM latest ORDER BY device_id, metric',
          ).all() as LatestRow[])
        : (this.statement(
            'SELECT device_id, metric, value, time, event_id FROM latest WHERE device_id = ? ORDER BY metric',
          ).all(device) as LatestRow[]);
    return rows.map((r) => ({
      deviceId: r.device_id,
      metric: r.metric,
      value: decodeStored(r.value),
      time: r.time,
      eventId: r.event_id,
    }));
  }

  downsample(q: DownsampleQuery): Bucket[] {
    const bucket = Math.max(1, Math.trunc(q.bucketMs));
    const sql =
      this.version < 4
        ? DOWNSAMPLE_FROM_PAYLOAD_SQL
        : bucket >= ROLLUP_BUCKETS_FROM * ROLLUP_MS
          ? DOWNSAMPLE_ROLLUPS_SQL
          : DOWNSAMPLE_SQL;
    const rows = this.statement(sql).all({
      device: q.device,
      metric: q.metric,
      since: q.since,
      until: q.until,
      bucket,
    }) as { b: number; min: number; max: number; avg: number; n: number }[];
    return rows.map((r) => ({ t: q.since + r.b * q.bucketMs, min: r.min, max: r.max, avg: r.avg, n: r.n }));
  }

  private statement(sql: string): Statement {
    let stmt = this.statements.get(sql);
    if (!stmt) {
      stmt = this.db.prepare(sql);
      this.statements.set(sql, stmt);
    }
    return stmt;
  }
}

function toEvent(r: EventRow): StoredEvent {
  return {
    id: r.id,
    time: r.time,
    clientId: r.client_id,
    topic: r.topic,
    deviceId: r.device_id,
    metric: r.metric,
    payload: decodeStored(r.payload),
    qos: (r.qos === 1 || r.qos === 2 ? r.qos : 0) satisfies QoS,
    retain: r.retain === 1,
  };
}
