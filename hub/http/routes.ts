import { EdgehubError, parseDuration, type DeviceDirectory } from '../../kernel/index.js';
import type {
  AlertRecord,
  RuleStats,
  RulesStatus,
  TraceOutcome,
  TraceReader,
  TraceRecord,
} from '../../rules/index.js';
import type { ConnectorStatus } from '../connectors/index.js';
import type { ChannelStats, DeliveryReader } from '../notifiers/index.js';
import type { DeadLetter } from '../store/index.js';

/** What the API asks of the running connectors (`Connectors`). */
export interface ConnectorControl {
  list(): readonly ConnectorStatus[];
  status(id: string): ConnectorStatus | undefined;
  /** Stored events since `sinceMs` (epoch ms) into the connector's outbox again; how many. */
  replay(id: string, sinceMs: number): Promise<number>;
  /** Dead letters (all when `ids` is empty) back into the outbox; how many. */
  revive(id: string, ids: number[]): Promise<number>;
}

/** The connectors' part of the API. */
export interface ConnectorPorts {
  /** The running connectors; undefined when none is configured. */
  running(): ConnectorControl | undefined;
  /** A connector's dead letters, oldest first. */
  dead(connectorId: string, limit: number): readonly DeadLetter[];
  /** Epoch ms on the hub clock: what a `since` duration counts back from. */
  now(): number;
}

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
  /** `/api/connectors`; without it the hub reports no connectors. */
  connectors?: ConnectorPorts;
  /** `/api/alerts`: the alert records, and acknowledging one (which stops its reminders). */
  alerts?: {
    list(): readonly AlertRecord[];
    acknowledge(key: string): Promise<AlertRecord | null>;
  };
  /** `/api/notifications`: recent deliveries and each notifier's counters; absent without notifiers. */
  notifications?: DeliveryReader & { stats(): readonly ChannelStats[] };
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
const DEFAULT_DEAD_LIMIT = 100;
const MAX_DEAD_LIMIT = 1000;

