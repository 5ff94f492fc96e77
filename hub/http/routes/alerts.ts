import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { AlertRecord } from '../../../rules/index.js';
import { requireRole, type ApiEnv } from '../api-env.js';
import type { HttpApiPorts } from '../ports.js';
import { failures, HttpProblem, json } from '../problem.js';
import {
  cursorParam,
  decodeCursor,
  DEFAULT_PAGE,
  encodeCursor,
  limitParam,
  MAX_PAGE,
  nextSchema,
} from '../query-params.js';

export const alertSchema = z
  .object({
    key: z.string(),
    severity: z.string(),
    message: z.string(),
    active: z.boolean(),
    count: z.number(),
    source: z.string(),
    raisedAt: z.number(),
    lastRaisedAt: z.number(),
    clearedAt: z.number().nullable(),
    acknowledgedAt: z.number().nullable(),
  })
  .openapi('Alert');

const listAlerts = createRoute({
  method: 'get',
  path: '/api/alerts',
  tags: ['alerts'],
  summary: 'Alerts, active first, then the newest',
  request: {
    query: z.object({
      active: z.enum(['true', 'false']).optional(),
      limit: limitParam(DEFAULT_PAGE, MAX_PAGE),
      cursor: cursorParam,
    }),
  },
  responses: {
    200: json(z.object({ alerts: z.array(alertSchema), next: nextSchema }), 'one page of alerts'),
    ...failures(400),
  },
});

/** Alert keys contain `/`: the client sends the key as one encoded path segment. */
const keyParam = z.object({ key: z.string().min(1).openapi({ description: 'encodeURIComponent(key)' }) });

const alertAction = (action: 'acknowledge' | 'clear', summary: string) =>
  createRoute({
    method: 'post',
    path: `/api/alerts/{key}/${action}`,
    tags: ['alerts'],
    summary,
    middleware: [requireRole('operator')] as const,
    request: { params: keyParam },
    responses: { 200: json(z.object({ alert: alertSchema }), 'the alert now'), ...failures(404) },
  });

/** Active first, then by when they were raised, newest first; the key breaks ties. */
function ordered(alerts: readonly AlertRecord[]): AlertRecord[] {
  return [...alerts].sort(
    (a, b) =>
      Number(b.active) - Number(a.active) || b.lastRaisedAt - a.lastRaisedAt || a.key.localeCompare(b.key),
  );
}

const isOffset = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;

/** `/api/alerts…`: the alert book, and a person acknowledging or clearing an alert. */
export function alertsRoutes(app: OpenAPIHono<ApiEnv>, ports: HttpApiPorts): void {
  app.openapi(listAlerts, (c) => {
    const { active, limit, cursor } = c.req.valid('query');
    const from = cursor === undefined ? 0 : decodeCursor(cursor, isOffset);
    const all = ordered(ports.alerts?.list() ?? []).filter(
      (a) => active === undefined || a.active === (active === 'true'),
    );
    const page = all.slice(from, from + limit);
    const next = from + limit < all.length ? encodeCursor(from + limit) : null;
    return c.json({ alerts: page, next }, 200);
  });

  app.openapi(alertAction('acknowledge', 'Marks an alert as seen, which stops its reminders'), async (c) => {
    const { key } = c.req.valid('param');
    const alert = await ports.alerts?.acknowledge(key);
    if (!alert) throw new HttpProblem(404, 'ALERT_UNKNOWN', `no alert "${key}"`);
    return c.json({ alert }, 200);
  });

  app.openapi(alertAction('clear', 'Clears an active alert'), async (c) => {
    const { key } = c.req.valid('param');
    const alert = await ports.alerts?.clear?.(key);
    if (!alert) throw new HttpProblem(404, 'ALERT_UNKNOWN', `no active alert "${key}"`);
    return c.json({ alert }, 200);
  });
}
