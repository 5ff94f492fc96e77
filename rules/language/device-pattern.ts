/** A device id as a trigger names it: exact (`gh-1`) or a glob (`gh-*`, `shed-?`). */
export interface DevicePattern {
  readonly text: string;
  /** Null for a glob. */
  readonly exact: string | null;
  matches(id: string): boolean;
}

/** `*` is any run of characters, `?` any one; everything else is literal. */
export function parseDevicePattern(text: string): DevicePattern {
  if (!/[*?]/.test(text)) return { text, exact: text, matches: (id) => id === text };
  const source = text
    .split('')
    .map((ch) => (ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  const regex = new RegExp(`^${source}$`);
  return { text, exact: null, matches: (id) => regex.test(id) };
}

interface Entry<T> {
  readonly value: T;
  readonly seq: number;
}

/**
 * Values by device pattern. Exact ids are a map lookup; globs are tested once per device id and
 * the answer cached, so a reading costs a lookup however many glob triggers there are.
 */
export class DeviceTriggerIndex<T> {
  private readonly exact = new Map<string, Entry<T>[]>();
  private readonly globs: (Entry<T> & { pattern: DevicePattern })[] = [];
  private readonly cache = new Map<string, readonly T[]>();
  private seq = 0;

  add(pattern: DevicePattern, value: T): void {
    this.cache.clear();
    const entry = { value, seq: this.seq++ };
    if (pattern.exact !== null) {
      const list = this.exact.get(pattern.exact) ?? [];
      list.push(entry);
      this.exact.set(pattern.exact, list);
    } else {
      this.globs.push({ ...entry, pattern });
    }
  }

  /** Every value whose pattern matches `deviceId`, in the order they were added. */
  match(deviceId: string): readonly T[] {
    let found = this.cache.get(deviceId);
    if (found === undefined) {
      const list: Entry<T>[] = [...(this.exact.get(deviceId) ?? [])];
      for (const g of this.globs) if (g.pattern.matches(deviceId)) list.push(g);
      found = list.sort((a, b) => a.seq - b.seq).map((e) => e.value);
      // Device ids come from topics; bound the cache so a flood of made-up ids cannot grow it forever.
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(deviceId, found);
    }
    return found;
  }

  get size(): number {
    return this.seq;
  }
}
