import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { EdgehubError, parseDuration } from '../../../kernel/index.js';
import { requireRole, type ApiEnv } from '../api-env.js';
import type { ConnectorControl, ConnectorPorts, HttpApiPorts } from '../ports.js';
import { badRequest, failures, HttpProblem, json } from '../problem.js';
import { limitParam } from '../query-params.js';

const DEFAULT_DEAD_LIMIT = 100;
const MAX_DEAD_LIMIT = 1000;

const connectorId = z.object({ id: z.string() });
const status = z
  .object({ id: z.string(), type: z.string(), state: z.string() })
  .loose()
  .openapi('ConnectorStatus');

const list = createRoute({
  method: 'get',
  path: '/api/connectors',
  tags: ['connectors'],
  summary: 'Every configured connector and its state',
  responses: { 200: json(z.object({ connectors: z.array(status) }), 'the connectors') },
});

const one = createRoute({
  method: 'get',
  path: '/api/connectors/{id}',
  tags: ['connectors'],
  summary: "One connector's state and counters",
  request: { params: connectorId },
  responses: { 200: json(status, 'the connector'), ...failures(404) },
});

const dead = createRoute({
  method: 'get',
  path: '/api/connectors/{id}/dead',
  tags: ['connectors'],
  summary: "A connector's dead letters, oldest first",
  request: {
    params: connectorId,
    query: z.object({ limit: limitParam(DEFAULT_DEAD_LIMIT, MAX_DEAD_LIMIT) }),
  },
  responses: {
    200: json(z.object({ dead: z.array(z.unknown()) }), 'the dead letters'),
    ...failures(400, 404),
  },
});

const replay = createRoute({
  method: 'post',
  path: '/api/connectors/{id}/replay',
  tags: ['connectors'],
  summary: 'Queues stored events since a time into the connector again',
  middleware: [requireRole('operator')] as const,
  request: {
    params: connectorId,
    body: {
      content: {
        'application/json': {
          schema: z
            .object({ since: z.unknown().optional(), since_ms: z.unknown().optional() })
            .openapi({ description: '{ "since": "1h" } or { "since_ms": <epoch ms> }' }),
        },
      },
    },
  },
  responses: { 200: json(z.object({ replayed: z.number() }), 'how many'), ...failures(400, 404) },
});

const retry = createRoute({
  method: 'post',
  path: '/api/connectors/{id}/dead/retry',
  tags: ['connectors'],
  summary: 'Puts dead letters (those ids, or all without a body) back into the outbox',
  middleware: [requireRole('operator')] as const,
  request: {
    params: connectorId,
    body: {
      required: false,
      content: { 'application/json': { schema: z.object({ ids: z.unknown().optional() }) } },
    },
  },
  responses: { 200: json(z.object({ revived: z.number() }), 'how many'), ...failures(400, 404) },
});

/** `/api/connectors…`: status, dead letters, replay and retry of the configured connectors. */
export function connectorsRoutes(app: OpenAPIHono<ApiEnv>, ports: HttpApiPorts): void {
  app.openapi(list, (c) => c.json({ connectors: [...(ports.connectors?.running()?.list() ?? [])] }, 200));

  app.openapi(one, async (c) =>
    c.json(
      await forConnector(
        ports,
        c.req.valid('param').id,
        (id, _p, control) => control.status(id) ?? unknown(id),
      ),
      200,
    ),
  );

  app.openapi(dead, async (c) => {
    const { limit } = c.req.valid('query');
    const letters = await forConnector(ports, c.req.valid('param').id, (id, p) => p.dead(id, limit));
    return c.json({ dead: [...letters] as unknown[] }, 200);
  });

  app.openapi(replay, async (c) => {
    const from = replaySince(c);
    const replayed = await forConnector(ports, c.req.valid('param').id, (id, _p, control) =>
      control.replay(id, from(_p)),
    );
    return c.json({ replayed }, 200);
  });

  app.openapi(retry, async (c) => {
    const ids = retryIds(c.get('body'));
    const revived = await forConnector(ports, c.req.valid('param').id, (id, _p, control) =>
      control.revive(id, ids),
    );
    return c.json({ revived }, 200);
  });
}

function unknown(id: string): HttpProblem {
  return new HttpProblem(404, 'CONNECTOR_UNKNOWN', `no connector "${id}" is configured`);
}

/** Runs `handle` for a configured connector; 404 `CONNECTOR_UNKNOWN` before and while it runs. */
async function forConnector<T>(
  ports: HttpApiPorts,
  id: string,
  handle: (id: string, ports: ConnectorPorts, control: ConnectorControl) => T | Promise<T>,
): Promise<Exclude<T, HttpProblem>> {
  const connectors = ports.connectors;
  const control = connectors?.running();
  if (!connectors || !control?.status(id)) throw unknown(id);
  let result: T;
  try {
    result = await handle(id, connectors, control);
  } catch (err) {
    if (err instanceof EdgehubError && err.code === 'CONNECTOR_UNKNOWN') throw unknown(id);
    throw err;
  }
  if (result instanceof HttpProblem) throw result;
  return result as Exclude<T, HttpProblem>;
}

/** `{ since: "1h" }` or `{ since_ms: <epoch ms> }`, checked before the connector is looked up. */
function replaySince(c: Context<ApiEnv>): (ports: ConnectorPorts) => number {
  const body = c.get('body');
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw badRequest('the body must be a JSON object: { "since": "1h" } or { "since_ms": <epoch ms> }');
  const { since, since_ms: sinceMs } = body as Record<string, unknown>;
  if ((since === undefined) === (sinceMs === undefined))
    throw badRequest('give exactly one of "since" (a duration such as 1h) and "since_ms" (epoch ms)');
  if (since !== undefined) {
    if (typeof since !== 'string')
      throw badRequest(`"since" must be a duration such as 1h; got ${JSON.stringify(since)}`);
    let ms: number;
    try {
      ms = parseDuration(since);
    } catch (err) {
      if (err instanceof EdgehubError) throw badRequest(`"since": ${err.message}`);
      throw err;
    }
    return (ports) => ports.now() - ms;
  }
  if (typeof sinceMs !== 'number' || !Number.isInteger(sinceMs) || sinceMs < 0)
    throw badRequest(
      `"since_ms" must be epoch milliseconds (a whole number ≥ 0); got ${JSON.stringify(sinceMs)}`,
    );
  return () => sinceMs;
}

/** Optional `{ ids: [..] }`: those dead letters, or all of them. */
function retryIds(body: unknown): number[] {
  if (body === undefined || body === null) return [];
  if (typeof body !== 'object' || Array.isArray(body))
    throw badRequest('the body must be a JSON object: { "ids": [<dead letter id>, ...] }, or none for all');
  const given = (body as Record<string, unknown>).ids;
  if (given === undefined) return [];
  if (!Array.isArray(given) || !given.every((n) => Number.isInteger(n) && (n as number) > 0))
    throw badRequest(
      `"ids" must be a list of dead letter ids (whole numbers ≥ 1); got ${JSON.stringify(given)}`,
    );
  return given as number[];
}
