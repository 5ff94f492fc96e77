/**
 * The value semantics of the rule language. Values are JSON data (plus the topic levels); every
 * operation is total: a missing member, a wrong type or a non-finite result is `null`, never a throw.
 */

/** Names that are never reachable as members or scope names, even when a payload carries them. */
export const BLOCKED_NAMES: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** Only data objects (from JSON or built by the engine) are readable; anything else has no members. */
function isPlainObject(value: object): value is Record<string, unknown> {
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** `value[key]` with the language's rules: own data only, `null` when missing. */
export function getMember(value: unknown, key: unknown): unknown {
  if (typeof value === 'string') {
    if (key === 'length') return value.length;
    if (typeof key === 'number' && Number.isInteger(key) && key >= 0 && key < value.length) return value[key];
    return null;
  }
  if (value === null || typeof value !== 'object') return null;
  if (Array.isArray(value)) {
    if (key === 'length') return value.length;
    if (typeof key === 'number' && Number.isInteger(key) && key >= 0 && key < value.length) {
      return (value[key] as unknown) ?? null;
    }
    return null;
  }
  const name = typeof key === 'string' ? key : typeof key === 'number' ? String(key) : null;
  if (name === null || !hasKey(value, name)) return null;
  return (value as Record<string, unknown>)[name] ?? null;
}

/** True when `value` is a data map with an own, reachable key `name`. */
export function hasKey(value: object, name: string): boolean {
  return !BLOCKED_NAMES.has(name) && isPlainObject(value) && Object.hasOwn(value, name);
}

/** JavaScript truthiness: `null`, `false`, `0`, `""` are false; lists and maps (even empty) are true. */
export function truthy(value: unknown): boolean {
  return Boolean(value);
}

/** Strict equality on JSON values: same type and same value, lists and maps compared by content. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) {
    if (!Object.hasOwn(b, k)) return false;
    if (!jsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  return true;
}

/** Text of a value for templates and `string()`: null is empty, lists and maps are JSON. */
export function toText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === null || value === undefined) return '';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value) ?? '';
}

/** Numbers or strings compare; anything else (null, mixed types) makes the comparison false. */
export function comparable(a: unknown, b: unknown): boolean {
  return (typeof a === 'number' && typeof b === 'number') || (typeof a === 'string' && typeof b === 'string');
}

/** Arithmetic results outside JSON (NaN, ±Infinity) are `null`. */
export function finiteOrNull(n: number): number | null {
  return Number.isFinite(n) ? n : null;
}

/** `needle in haystack`: member of a list, own key of a map, or substring of a string. */
export function contains(haystack: unknown, needle: unknown): boolean {
  if (typeof haystack === 'string') return typeof needle === 'string' && haystack.includes(needle);
  if (Array.isArray(haystack)) {
    for (const item of haystack) if (jsonEqual(item, needle)) return true;
    return false;
  }
  if (haystack !== null && typeof haystack === 'object') {
    return typeof needle === 'string' && hasKey(haystack, needle);
  }
  return false;
}
