import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { ApiEnv } from '../api-env.js';
import type { HttpApiPorts } from '../ports.js';
import { failures, json } from '../problem.js';
import { limitParam } from '../query-params.js';

const health = createRoute({
  method: 'get',
  path: '/api/health',
  tags: ['hub'],
  summary: "The hub's figures: uptime, broker, store, rules, traces, connectors",
  responses: { 200: json(z.object({ ok: z.boolean() }).loose(), 'the figures') },
});

const notifications = createRoute({
  method: 'get',
  path: '/api/notifications',
  tags: ['hub'],
  summary: "Recent deliveries, newest first, with every notifier's counters",
  request: {
    query: z.object({
      notifier: z.string().optional(),
      source: z.string().optional(),
      limit: limitParam(50, 500),
    }),
  },
  responses: {
    200: json(
      z.object({ notifiers: z.array(z.unknown()), deliveries: z.array(z.unknown()) }),
      'the deliveries',
    ),
    ...failures(400),
  },
});

/** `/api/health` and `/api/notifications`. */
export function hubInfoRoutes(app: OpenAPIHono<ApiEnv>, ports: HttpApiPorts): void {
  app.openapi(health, (c) => c.json({ ok: true, ...ports.health() }, 200));

  app.openapi(notifications, (c) => {
    const { notifier, source, limit } = c.req.valid('query');
    const n = ports.notifications;
    if (!n) return c.json({ notifiers: [], deliveries: [] }, 200);
    const deliveries = n.recent({
      limit,
      ...(notifier !== undefined && { notifier }),
      ...(source !== undefined && { source }),
    });
    return c.json({ notifiers: [...n.stats()] as unknown[], deliveries: [...deliveries] as unknown[] }, 200);
  });
}
