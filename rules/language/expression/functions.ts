import type { Scope } from './scope.js';
import { contains, finiteOrNull, toText } from './values.js';

/** A built-in function; arity is checked when the expression is compiled. */
export interface BuiltinFunction {
  readonly minArgs: number;
  readonly maxArgs: number;
  call(args: readonly unknown[], scope: Scope): unknown;
}

/** min/max of the arguments, or of one list argument; null when any item is not a number. */
function extreme(args: readonly unknown[], pickLarger: boolean): number | null {
  const list = args.length === 1 && Array.isArray(args[0]) ? (args[0] as unknown[]) : args;
  let best: number | null = null;
  // A loop, not Math.min(...list): a payload list can be longer than the call stack allows.
  for (const v of list) {
    if (typeof v !== 'number') return null;
    if (best === null || (pickLarger ? v > best : v < best)) best = v;
  }
  return best;
}

/** Half away from zero, so round(-2.5) is -3 like round(2.5) is 3; `digits` after the point. */
function round(value: unknown, digits: unknown): number | null {
  if (typeof value !== 'number') return null;
  const d = digits === undefined ? 0 : digits;
  if (typeof d !== 'number' || !Number.isInteger(d) || d < 0 || d > 15) return null;
  const factor = 10 ** d;
  return finiteOrNull((Math.sign(value) * Math.round(Math.abs(value) * factor)) / factor);
}

function toNumber(value: unknown): number | null {
  if (typeof value === 'number') return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'string' && value.trim() !== '') {
    const n = Number(value);
    return Number.isFinite(n) ? n : null;
  }
  return null;
}

const fn = (minArgs: number, maxArgs: number, call: BuiltinFunction['call']): BuiltinFunction => ({
  minArgs,
  maxArgs,
  call,
});

/** The functions of the rule language, by name. */
export const FUNCTIONS: Readonly<Record<string, BuiltinFunction>> = Object.freeze(
  Object.assign(Object.create(null) as Record<string, BuiltinFunction>, {
    abs: fn(1, 1, ([v]) => (typeof v === 'number' ? Math.abs(v) : null)),
    min: fn(1, Infinity, (args) => extreme(args, false)),
    max: fn(1, Infinity, (args) => extreme(args, true)),
    round: fn(1, 2, ([v, digits]) => round(v, digits)),
    number: fn(1, 1, ([v]) => toNumber(v)),
    string: fn(1, 1, ([v]) => toText(v)),
    lower: fn(1, 1, ([v]) => (typeof v === 'string' ? v.toLowerCase() : null)),
    upper: fn(1, 1, ([v]) => (typeof v === 'string' ? v.toUpperCase() : null)),
    contains: fn(2, 2, ([haystack, needle]) => contains(haystack, needle)),
    starts_with: fn(2, 2, ([s, prefix]) =>
      typeof s === 'string' && typeof prefix === 'string' ? s.startsWith(prefix) : false,
    ),
    now: fn(0, 0, (_args, scope) => scope.now),
    /** The registry record of a device: `.state.<metric>`, `.status`, `.last_seen`; null when unknown. */
    device: fn(1, 1, ([id], scope) => scope.lookupDevice(id)),
  }),
);

export function isFunctionName(name: string): boolean {
  return Object.hasOwn(FUNCTIONS, name);
}
