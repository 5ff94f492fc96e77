import { errorMessage } from '../../kernel/index.js';

/** Where `edgehub start` serves its HTTP API unless `http.host`/`http.port` say otherwise. */
export const DEFAULT_API_URL = 'http://127.0.0.1:8080';

/** What a request to a running hub came back with: its JSON, or one line saying what went wrong. */
export type ApiResult<T> = { ok: true; body: T } | { ok: false; message: string };

export interface HubApiDeps {
  /** The API's base URL, e.g. `http://127.0.0.1:8080` (the `/api/...` path is appended). */
  url: string;
  /** Node's fetch unless a test gives another. */
  fetch?: typeof fetch;
  /** ms to wait for an answer before giving up. */
  timeoutMs?: number;
  /** An API token (`edgehub token create`), for a hub with logins; sent as `Authorization: Bearer`. */
  token?: string | undefined;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/** The CLI's side of the hub's HTTP API (hub/http), for commands that ask the running hub. */
export class HubApi {
  constructor(private readonly deps: HubApiDeps) {}

  get<T>(path: string): Promise<ApiResult<T>> {
    return this.request<T>('GET', path);
  }

  post<T>(path: string, body: unknown): Promise<ApiResult<T>> {
    return this.request<T>('POST', path, body);
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<ApiResult<T>> {
    const base = this.deps.url.replace(/\/+$/, '');
    const doFetch = this.deps.fetch ?? fetch;
    let response: Response;
    try {
      response = await doFetch(`${base}${path}`, {
        method,
        headers: {
          ...(body !== undefined && { 'content-type': 'application/json' }),
          ...(this.deps.token && { authorization: `Bearer ${this.deps.token}` }),
        },
        ...(body !== undefined && { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.deps.timeoutMs ?? DEFAULT_TIMEOUT_MS),
      });
    } catch (err) {
      return {
        ok: false,
        message: `cannot reach the hub's HTTP API at ${base} (${why(err)}); is the hub running with http.port set? Use --api URL for another address`,
      };
    }
    const text = await response.text();
    let json: unknown;
    try {
      json = JSON.parse(text) as unknown;
    } catch {
      return {
        ok: false,
        message: `${base}${path} answered ${response.status} with something other than edgehub's JSON; is --api the hub's HTTP API?`,
      };
    }
    if (response.ok) return { ok: true, body: json as T };
    const error = (json as { error?: { code?: unknown; message?: unknown } } | null)?.error;
    const said =
      typeof error?.code === 'string' && typeof error.message === 'string'
        ? `${error.code}: ${error.message}`
        : `${base}${path} answered ${response.status}`;
    // A hub with logins: the CLI authenticates with a token from the environment.
    const hint =
      response.status === 401 && !this.deps.token
        ? ` (set EDGEHUB_TOKEN to a token from \`edgehub token create NAME --role operator\`)`
        : '';
    return { ok: false, message: said + hint };
  }
}

/** fetch's own message is "fetch failed"; the socket's code (ECONNREFUSED, ...) is in its cause. */
function why(err: unknown): string {
  if (err instanceof Error && err.name === 'TimeoutError') return 'no answer in time';
  const cause =
    err instanceof Error ? (err.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.message === 'string') return cause.message;
  return errorMessage(err);
}
