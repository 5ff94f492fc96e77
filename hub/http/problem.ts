import { z } from '@hono/zod-openapi';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/**
 * A request the API refuses: thrown by a handler or middleware and answered by the app's error
 * handler as `{ error: { code, message, ...extra } }` with `status`.
 */
export class HttpProblem extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly extra: Readonly<Record<string, unknown>> = {},
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'HttpProblem';
  }
}

/** 400 `HTTP_BAD_REQUEST`: the input is not what the route takes. */
export function badRequest(message: string): HttpProblem {
  return new HttpProblem(400, 'HTTP_BAD_REQUEST', message);
}

/** What every failed request gets back. */
export const errorSchema = z
  .object({ error: z.object({ code: z.string(), message: z.string() }).loose() })
  .openapi('Error');

/** A documented JSON answer of a route. */
export const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});

/** Documented failure answers of a route, by status. */
export function failures(...statuses: readonly number[]) {
  const out: Record<
    number,
    { description: string; content: { 'application/json': { schema: typeof errorSchema } } }
  > = {};
  for (const status of statuses)
    out[status] = {
      description: FAILURE_TEXT[status] ?? 'failed',
      content: { 'application/json': { schema: errorSchema } },
    };
  return out;
}

const FAILURE_TEXT: Record<number, string> = {
  400: 'bad input (HTTP_BAD_REQUEST)',
  401: 'no valid session or token (AUTH_REQUIRED)',
  403: 'role too low (AUTH_FORBIDDEN) or no matching Origin (CSRF_ORIGIN)',
  404: 'not found',
  409: 'refused',
  413: 'body too large',
  415: 'the body is not application/json',
  429: 'too many failed logins (AUTH_THROTTLED)',
  503: 'not available in this hub',
};