interface Route {
  readonly method: 'GET' | 'POST';
  /** Segments after `/api/`; `:name` matches any one segment. */
  readonly path: readonly string[];
  handle(req: Request, params: Readonly<Record<string, string>>, ports: HttpApiPorts): Reply | Promise<Reply>;
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
  const limit = limitOf(req, 20, MAX_TRACE_LIMIT);
  if (typeof limit !== 'number') return limit;
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

/** `?limit=N`, or the 400 saying why it is not one. */
function limitOf(req: Request, fallback: number, max: number): number | Reply {
  const text = req.query.get('limit');
  const limit = text === null ? fallback : Number(text);
  if (!Number.isInteger(limit) || limit < 1 || limit > max)
    return bad(`limit must be a whole number from 1 to ${max}; got "${text ?? ''}"`);
  return limit;
}

function startOf(run: unknown): number {
  const at = (run as { startedAt?: unknown }).startedAt;
  return typeof at === 'number' ? at : 0;
}

function listConnectors(_r: Request, _p: Readonly<Record<string, string>>, ports: HttpApiPorts): Reply {
  return { status: 200, body: { connectors: ports.connectors?.running()?.list() ?? [] } };
}

/**
 * A route about one connector: 404 (`CONNECTOR_UNKNOWN`) for an id that is not configured, before
 * and while the handler runs.
 */
function forConnector(
  handle: (
    req: Request,
    id: string,
    ports: ConnectorPorts,
    control: ConnectorControl,
  ) => Reply | Promise<Reply>,
): Route['handle'] {
  return async (req, params, ports) => {
    const id = params.id ?? '';
    const unknown = problem(404, 'CONNECTOR_UNKNOWN', `no connector "${id}" is configured`);
    const connectors = ports.connectors;
    const control = connectors?.running();
    if (!connectors || !control?.status(id)) return unknown;
    try {
      return await handle(req, id, connectors, control);
    } catch (err) {
      if (err instanceof EdgehubError && err.code === 'CONNECTOR_UNKNOWN') return unknown;
      throw err;
    }
  };
}

/** `{ since: "1h" }` or `{ since_ms: <epoch ms> }`. */
async function replay(
  req: Request,
  id: string,
  ports: ConnectorPorts,
  control: ConnectorControl,
): Promise<Reply> {
  const body = req.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    return bad('the body must be a JSON object: { "since": "1h" } or { "since_ms": <epoch ms> }');
  const { since, since_ms: sinceMs } = body as Record<string, unknown>;
  if ((since === undefined) === (sinceMs === undefined))
    return bad('give exactly one of "since" (a duration such as 1h) and "since_ms" (epoch ms)');
  let from: number;
  if (since !== undefined) {
    if (typeof since !== 'string')
      return bad(`"since" must be a duration such as 1h; got ${JSON.stringify(since)}`);
    try {
      from = ports.now() - parseDuration(since);
    } catch (err) {
      if (err instanceof EdgehubError) return bad(`"since": ${err.message}`);
      throw err;
    }
  } else {
    if (typeof sinceMs !== 'number' || !Number.isInteger(sinceMs) || sinceMs < 0)
      return bad(
        `"since_ms" must be epoch milliseconds (a whole number ≥ 0); got ${JSON.stringify(sinceMs)}`,
      );
    from = sinceMs;
  }
  return { status: 200, body: { replayed: await control.replay(id, from) } };
}

/** Optional `{ ids: [..] }`: those dead letters, or all of them. */
async function retryDead(
  req: Request,
  id: string,
  _ports: ConnectorPorts,
  control: ConnectorControl,
): Promise<Reply> {
  let ids: number[] = [];
  if (req.body !== undefined && req.body !== null) {
    if (typeof req.body !== 'object' || Array.isArray(req.body))
      return bad('the body must be a JSON object: { "ids": [<dead letter id>, ...] }, or none for all');
    const given = (req.body as Record<string, unknown>).ids;
    if (given !== undefined) {
      if (!Array.isArray(given) || !given.every((n) => Number.isInteger(n) && (n as number) > 0))
        return bad(
          `"ids" must be a list of dead letter ids (whole numbers ≥ 1); got ${JSON.stringify(given)}`,
        );
      ids = given as number[];
    }
  }
  return { status: 200, body: { revived: await control.revive(id, ids) } };
}

/** `?notifier=&source=&limit=`: the newest deliveries first, with every notifier's counters. */
function listNotifications(req: Request, _p: Readonly<Record<string, string>>, ports: HttpApiPorts): Reply {
  const limit = limitOf(req, 50, MAX_TRACE_LIMIT);
  if (typeof limit !== 'number') return limit;
  const n = ports.notifications;
  if (!n) return { status: 200, body: { notifiers: [], deliveries: [] } };
  const notifier = req.query.get('notifier');
  const source = req.query.get('source');
  const deliveries = n.recent({
    limit,
    ...(notifier !== null && { notifier }),
    ...(source !== null && { source }),
  });
  return { status: 200, body: { notifiers: n.stats(), deliveries } };
}

/** The key is one path segment: `connectors%2Fcloud%2Fdown` for `connectors/cloud/down`. */
async function acknowledgeAlert(
  _req: Request,
  params: Readonly<Record<string, string>>,
  ports: HttpApiPorts,
): Promise<Reply> {
  const key = params.key ?? '';
  const alert = await ports.alerts?.acknowledge(key);
  if (!alert) return problem(404, 'HTTP_NOT_FOUND', `no alert "${key}"`);
  return { status: 200, body: alert };
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
  { method: 'GET', path: ['connectors'], handle: listConnectors },
  {
    method: 'GET',
    path: ['alerts'],
    handle: (_r, _p, ports) => ({ status: 200, body: { alerts: ports.alerts?.list() ?? [] } }),
  },
  { method: 'POST', path: ['alerts', ':key', 'acknowledge'], handle: acknowledgeAlert },
  { method: 'GET', path: ['notifications'], handle: listNotifications },
  {
    method: 'GET',
    path: ['connectors', ':id'],
    handle: forConnector((_r, id, _p, control) => ({ status: 200, body: control.status(id) })),
  },
  {
    method: 'GET',
    path: ['connectors', ':id', 'dead'],
    handle: forConnector((req, id, ports) => {
      const limit = limitOf(req, DEFAULT_DEAD_LIMIT, MAX_DEAD_LIMIT);
      if (typeof limit !== 'number') return limit;
      return { status: 200, body: { dead: ports.dead(id, limit) } };
    }),
  },
  { method: 'POST', path: ['connectors', ':id', 'replay'], handle: forConnector(replay) },
  { method: 'POST', path: ['connectors', ':id', 'dead', 'retry'], handle: forConnector(retryDead) },
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
export async function route(req: Request, ports: HttpApiPorts): Promise<Reply> {
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
    return await r.handle(req, params, ports);
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
