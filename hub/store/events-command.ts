import type { Clock } from '../../kernel/index.js';
import { EdgehubError, SystemClock, errorMessage, parseDuration } from '../../kernel/index.js';
import type { EventQuery, StoredEvent } from './event-queries.js';
import { openEventReader } from './event-reader.js';
import { eventsDbPath } from './schema.js';
import { assertTopicFilter } from '../../kernel/index.js';

export interface EventsCommandOptions {
  dataDir: string;
  device?: string;
  /** MQTT topic filter. */
  topic?: string;
  /** A duration such as `1h`: only events newer than now minus that. */
  since?: string;
  /** Default 100. */
  limit?: number;
  /** One JSON object per line instead of a table. */
  json?: boolean;
}

export interface EventsCommandIo {
  /** Where error messages go; `out` when unset. */
  err?: (line: string) => void;
  clock?: Clock;
}

const DEFAULT_LIMIT = 100;
/** Characters of payload shown in the table; --json has the whole payload. */
const PAYLOAD_WIDTH = 80;

/**
 * `edgehub events`: stored events, newest first, as a table or JSON lines. Reads the database
 * read-only, so it works while the hub runs. Returns the exit code: 0, 1 when the database cannot be
 * read, 2 for bad options.
 */
export function runEventsCommand(
  opts: EventsCommandOptions,
  out: (line: string) => void,
  io: EventsCommandIo = {},
): number {
  const err = io.err ?? out;
  const clock = io.clock ?? new SystemClock();
  const limit = opts.limit ?? DEFAULT_LIMIT;
  // One more than asked, to tell the reader whether there is more.
  const query: EventQuery = { limit: limit + 1 };
  try {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new EdgehubError('USAGE', `--limit must be a whole number ≥ 1, got ${limit}`);
    }
    if (opts.device !== undefined) query.device = opts.device;
    if (opts.topic !== undefined) {
      assertTopicFilter(opts.topic);
      query.topicFilter = opts.topic;
    }
    if (opts.since !== undefined) query.since = clock.now() - parseDuration(opts.since);
  } catch (e) {
    err(`edgehub events: ${errorMessage(e)}`);
    return 2;
  }
  let events: StoredEvent[];
  try {
    const reader = openEventReader(eventsDbPath(opts.dataDir));
    try {
      events = reader.query(query);
    } finally {
      reader.close();
    }
  } catch (e) {
    err(`edgehub events: ${errorMessage(e)}`);
    return 1;
  }
  const more = events.length > limit;
  if (more) events = events.slice(0, limit);
  if (opts.json) {
    for (const e of events) out(JSON.stringify(toJson(e)));
    return 0;
  }
  if (events.length === 0) {
    out('no events match');
    return 0;
  }
  for (const line of table(events)) out(line);
  if (more) out(`(the newest ${limit} shown; use --limit or --since for more)`);
  return 0;
}

/** A JSON line: binary payloads as base64, because JSON cannot carry raw bytes. */
function toJson(e: StoredEvent): Record<string, unknown> {
  const binary = Buffer.isBuffer(e.payload);
  return {
    id: e.id,
    time: e.time,
    isoTime: new Date(e.time).toISOString(),
    clientId: e.clientId,
    topic: e.topic,
    deviceId: e.deviceId,
    metric: e.metric,
    qos: e.qos,
    retain: e.retain,
    payload: binary ? null : e.payload,
    ...(binary && { payloadBase64: (e.payload as Buffer).toString('base64') }),
  };
}

function table(events: StoredEvent[]): string[] {
  const rows = events.map((e) => [
    new Date(e.time).toISOString(),
    e.clientId ?? '(hub)',
    e.topic + (e.retain ? ' (retained)' : ''),
    showPayload(e.payload),
  ]);
  const header = ['TIME', 'CLIENT', 'TOPIC', 'PAYLOAD'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

function showPayload(payload: unknown): string {
  let text: string;
  if (Buffer.isBuffer(payload)) {
    const hex = payload.subarray(0, 16).toString('hex');
    text = `<${payload.length} bytes binary: ${hex}${payload.length > 16 ? '…' : ''}>`;
  } else if (typeof payload === 'string') {
    // Keep one event per line: control characters are shown escaped.
    // eslint-disable-next-line no-control-regex
    text = /[\u0000-\u001f]/.test(payload) ? JSON.stringify(payload).slice(1, -1) : payload;
  } else {
    text = JSON.stringify(payload);
  }
  return text.length > PAYLOAD_WIDTH ? text.slice(0, PAYLOAD_WIDTH - 1) + '…' : text;
}
