/**
 * Reads an on/off word as devices, Home Assistant and people write it: a boolean, or `ON`/`OFF`,
 * `TRUE`/`FALSE` in any case with surrounding spaces. Null for anything else, so a caller can say
 * what it expected.
 */
export function switchWord(value: unknown): boolean | null {
  if (typeof value === 'boolean') return value;
  if (typeof value !== 'string') return null;
  const word = value.trim().toUpperCase();
  if (word === 'ON' || word === 'TRUE') return true;
  if (word === 'OFF' || word === 'FALSE') return false;
  return null;
}
