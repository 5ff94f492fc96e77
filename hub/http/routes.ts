import type { DeviceDirectory } from '../../kernel/index.js';
import type { RuleStats, RulesStatus, TraceOutcome, TraceReader, TraceRecord } from '../../rules/index.js';

/** What the HTTP API reads and drives; the hub plugs its components in. */
export interface HttpApiPorts {
  /** Rule ids and counters of the set in force. */
  rules(): readonly RuleStats[];
  /** The last load or reload, with its errors and possible loops; undefined without a rules directory. */
  rulesStatus(): RulesStatus | undefined;
  /** Stored traces (`rules.db`); undefined when traces are not stored. */
  traces: TraceReader | undefined;
  /** In-memory runs when no trace store is there; undefined for a rule not loaded. */
  memoryTrace?(
    ruleId: string,
  ): { fired: readonly unknown[]; blocked: readonly unknown[]; errors: readonly unknown[] } | undefined;
  devices: DeviceDirectory;
  /** Hands a posted event to the rules (`event:` triggers). */
  postEvent(name: string, data: unknown): void;
  /** Figures for `/api/health`. */
  health(): Record<string, unknown>;
}

/** A reply: status and JSON body. */
export interface Reply {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface Request {
  readonly method: string;
  /** Path segments after `/api/`, decoded. */
  readonly segments: readonly string[];
  readonly query: URLSearchParams;
  /** Parsed JSON body, or undefined when the request had none. */
  readonly body: unknown;
}

/** `{ error: { code, message } }`: what every failed request gets back. */
export function problem(status: number, code: string, message: string): Reply {
  return { status, body: { error: { code, message } } };
}

const bad = (message: string) => problem(400, 'HTTP_BAD_REQUEST', message);

/** Event names as rules spell them; names the hub raises itself may not be posted. */
const EVENT_NAME = /^[A-Za-z0-9_.:-]{1,100}$/;
const RESERVED = /^(hub|rule|rules|alert)\./;

const OUTCOMES: readonly TraceOutcome[] = ['fired', 'blocked', 'error'];
const MAX_TRACE_LIMIT = 500;

interface Route {
  readonly method: 'GET' | 'POST';
  /** Segments after `/api/`; `:name` matches any one segment. */
  readonly path: readonly string[];
  handle(req: Request, params: Readonly<Record<string, string>>, ports: HttpApiPorts): Reply;
}

function postEvent(req: Request, params: Readonly<Record<string, string>>, ports: HttpApiPorts): Reply {
  const name = params.name ?? '';
  if (!EVENT_NAME.test(name)) {
    return bad(`event name "${name}" may use letters, digits and _ . : - only (at most 100 characters)`);
  }
  if (RESERVED.test(name))
    return bad(`event names starting with "${name.split('.')[0] ?? ''}." are raised by the hub itself`);
  ports.postEvent(name, req.body === undefined ? null : req.body);
  return { status: 202, body: { accepted: true, event: name } };
}

function listRules(_req: Request, _p: Readonly<Record<string, string>>, ports: HttpApiPorts): Reply {
  const status = ports.rulesStatus();
  return {
    status: 200,
    body: {
      rules: ports.rules(),
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
  };
}

function ruleErrors(_req: Request, _p: Readonly<Record<string, string>>, ports: HttpApiPorts): Reply {
  const status = ports.rulesStatus();
  return { status: 200, body: status ?? { ok: true, rules: 0, errors: [], warnings: [], at: null } };
}

function ruleTrace(req: Request, params: Readonly<Record<string, string>>, ports: HttpApiPorts): Reply {
  const id = params.id ?? '';
  const outcome = req.query.get('outcome');
  if (outcome !== null && !OUTCOMES.includes(outcome as TraceOutcome)) {
    return bad(`outcome must be one of ${OUTCOMES.join(', ')}; got "${outcome}"`);
  }
  const limitText = req.query.get('limit');
  const limit = limitText === null ? 20 : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_TRACE_LIMIT) {
    return bad(`limit must be a whole number from 1 to ${MAX_TRACE_LIMIT}; got "${limitText ?? ''}"`);
  }
  const loaded = ports.rules().some((r) => r.id === id);
  if (ports.traces) {
    const runs: TraceRecord[] = ports.traces.query({
      ruleId: id,
      limit,
      ...(outcome !== null && { outcome: outcome as TraceOutcome }),
    });
    if (!loaded && runs.length === 0)
      return problem(404, 'HTTP_NOT_FOUND', `no rule "${id}" is loaded or has traces`);
    return { status: 200, body: { rule: id, loaded, runs } };
  }
  const memory = ports.memoryTrace?.(id);
  if (!memory) return problem(404, 'HTTP_NOT_FOUND', `no rule "${id}" is loaded`);
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
  return { status: 200, body: { rule: id, loaded, runs } };
}

function startOf(run: unknown): number {
  const at = (run as { startedAt?: unknown }).startedAt;
  return typeof at === 'number' ? at : 0;
}

const ROUTES: readonly Route[] = [
  { method: 'POST', path: ['events', ':name'], handle: postEvent },
  { method: 'GET', path: ['rules'], handle: listRules },
  { method: 'GET', path: ['rules', 'errors'], handle: ruleErrors },
  { method: 'GET', path: ['rules', ':id', 'trace'], handle: ruleTrace },
  {
    method: 'GET',
    path: ['devices'],
    handle: (_r, _p, ports) => ({ status: 200, body: { devices: ports.devices.list() } }),
  },
  {
    method: 'GET',
    path: ['health'],
    handle: (_r, _p, ports) => ({ status: 200, body: { ok: true, ...ports.health() } }),
  },
];

function matchPath(pattern: readonly string[], segments: readonly string[]): Record<string, string> | null {
  if (pattern.length !== segments.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i] ?? '';
    const s = segments[i] ?? '';
    if (p.startsWith(':')) params[p.slice(1)] = s;
    else if (p !== s) return null;
  }
  return params;
}

/** Finds the route for a request; 404 for an unknown path, 405 (with Allow) for a known path and another method. */
export function route(req: Request, ports: HttpApiPorts): Reply {
  const allowed: string[] = [];
  // Literal routes first, so `/api/rules/errors` is not taken for a rule called "errors".
  const ordered = [...ROUTES].sort((a, b) => wildcards(a) - wildcards(b));
  for (const r of ordered) {
    const params = matchPath(r.path, req.segments);
    if (!params) continue;
    if (r.method !== req.method) {
      allowed.push(r.method);
      continue;
    }
    return r.handle(req, params, ports);
  }
  if (allowed.length > 0) {
    return {
      ...problem(405, 'HTTP_BAD_REQUEST', `${req.method} is not allowed here; use ${allowed.join(' or ')}`),
      headers: { allow: allowed.join(', ') },
    };
  }
  return problem(404, 'HTTP_NOT_FOUND', `no such endpoint: /api/${req.segments.join('/')}`);
}

function wildcards(r: Route): number {
  return r.path.filter((p) => p.startsWith(':')).length;
}
