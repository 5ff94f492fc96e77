import { Backoff, type Clock } from '../../kernel/index.js';

/** The part of `fetch` the http action uses; tests inject their own. */
export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string; signal: AbortSignal },
) => Promise<{ status: number; text(): Promise<string> }>;

export interface HttpSettings {
  readonly fetch: FetchLike;
  /** Per attempt, ms. */
  readonly timeoutMs: number;
  /** Attempts after the first one fails. */
  readonly retries: number;
  /** Wait before the first retry, ms; doubled for each further one. */
  readonly backoffMs: number;
}

export const DEFAULT_HTTP: Omit<HttpSettings, 'fetch'> = { timeoutMs: 10_000, retries: 2, backoffMs: 1000 };

export interface HttpRequest {
  readonly url: string;
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body: string | undefined;
  readonly timeoutMs: number;
  readonly retries: number;
}

export interface HttpOutcome {
  readonly ok: boolean;
  readonly status: number | null;
  readonly attempts: number;
  /** The last failure, for traces. */
  readonly error: string | null;
}

/** Resolves after `ms` on the clock (a named timer, so a virtual clock drives it). */
export function sleep(clock: Clock, name: string, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimer(name, ms, resolve));
}

/** Worth trying again: the network, a timeout, the server (5xx) or rate limiting (429). */
function retryable(status: number | null): boolean {
  return status === null || status >= 500 || status === 429;
}

/**
 * Sends a request with a timeout per attempt and retries with exponential backoff, all on the hub
 * clock. Never throws: the outcome says what happened, and the rule's trace shows it.
 */
export async function sendHttp(
  request: HttpRequest,
  settings: HttpSettings,
  clock: Clock,
  timerName: string,
): Promise<HttpOutcome> {
  let error: string | null = null;
  let status: number | null = null;
  // Retries are few (a rule's `retries`), so the doubling needs no cap and no jitter.
  const backoff = new Backoff({ initialMs: settings.backoffMs, maxMs: Infinity, factor: 2, jitter: 0 });
  for (let attempt = 1; attempt <= request.retries + 1; attempt++) {
    if (attempt > 1) await sleep(clock, `${timerName}:backoff`, backoff.next());
    const controller = new AbortController();
    let timer: ReturnType<Clock['setTimer']> | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = clock.setTimer(`${timerName}:timeout`, request.timeoutMs, () => {
        controller.abort();
        resolve('timeout');
      });
    });
    try {
      const init: Parameters<FetchLike>[1] = {
        method: request.method,
        headers: request.headers,
        signal: controller.signal,
      };
      if (request.body !== undefined) init.body = request.body;
      const response = await Promise.race([settings.fetch(request.url, init), timeout]);
      if (response === 'timeout') {
        status = null;
        error = `no answer within ${request.timeoutMs} ms`;
      } else {
        status = response.status;
        if (status >= 200 && status < 300) return { ok: true, status, attempts: attempt, error: null };
        error = `HTTP ${status}`;
      }
    } catch (err) {
      status = null;
      error = err instanceof Error ? err.message : String(err);
    } finally {
      clock.clearTimer(timer);
    }
    if (!retryable(status)) return { ok: false, status, attempts: attempt, error };
  }
  return { ok: false, status, attempts: request.retries + 1, error };
}
