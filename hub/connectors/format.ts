import { readingValue } from '../../kernel/index.js';
import type { OutboxEvent, OutboxRow } from '../store/index.js';
import type { OutRouteConfig } from './config-schema.js';
import type { OutMessage, TemplateFields } from './transport.js';

/** Topics whose envelope fields are kept; beyond it the cache starts again. */
const TOPIC_CACHE = 10_000;

/** The stored event as a connector sends it in the `event` format. */
export interface EventEnvelope {
  /** `<hub.name>:<event id>`, the same however often the event is sent. */
  id: string;
  hub: string;
  /** The event's sequence number in its hub's store. */
  seq: number;
  topic: string;
  device: string | null;
  metric: string | null;
  /** The reading's value (`{"value": x}`, a bare number, `{"on": b}`), else the whole payload. */
  value: unknown;
  unit: string | null;
  /** ISO 8601, when the hub's broker accepted it. */
  time: string;
  /** The payload as JSON, or as text when it is not JSON. */
  payload: unknown;
  /** The payload in base64 when it is neither JSON nor UTF-8 text. */
  payload_base64?: string;
  qos: number;
  retain: boolean;
}

export interface FormatterDeps {
  hub: string;
  /** The unit of a device's metric, from its definition; null when it has none. */
  unitOf(device: string, metric: string): string | null;
  /** Where a message of `route` goes (see destinations.ts). */
  destination(route: OutRouteConfig, fields: TemplateFields): string;
}

/** Builds each outbox row into the message its connector sends. */
export class OutFormatter {
  private readonly hubJson: string;
  private readonly byTopic = new Map<
    string,
    { device: string | null; metric: string | null; text: string }
  >();
  private lastTime = NaN;
  private lastIso = '';

  constructor(
    private readonly deps: FormatterDeps,
    private readonly routes: readonly OutRouteConfig[],
  ) {
    this.hubJson = JSON.stringify(deps.hub);
  }

  /** The id a consumer deduplicates by: the event's, or the row's own for a `forward`. */
  eventId(row: OutboxRow): string {
    return row.event ? `${this.deps.hub}:${row.event.id}` : `${this.deps.hub}:f${row.id}`;
  }

  /** The message of one row; undefined when the event it pointed at is gone (retention). */
  message(row: OutboxRow): OutMessage | undefined {
    const eventId = this.eventId(row);
    if (!row.event) {
      if (row.message === null || row.destination === null) return undefined;
      return {
        rowId: row.id,
        eventId,
        key: row.key,
        destination: row.destination,
        route: null,
        payload: row.message,
        contentType: 'application/json',
      };
    }
    const route = this.routes[row.route];
    if (!route) return undefined;
    const event = row.event;
    const fields: TemplateFields = {
      device: event.deviceId,
      metric: event.metric,
      topic: event.topic,
      key: row.key,
      hub: this.deps.hub,
    };
    const raw = route.format === 'raw';
    return {
      rowId: row.id,
      eventId,
      key: row.key,
      destination: row.destination ?? this.deps.destination(route, fields),
      route,
      payload: raw ? payloadBytes(event.payload) : Buffer.from(this.envelopeJson(eventId, event)),
      contentType: raw ? undefined : 'application/json',
    };
  }

  /**
   * The envelope as JSON text, written field by field: a JSON payload goes in as the text the store
   * kept, not parsed and written again, which is most of the work of a connector's drain.
   */
  envelopeJson(id: string, event: OutboxEvent): string {
    const parsed = parsePayload(event.payload);
    const json = 'json' in parsed;
    const value = json ? (readingValue(parsed.json) ?? parsed.json) : (parsed.text ?? null);
    const payload = json ? (event.payload as string) : JSON.stringify(parsed.text ?? null);
    const unit =
      event.deviceId !== null && event.metric !== null
        ? this.deps.unitOf(event.deviceId, event.metric)
        : null;
    const base64 = 'base64' in parsed ? `,"payload_base64":"${parsed.base64}"` : '';
    return (
      `{"id":${JSON.stringify(id)},"hub":${this.hubJson},"seq":${event.id},${this.topicFields(event)}` +
      `"value":${JSON.stringify(value) ?? 'null'},` +
      `"unit":${JSON.stringify(unit)},"time":"${this.iso(event.time)}",` +
      `"payload":${payload},"qos":${event.qos},"retain":${event.retain}${base64}}`
    );
  }
  /** ISO 8601 of epoch ms; events of one batch often share their millisecond. */
  private iso(time: number): string {
    if (time !== this.lastTime) {
      this.lastTime = time;
      this.lastIso = new Date(time).toISOString();
    }
    return this.lastIso;
  }

  /** `"topic":…,"device":…,"metric":…,` of an event, kept per topic: a site has few and repeats them. */
  private topicFields(event: OutboxEvent): string {
    const kept = this.byTopic.get(event.topic);
    if (kept?.device === event.deviceId && kept.metric === event.metric) return kept.text;
    const text =
      `"topic":${JSON.stringify(event.topic)},"device":${JSON.stringify(event.deviceId)},` +
      `"metric":${JSON.stringify(event.metric)},`;
    if (this.byTopic.size >= TOPIC_CACHE) this.byTopic.clear();
    this.byTopic.set(event.topic, { device: event.deviceId, metric: event.metric, text });
    return text;
  }
}

function payloadBytes(payload: string | Buffer): Buffer {
  return typeof payload === 'string' ? Buffer.from(payload) : payload;
}

/** The store keeps JSON payloads as text and everything else as bytes. */
function parsePayload(payload: string | Buffer): { json: unknown } | { text?: string; base64?: string } {
  if (typeof payload === 'string') {
    try {
      return { json: JSON.parse(payload) as unknown };
    } catch {
      return { text: payload };
    }
  }
  const text = payload.toString('utf8');
  return Buffer.from(text, 'utf8').equals(payload) ? { text } : { base64: payload.toString('base64') };
}
