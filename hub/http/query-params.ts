import { z } from '@hono/zod-openapi';
import { isDuration, parseDuration } from '../../kernel/index.js';
import { badRequest } from './problem.js';

/** Paging as every listing takes it: `limit` (default 100, at most 500) and an opaque `cursor`. */
export const DEFAULT_PAGE = 100;
export const MAX_PAGE = 500;

/** `?limit=N` as a whole number from 1 to `max`, `fallback` when absent. */
export function limitParam(fallback: number, max: number) {
  return z
    .string()
    .optional()
    .transform((text, ctx) => {
      const limit = text === undefined ? fallback : Number(text);
      if (!Number.isInteger(limit) || limit < 1 || limit > max) {
        ctx.addIssue({
          code: 'custom',
          message: `limit must be a whole number from 1 to ${max}; got "${text ?? ''}"`,
        });
        return z.NEVER;
      }
      return limit;
    })
    .openapi({ type: 'integer', minimum: 1, maximum: max, default: fallback });
}

export const cursorParam = z
  .string()
  .max(400)
  .optional()
  .openapi({ description: 'the `next` of the previous page' });

/** `{…, next}`: the cursor of the next page, null on the last one. */
export const nextSchema = z.string().nullable();

export const timeParam = z
  .string()
  .max(64)
  .optional()
  .openapi({ description: 'epoch ms, an ISO 8601 time, or a duration back from now (24h, 7d, 30m)' });

/** `since`/`until`: epoch ms, an ISO 8601 time, or a duration back from `now`; 400 naming `what` otherwise. */
export function parseTime(text: string, now: number, what: string): number {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  if (isDuration(trimmed)) return now - parseDuration(trimmed);
  const parsed = Date.parse(trimmed);
  if (Number.isNaN(parsed))
    throw badRequest(`${what} must be epoch ms, an ISO 8601 time or a duration such as 24h; got "${text}"`);
  return parsed;
}

/** An opaque cursor: the JSON of where the last page ended, base64url. */
export function encodeCursor(position: unknown): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

/** The position a cursor holds, checked by `valid`; 400 `HTTP_BAD_REQUEST` for anything else. */
export function decodeCursor<T>(cursor: string, valid: (v: unknown) => v is T): T {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
  } catch {
    value = undefined;
  }
  if (!valid(value)) throw badRequest('cursor is not one this API gave out; start again without it');
  return value;
}
