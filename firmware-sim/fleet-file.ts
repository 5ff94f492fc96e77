import { readFileSync } from 'node:fs';
import * as z from 'zod';
import { EdgehubError, EdgehubErrors, isDuration, parseDuration, YamlSource } from '../kernel/index.js';
import type { ProfileSpec } from './fleet.js';
import { SIM_PROFILES } from './profiles.js';

/** One connection per device, so a typo should not open a hundred thousand sockets. */
const MAX_DEVICES = 10_000;

const entrySchema = z
  .object({
    profile: z.enum(SIM_PROFILES),
    count: z.number().int().min(1).default(1),
    /** Devices are `<id_prefix>-1` … `<id_prefix>-<count>`; default the profile name. */
    id_prefix: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/, 'id prefixes use letters, digits, _ and - only (ids are topic levels)')
      .optional(),
    /** Time between readings, in simulated time. */
    interval: z
      .string()
      .refine(isDuration, { message: 'not a duration; write it like 500ms, 10s, 5m' })
      .default('5s'),
  })
  .strict();

/**
 * A fleet file: a YAML list of device groups.
 *
 * ```yaml
 * - { profile: temperature-humidity, count: 20, id_prefix: th, interval: 10s }
 * - { profile: smart-plug, count: 5, id_prefix: plug, interval: 5s }
 * ```
 */
export const fleetFileSchema = z
  .array(entrySchema)
  .min(1, 'a fleet file lists at least one group of devices')
  .superRefine((groups, ctx) => {
    const prefixes = groups.map((g) => g.id_prefix ?? g.profile);
    prefixes.forEach((p, i) => {
      if (prefixes.indexOf(p) !== i)
        ctx.addIssue({ code: 'custom', path: [i, 'id_prefix'], message: `id prefix ${p} is used twice` });
    });
    const total = groups.reduce((n, g) => n + g.count, 0);
    if (total > MAX_DEVICES)
      ctx.addIssue({ code: 'custom', path: [], message: `${total} devices; at most ${MAX_DEVICES}` });
  });

export type FleetGroup = z.output<typeof entrySchema>;

/** Reads and validates a fleet file; every problem is a FLEET_INVALID error at file:line:col. */
export function loadFleetFile(file: string): FleetGroup[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new EdgehubError('FLEET_INVALID', `cannot read fleet file ${file}: ${(err as Error).message}`);
  }
  return parseFleetFile(file, text);
}

export function parseFleetFile(file: string, text: string): FleetGroup[] {
  const source = YamlSource.parse(file, text, 'FLEET_INVALID');
  const result = source.validate(fleetFileSchema, 'FLEET_INVALID');
  if ('errors' in result) throw new EdgehubErrors('FLEET_INVALID', result.errors);
  return result.value;
}

/** The devices of the groups, `<prefix>-<n>`; per-device constants spread evenly (golden ratio). */
export function fleetSpecs(groups: readonly FleetGroup[]): ProfileSpec[] {
  return groups.flatMap((g) =>
    Array.from({ length: g.count }, (_, i) => ({
      kind: 'profile' as const,
      id: `${g.id_prefix ?? g.profile}-${i + 1}`,
      profile: g.profile,
      intervalMs: parseDuration(g.interval),
      variant: ((i + 1) * 0.618_033_988_75) % 1,
    })),
  );
}
