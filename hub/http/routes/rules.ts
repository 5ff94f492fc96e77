import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { TraceRecord } from '../../../rules/index.js';
import type { ApiEnv } from '../api-env.js';
import type { HttpApiPorts } from '../ports.js';
import { failures, HttpProblem, json } from '../problem.js';
import { limitParam } from '../query-params.js';

const MAX_TRACE_LIMIT = 500;

/** Alerts the loop breaker raises for a rule and key: `rule-suspended/<rule>/<key>`. */
const SUSPENDED_PREFIX = 'rule-suspended/';

const ruleSchema = z
  .object({
    id: z.string(),
    enabled: z.boolean(),
    triggered: z.number(),
    fired: z.number(),
    blocked: z.number(),
    errors: z.number(),
    dropped: z.record(z.string(), z.number()),
    lastRunAt: z.number().nullable(),
    suspended: z.boolean().openapi({ description: 'the loop breaker holds it for at least one key' }),
    lastFiredAt: z.number().nullable(),
  })
  .openapi('Rule');

const listRules = createRoute({
  method: 'get',
  path: '/api/rules',
  tags: ['rules'],
  summary: 'The rules in force with their counters, and the last load',
  responses: {
    200: json(
      z.object({
        rules: z.array(ruleSchema),
        status: z
          .object({
            ok: z.boolean(),
            rules: z.number(),
            errors: z.number(),
            warnings: z.number(),
            at: z.number().nullable(),
          })
          .nullable(),
      }),
      'the rules',
    ),
  },
});

const ruleErrors = createRoute({
  method: 'get',
  path: '/api/rules/errors',
  tags: ['rules'],
  summary: 'The last load or reload of the rules directory, with every error and possible loop',
  responses: {
    200: json(
      z.object({
        ok: z.boolean(),
        rules: z.number(),
        errors: z.array(z.unknown()),
        warnings: z.array(z.unknown()),
        at: z.number().nullable(),
      }),
      'the load status',
    ),
  },
});

const ruleTrace = createRoute({
  method: 'get',
  path: '/api/rules/{id}/trace',
  tags: ['rules'],
  summary: "A rule's last runs, newest first, near misses included",
  request: {
    params: z.object({ id: z.string() }),
    query: z.object({
      outcome: z
        .enum(['fired', 'blocked', 'error'], {
          error: (issue) => `outcome must be one of fired, blocked, error; got "${String(issue.input)}"`,
        })
        .optional(),
      limit: limitParam(20, MAX_TRACE_LIMIT),
    }),
  },
  responses: {
    200: json(z.object({ rule: z.string(), loaded: z.boolean(), runs: z.array(z.unknown()) }), 'the runs'),
    ...failures(400, 404),
  },
});

/** `/api/rules…`: what is loaded, why a reload failed, and what each rule did. */
export function rulesRoutes(app: OpenAPIHono<ApiEnv>, ports: HttpApiPorts): void {
  app.openapi(listRules, (c) => {
    const status = ports.rulesStatus();
    const active = ports.alerts?.list().filter((a) => a.active && a.key.startsWith(SUSPENDED_PREFIX)) ?? [];
    const rules = ports.rules().map((r) => ({
      ...r,
      dropped: { ...r.dropped },
      suspended: active.some((a) => a.key.startsWith(`${SUSPENDED_PREFIX}${r.id}/`)),
      lastFiredAt: lastFiredAt(ports, r.id),
    }));
    return c.json(
      {
        rules,
        status: status
          ? {
              ok: status.ok,
              rules: status.rules,
              errors: status.errors.length,
              warnings: status.warnings.length,
              at: status.at,
            }
          : null,
      },
      200,
    );
  });

  app.openapi(ruleErrors, (c) => {
    const status = ports.rulesStatus();
    if (!status) return c.json({ ok: true, rules: 0, errors: [], warnings: [], at: null }, 200);
    return c.json(
      { ...status, errors: [...status.errors] as unknown[], warnings: [...status.warnings] as unknown[] },
      200,
    );
  });

  app.openapi(ruleTrace, (c) => {
    const { id } = c.req.valid('param');
    const { outcome, limit } = c.req.valid('query');
    const loaded = ports.rules().some((r) => r.id === id);
    if (ports.traces) {
      const runs: TraceRecord[] = ports.traces.query({
        ruleId: id,
        limit,
        ...(outcome !== undefined && { outcome }),
      });
      if (!loaded && runs.length === 0)
        throw new HttpProblem(404, 'HTTP_NOT_FOUND', `no rule "${id}" is loaded or has traces`);
      return c.json({ rule: id, loaded, runs: runs }, 200);
    }
    const memory = ports.memoryTrace?.(id);
    if (!memory) throw new HttpProblem(404, 'HTTP_NOT_FOUND', `no rule "${id}" is loaded`);
    const lists =
      outcome === 'fired'
        ? [memory.fired]
        : outcome === 'blocked'
          ? [memory.blocked]
          : outcome === 'error'
            ? [memory.errors]
            : [memory.fired, memory.blocked, memory.errors];
    const runs = lists
      .flat()
      .sort((a, b) => startOf(b) - startOf(a))
      .slice(0, limit)
      .map((run) => ({ run }));
    return c.json({ rule: id, loaded, runs }, 200);
  });
}

function lastFiredAt(ports: HttpApiPorts, ruleId: string): number | null {
  if (ports.traces) {
    const [last] = ports.traces.query({ ruleId, outcome: 'fired', limit: 1 });
    return last ? last.startedAt : null;
  }
  const fired = ports.memoryTrace?.(ruleId)?.fired ?? [];
  return fired.reduce<number | null>((max, run) => Math.max(max ?? 0, startOf(run)), null);
}

function startOf(run: unknown): number {
  const at = (run as { startedAt?: unknown }).startedAt;
  return typeof at === 'number' ? at : 0;
}
