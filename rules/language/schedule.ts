import { Cron } from 'croner';
import { getTimes, type SunTimeName } from 'suncalc';
import { parseDuration } from '../../kernel/index.js';
import type { ScheduleDefinition, SunEvent } from './schema/triggers.js';

/** Where and in which zone the hub runs; schedules and time windows read it. */
export interface HubPlace {
  /** IANA time zone, e.g. Europe/Berlin. */
  readonly timezone: string;
  /** Degrees; null when the config gives none (sun schedules cannot run then). */
  readonly location: { readonly latitude: number; readonly longitude: number } | null;
}

/**
 * When a schedule trigger fires next. The engine owns the timers (on its clock) and asks for the
 * next time after each firing, so croner and suncalc only do arithmetic.
 */
export interface Schedule {
  /** How traces and logs show it, e.g. `cron 0 7 * * 1-5`. */
  readonly label: string;
  /** True for sun schedules, which need the hub's latitude and longitude. */
  readonly needsLocation: boolean;
  /** Epoch ms of the first firing strictly after `fromMs`; null when there is none to come. */
  next(fromMs: number, place: HubPlace): number | null;
}

const SUNCALC_NAME: Record<SunEvent, SunTimeName | 'solarNoon' | 'nadir'> = {
  sunrise: 'sunrise',
  sunset: 'sunset',
  sunrise_end: 'sunriseEnd',
  sunset_start: 'sunsetStart',
  dawn: 'dawn',
  dusk: 'dusk',
  nautical_dawn: 'nauticalDawn',
  nautical_dusk: 'nauticalDusk',
  night: 'night',
  night_end: 'nightEnd',
  golden_hour: 'goldenHour',
  golden_hour_end: 'goldenHourEnd',
  solar_noon: 'solarNoon',
  nadir: 'nadir',
};

const DAY_MS = 86_400_000;

/** A cron pattern; croner validates it here, so a bad pattern is a load error. Throws with croner's reason. */
function cronSchedule(pattern: string, label: string): Schedule {
  // Validation only: a paused job without a callback never starts a timer of its own.
  new Cron(pattern, { paused: true });
  const byZone = new Map<string, Cron>();
  return {
    label,
    needsLocation: false,
    next(fromMs, place) {
      let job = byZone.get(place.timezone);
      if (!job) {
        job = new Cron(pattern, { paused: true, timezone: place.timezone });
        byZone.set(place.timezone, job);
      }
      return job.nextRun(new Date(fromMs))?.getTime() ?? null;
    },
  };
}

function everySchedule(periodMs: number, label: string): Schedule {
  return {
    label,
    needsLocation: false,
    // Aligned to multiples of the period since the epoch, so restarts and back-tests agree on the times.
    next: (fromMs) => (Math.floor(fromMs / periodMs) + 1) * periodMs,
  };
}

function sunSchedule(event: SunEvent, offsetMs: number, label: string): Schedule {
  const name = SUNCALC_NAME[event];
  return {
    label,
    needsLocation: true,
    next(fromMs, place) {
      if (!place.location) return null;
      const { latitude, longitude } = place.location;
      let best: number | null = null;
      // suncalc answers for the solar day around a date; looking a day either side finds the next one.
      for (let day = -1; day <= 2; day++) {
        const at = getTimes(new Date(fromMs + day * DAY_MS), latitude, longitude)[name];
        const t = at instanceof Date ? at.getTime() + offsetMs : NaN;
        if (Number.isFinite(t) && t > fromMs && (best === null || t < best)) best = t;
      }
      // Polar day or night: no such event soon; the engine looks again later.
      return best;
    },
  };
}

/** Compiles a validated `schedule:` map; throws an Error whose message says what is wrong. */
export function compileSchedule(def: ScheduleDefinition): Schedule {
  if (def.cron !== undefined) return cronSchedule(def.cron, `cron ${def.cron}`);
  if (def.at !== undefined) {
    const [h = '0', m = '0', s = '0'] = def.at.split(':');
    return cronSchedule(`${Number(s)} ${Number(m)} ${Number(h)} * * *`, `at ${def.at}`);
  }
  if (def.every !== undefined) {
    const ms = parseDuration(def.every);
    if (ms < 1000) throw new Error(`every: ${def.every} is too short; the shortest period is 1s`);
    return everySchedule(ms, `every ${def.every}`);
  }
  if (def.sun !== undefined) {
    const offset = def.offset?.trim() ?? '0s';
    const sign = offset.startsWith('-') ? -1 : 1;
    const ms = sign * parseDuration(offset.replace(/^[-+]/, ''));
    return sunSchedule(def.sun, ms, `sun ${def.sun}${def.offset ? ` ${def.offset}` : ''}`);
  }
  throw new Error('a schedule needs cron:, every:, at: or sun:');
}
