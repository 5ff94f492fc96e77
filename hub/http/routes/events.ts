import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { assertTopicFilter, EdgehubError } from '../../../kernel/index.js';
import type { StoredEvent } from '../../store/index.js';
import { requireRole, type ApiEnv } from '../api-env.js';
import type { HttpApiPorts } from '../ports.js';
import { badRequest, failures, HttpProblem, json } from '../problem.js';
import {
  cursorParam,
  decodeCursor,
  DEFAULT_PAGE,
  encodeCursor,
  limitParam,
  MAX_PAGE,
  nextSchema,
  parseTime,
  timeParam,
} from '../query-params.js';

/** Event names as rules spell them; names the hub raises itself may not be posted. */
const EVENT_NAME = /^[A-Za-z0-9_.:-]{1,100}$/;
const RESERVED = /^(hub|rule|rules|alert)\./;
const DAY_MS = 86_400_000;

export const eventSchema = z
  .object({
    id: z.number().optional().openapi({ description: 'absent on a live event not stored yet' }),
    time: z.number(),
    topic: z.string(),
    device: z.string().nullable(),
    metric: z.string().nullable(),
    payload: z.unknown().openapi({ description: 'JSON, text, or {base64} when not UTF-8' }),
    qos: z.number(),
    retain: z.boolean(),
    clientId: z.string().nullable(),
  })
  .openapi('Event');

export type ApiEvent = z.infer<typeof eventSchema>;

const postEvent = createRoute({
  method: 'post',
  path: '/api/events/{name}',
  tags: ['events'],
  summary: 'Hands a named event to the rules (`when: { event: name }`); the body, any JSON, is its payload',
  middleware: [requireRole('operator')] as const,
  request: { params: z.object({ name: z.string() }) },
  responses: {
    202: json(z.object({ accepted: z.literal(true), event: z.string() }), 'handed to the rules'),
    ...failures(400, 413, 415),
  },
});

const listEvents = createRoute({
  method: 'get',
  path: '/api/events',
  tags: ['events'],
  summary: 'Stored events, newest first',
  request: {
    query: z.object({
      device: z.string().optional(),
      metric: z.string().optional(),
      topic: z.string().optional().openapi({ description: 'an MQTT topic filter (+ and # allowed)' }),
      since: timeParam,
      until: timeParam,
      limit: limitParam(DEFAULT_PAGE, MAX_PAGE),
      cursor: cursorParam,
    }),
  },
  responses: {
    200: json(z.object({ events: z.array(eventSchema), next: nextSchema }), 'one page of events'),
    ...failures(400, 503),
  },
});

const historySchema = z
  .object({
    device: z.string(),
    metric: z.string(),
    since: z.number(),
    until: z.number(),
    bucketMs: z.number(),
    points: z.array(
      z.object({ t: z.number(), min: z.number(), max: z.number(), avg: z.number(), n: z.number() }),
    ),
  })
  .openapi('History');

const history = createRoute({
  method: 'get',
  path: '/api/history',
  tags: ['events'],
  summary: "One metric's numeric readings downsampled per time bucket (min, max, avg, count)",
  request: {
    query: z.object({
      device: z.string().min(1),
      metric: z.string().min(1),
      since: timeParam,
      until: timeParam,
      points: z
        .string()
        .optional()
        .transform((text, ctx) => {
          const n = text === undefined ? 1000 : Number(text);
          if (!Number.isInteger(n) || n < 10 || n > 5000) {
            ctx.addIssue({
              code: 'custom',
              message: `points must be a whole number from 10 to 5000; got "${text}"`,
            });
            return z.NEVER;
          }
          return n;
        })
        .openapi({ type: 'integer', minimum: 10, maximum: 5000, default: 1000 }),
    }),
  },
  responses: { 200: json(historySchema, 'the buckets, empty ones left out'), ...failures(400, 503) },
});

/** Where a page of events ended: the last event's time and id. */
function isPosition(v: unknown): v is [number, number] {
  return Array.isArray(v) && v.length === 2 && v.every((n) => Number.isInteger(n));
}

/** `/api/events…` and `/api/history`: posting events to the rules, and reading the event store. */
export function eventsRoutes(app: OpenAPIHono<ApiEnv>, ports: HttpApiPorts): void {
  const now = (): number => ports.now?.() ?? Date.now();

  app.openapi(postEvent, (c) => {
    const { name } = c.req.valid('param');
    if (!EVENT_NAME.test(name))
      throw badRequest(
        `event name "${name}" may use letters, digits and _ . : - only (at most 100 characters)`,
      );
    if (RESERVED.test(name))
      throw badRequest(
        `event names starting with "${name.split('.')[0] ?? ''}." are raised by the hub itself`,
      );
    const body = c.get('body');
    ports.postEvent(name, body === undefined ? null : body);
    return c.json({ accepted: true as const, event: name }, 202);
  });

  app.openapi(listEvents, (c) => {
    const store = storeOf(ports);
    const q = c.req.valid('query');
    if (q.topic !== undefined) {
      try {
        assertTopicFilter(q.topic);
      } catch (err) {
        throw badRequest(`topic: ${err instanceof EdgehubError ? err.message : String(err)}`);
      }
    }
    const at = now();
    const before = q.cursor === undefined ? undefined : decodeCursor(q.cursor, isPosition);
    const rows = store.query({
      ...(q.device !== undefined && { device: q.device }),
      ...(q.metric !== undefined && { metric: q.metric }),
      ...(q.topic !== undefined && { topicFilter: q.topic }),
      ...(q.since !== undefined && { since: parseTime(q.since, at, 'since') }),
      ...(q.until !== undefined && { until: parseTime(q.until, at, 'until') }),
      ...(before && { before: { time: before[0], id: before[1] } }),
      limit: q.limit + 1,
    });
    const page = rows.slice(0, q.limit);
    const last = page.at(-1);
    const next = rows.length > q.limit && last ? encodeCursor([last.time, last.id]) : null;
    return c.json({ events: page.map(apiEvent), next }, 200);
  });

  app.openapi(history, (c) => {
    const store = storeOf(ports);
    const q = c.req.valid('query');
    const at = now();
    const until = q.until === undefined ? at : parseTime(q.until, at, 'until');
    const since = q.since === undefined ? until - DAY_MS : parseTime(q.since, at, 'since');
    if (since > until) throw badRequest(`since (${since}) is after until (${until})`);
    // Whole ms per bucket, so `points` buckets cover [since, until].
    const bucketMs = Math.max(1, Math.ceil((until - since + 1) / q.points));
    const points = store.downsample({ device: q.device, metric: q.metric, since, until, bucketMs });
    return c.json({ device: q.device, metric: q.metric, since, until, bucketMs, points }, 200);
  });
}

function storeOf(ports: HttpApiPorts): NonNullable<HttpApiPorts['events']> {
  if (!ports.events)
    throw new HttpProblem(503, 'STORE_DISABLED', 'the event store is off in this hub (store.enabled: false)');
  return ports.events;
}

/** A stored event as the API shows it: a payload that is not UTF-8 as `{base64}`. */
export function apiEvent(e: StoredEvent): ApiEvent {
  return {
    id: e.id,
    time: e.time,
    topic: e.topic,
    device: e.deviceId,
    metric: e.metric,
    payload: Buffer.isBuffer(e.payload) ? { base64: e.payload.toString('base64') } : e.payload,
    qos: e.qos,
    retain: e.retain,
    clientId: e.clientId,
  };
}
