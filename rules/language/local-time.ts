/**
 * Wall-clock time in the hub's time zone, for `time` conditions. Intl does the zone arithmetic, so
 * daylight saving changes need no table of our own.
 */

export interface LocalTime {
  /** 0 = Sunday … 6 = Saturday. */
  readonly weekday: number;
  /** Seconds since local midnight. */
  readonly secondOfDay: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

const WEEKDAY: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };

/** The weekday and time of day of `epochMs` in `timeZone` (an IANA name such as Europe/Berlin). */
export function localTime(epochMs: number, timeZone: string): LocalTime {
  let weekday = 0;
  let hour = 0;
  let minute = 0;
  let second = 0;
  for (const part of formatter(timeZone).formatToParts(epochMs)) {
    if (part.type === 'weekday') weekday = WEEKDAY[part.value] ?? 0;
    else if (part.type === 'hour') hour = Number(part.value);
    else if (part.type === 'minute') minute = Number(part.value);
    else if (part.type === 'second') second = Number(part.value);
  }
  return { weekday, secondOfDay: hour * 3600 + minute * 60 + second };
}

/** True when `timeZone` is an IANA zone this Node.js knows. */
export function isTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}

/** The zone of the machine, the default when the config names none. */
export function systemTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/** `"07:30"` / `"07:30:15"` → seconds after midnight. */
export function parseTimeOfDay(text: string): number {
  const [h = '0', m = '0', s = '0'] = text.split(':');
  return Number(h) * 3600 + Number(m) * 60 + Number(s);
}
