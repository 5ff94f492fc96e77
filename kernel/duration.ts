import { EdgehubError } from './errors.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;
const WHOLE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;

/** Parses `500ms`, `10s`, `5m`, `2h`, `1d` and combinations such as `1h30m` into milliseconds. */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  if (!WHOLE.test(trimmed)) {
    throw new EdgehubError(
      'DURATION_INVALID',
      `"${text}" is not a duration; write it like 500ms, 10s, 5m, 2h, 1d or 1h30m`,
    );
  }
  let total = 0;
  for (const m of trimmed.matchAll(PART)) total += Number(m[1]) * (UNIT_MS[m[2] ?? 'ms'] ?? 1);
  return total;
}

/** True when `text` parses as a duration. */
export function isDuration(text: string): boolean {
  return WHOLE.test(text.trim());
}

/** The shortest readable form of a duration in ms, e.g. 5400000 → "1h30m". */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
    ['ms', 1],
  ] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}
