import { EdgehubError, isDuration, parseDuration } from '../../kernel/index.js';

/** A preview's default window: the last day, ms. */
export const DEFAULT_PREVIEW_MS = 24 * 3_600_000;

/**
 * A `since`/`until` as the API takes it: epoch ms (a number, or digits), an ISO 8601 time, or a
 * duration back from `nowMs` (`24h`, `30m`); `fallback` when absent. Epoch ms out.
 */
export function parseTime(
  value: number | string | undefined,
  nowMs: number,
  fallback: number,
  what: string,
): number {
  if (value === undefined || value === '') return fallback;
  if (typeof value === 'number') {
    if (Number.isFinite(value)) return value;
  } else if (/^\d+$/.test(value)) {
    return Number(value);
  } else if (isDuration(value)) {
    return nowMs - parseDuration(value);
  } else {
    const at = Date.parse(value);
    if (!Number.isNaN(at)) return at;
  }
  throw new EdgehubError(
    'HTTP_BAD_REQUEST',
    `${what} takes epoch ms, an ISO 8601 time or a duration such as 24h; got ${JSON.stringify(value)}`,
  );
}
