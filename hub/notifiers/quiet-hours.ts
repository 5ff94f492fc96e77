import { localTime } from '../../rules/index.js';

const DAY_S = 86_400;

function secondsOf(hhmm: string): number {
  const [h = '0', m = '0'] = hhmm.split(':');
  return Number(h) * 3600 + Number(m) * 60;
}

/**
 * When the quiet hours `from`–`to` (local "HH:MM" in `timeZone`; `from` after `to` spans midnight)
 * that `now` falls in end, epoch ms; null when `now` is outside them (or `from` equals `to`).
 * Near a daylight-saving change the end may be off by the shift; the caller checks again then.
 */
export function quietHoursEnd(
  now: number,
  quiet: { from: string; to: string },
  timeZone: string,
): number | null {
  const from = secondsOf(quiet.from);
  const to = secondsOf(quiet.to);
  if (from === to) return null;
  const second = localTime(now, timeZone).secondOfDay;
  const inside = from < to ? second >= from && second < to : second >= from || second < to;
  if (!inside) return null;
  const left = (to - second + DAY_S) % DAY_S;
  // Whole seconds from the local time, less the milliseconds already gone in this one.
  return now + left * 1000 - (now % 1000);
}
