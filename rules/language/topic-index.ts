import { RESERVED_NAMES } from './expression/scope.js';

/** One named wildcard of a filter: `+name` captures one level, `#name` the rest of the topic. */
export interface FilterCapture {
  readonly name: string;
  /** Index of the level in the topic. */
  readonly level: number;
  /** True for `#name`: the capture is every level from `level` on, joined with `/`. */
  readonly rest: boolean;
}

/** An MQTT filter with the capture names taken out: `sensors/+device/#` and its captures. */
export interface ParsedFilter {
  /** The filter as MQTT sees it (`sensors/+/#`). */
  readonly mqtt: string;
  readonly levels: readonly string[];
  readonly captures: readonly FilterCapture[];
}

const CAPTURE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Parses a filter with named wildcards; returns a message instead of throwing so the loader can locate it. */
export function parseFilter(filter: string): ParsedFilter | { error: string } {
  if (filter === '') return { error: 'an MQTT filter may not be empty' };
  const raw = filter.split('/');
  const levels: string[] = [];
  const captures: FilterCapture[] = [];
  for (let i = 0; i < raw.length; i++) {
    const level = raw[i] ?? '';
    const wildcard = level[0] === '+' || level[0] === '#' ? level[0] : null;
    if (wildcard === null) {
      if (level.includes('+') || level.includes('#')) {
        return { error: `level "${level}": "+" and "#" may only start a level` };
      }
      levels.push(level);
      continue;
    }
    if (wildcard === '#' && i !== raw.length - 1) return { error: '"#" may only be the last level' };
    const name = level.slice(1);
    if (name !== '') {
      if (!CAPTURE_NAME.test(name)) {
        return {
          error: `capture name "${name}" may use letters, digits and _ only, not starting with a digit`,
        };
      }
      if (RESERVED_NAMES.has(name)) return { error: `capture name "${name}" is taken by the rule language` };
      if (captures.some((c) => c.name === name)) return { error: `capture name "${name}" is used twice` };
      captures.push({ name, level: i, rest: wildcard === '#' });
    }
    levels.push(wildcard);
  }
  return { mqtt: levels.join('/'), levels, captures };
}

/** A value found for a topic, with the named captures of the filter it was added under. */
export interface TopicMatch<T> {
  readonly value: T;
  readonly filter: ParsedFilter;
  readonly captures: Readonly<Record<string, string>>;
}

interface Entry<T> {
  readonly value: T;
  readonly filter: ParsedFilter;
  /** Insertion order, so matches come back in the order they were added. */
  readonly seq: number;
}

class TrieNode<T> {
  readonly children = new Map<string, TrieNode<T>>();
  plus: TrieNode<T> | undefined;
  /** Entries whose filter ends here. */
  readonly exact: Entry<T>[] = [];
  /** Entries whose filter ends with `#` below this node. */
  readonly hash: Entry<T>[] = [];
}

const NO_CAPTURES: Readonly<Record<string, string>> = Object.freeze(
  Object.create(null) as Record<string, string>,
);

const NO_MATCHES: readonly never[] = Object.freeze([]);

/** Distinct topics whose matches are remembered; past it the cache starts over rather than grow. */
const MATCH_CACHE_SIZE = 10_000;

/**
 * An index of MQTT filters (a trie over topic levels), so finding every filter that matches a topic
 * costs the topic's depth times the wildcard branches, not the number of filters.
 */
export class TopicIndex<T> {
  private readonly root = new TrieNode<T>();
  private count = 0;
  /**
   * The matches of each topic seen since the last `add`: a fleet publishes the same topics over and
   * over, and every message would otherwise split its topic, walk the trie and build its captures.
   */
  private readonly matched = new Map<string, readonly TopicMatch<T>[]>();

  get size(): number {
    return this.count;
  }

  add(filter: ParsedFilter, value: T): void {
    this.matched.clear();
    let node = this.root;
    for (const level of filter.levels) {
      if (level === '#') {
        node.hash.push({ value, filter, seq: this.count++ });
        return;
      }
      if (level === '+') {
        node.plus ??= new TrieNode<T>();
        node = node.plus;
      } else {
        let child = node.children.get(level);
        if (!child) {
          child = new TrieNode<T>();
          node.children.set(level, child);
        }
        node = child;
      }
    }
    node.exact.push({ value, filter, seq: this.count++ });
  }

  /** Every value whose filter matches `topic`, in the order they were added; shared, do not change. */
  match(topic: string): readonly TopicMatch<T>[] {
    let matches = this.matched.get(topic);
    if (matches === undefined) {
      matches = this.find(topic);
      if (this.matched.size >= MATCH_CACHE_SIZE) this.matched.clear();
      this.matched.set(topic, matches);
    }
    return matches;
  }

  private find(topic: string): readonly TopicMatch<T>[] {
    const levels = topic.split('/');
    const found: Entry<T>[] = [];
    // MQTT: a filter starting with a wildcard does not match topics starting with `$` ($SYS/…).
    this.walk(this.root, levels, 0, !topic.startsWith('$'), found);
    if (found.length === 0) return NO_MATCHES;
    if (found.length > 1) found.sort((a, b) => a.seq - b.seq);
    return Object.freeze(
      found.map((e) => ({ value: e.value, filter: e.filter, captures: capture(e.filter, levels) })),
    );
  }

  private walk(
    node: TrieNode<T>,
    levels: readonly string[],
    depth: number,
    wildcards: boolean,
    found: Entry<T>[],
  ): void {
    if (wildcards) for (const e of node.hash) found.push(e);
    if (depth === levels.length) {
      for (const e of node.exact) found.push(e);
      return;
    }
    const child = node.children.get(levels[depth] ?? '');
    if (child) this.walk(child, levels, depth + 1, true, found);
    if (wildcards && node.plus) this.walk(node.plus, levels, depth + 1, true, found);
  }
}

function capture(filter: ParsedFilter, levels: readonly string[]): Readonly<Record<string, string>> {
  if (filter.captures.length === 0) return NO_CAPTURES;
  const out = Object.create(null) as Record<string, string>;
  for (const c of filter.captures) {
    out[c.name] = c.rest ? levels.slice(c.level).join('/') : (levels[c.level] ?? '');
  }
  // Shared by every message on the topic, so nothing may change it.
  return Object.freeze(out);
}
