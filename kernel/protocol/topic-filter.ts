import { EdgehubError } from '../errors.js';

const SLASH = 0x2f;
const PLUS = 0x2b;
const HASH = 0x23;
const DOLLAR = 0x24;

/**
 * Whether `topic` (a topic name, no wildcards) matches the MQTT `filter`: `+` is one level, `#` the
 * rest including the parent level (`a/#` matches `a`), and a filter starting with a wildcard never
 * matches a topic starting with `$` (MQTT 5 §4.7). The one matcher of the broker's MQTT 5 layer, the
 * ACL, the event store's queries and the scenario expectations. It scans characters rather than
 * splitting, because the store calls it once per candidate row inside SQLite.
 */
export function topicMatches(filter: string, topic: string): boolean {
  const fl = filter.length;
  const tl = topic.length;
  const first = filter.charCodeAt(0);
  if (topic.charCodeAt(0) === DOLLAR && (first === PLUS || first === HASH)) return false;
  let i = 0;
  let j = 0;
  for (;;) {
    const c = filter.charCodeAt(i);
    if (c === HASH && i + 1 === fl) return true;
    if (c === PLUS && (i + 1 === fl || filter.charCodeAt(i + 1) === SLASH)) {
      i++;
      while (j < tl && topic.charCodeAt(j) !== SLASH) j++;
    } else {
      while (i < fl && j < tl) {
        const fc = filter.charCodeAt(i);
        if (fc === SLASH) break;
        if (fc !== topic.charCodeAt(j)) return false;
        i++;
        j++;
      }
      if (i < fl && filter.charCodeAt(i) !== SLASH) return false;
      if (j < tl && topic.charCodeAt(j) !== SLASH) return false;
    }
    // Both are now at a level's end: a `/` or the end of the string.
    if (i === fl) return j === tl;
    if (j === tl) return i + 2 === fl && filter.charCodeAt(i + 1) === HASH;
    i++;
    j++;
  }
}

/** Throws `USAGE` when `filter` breaks MQTT's wildcard rules (`#` last and alone, `+` alone in its level). */
export function assertTopicFilter(filter: string): void {
  if (filter.length === 0) throw new EdgehubError('USAGE', 'a topic filter cannot be empty');
  const levels = filter.split('/');
  levels.forEach((level, i) => {
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1)) {
      throw new EdgehubError('USAGE', `topic filter "${filter}": # must be a whole level and the last one`);
    }
    if (level.includes('+') && level !== '+') {
      throw new EdgehubError(
        'USAGE',
        `topic filter "${filter}": + must be a whole level, as in sensors/+/temperature`,
      );
    }
  });
}

/**
 * Whether every topic that subscription filter `sub` can match is also matched by `filter`: the test
 * for granting a wildcard SUBSCRIBE under an ACL (`sensors/#` covers `sensors/+/temperature`, but
 * `sensors/+/temperature` does not cover `sensors/#`).
 */
export function filterCovers(filter: string, sub: string): boolean {
  const f = filter.split('/');
  const s = sub.split('/');
  if (sub.startsWith('$') && (f[0] === '+' || f[0] === '#')) return false;
  for (let i = 0; i < f.length; i++) {
    const level = f[i];
    if (level === '#') return true;
    if (i >= s.length) return false;
    const sl = s[i];
    if (sl === '#') return false;
    if (level === '+') continue;
    if (sl === '+' || level !== sl) return false;
  }
  return f.length === s.length;
}

/** Whether some topic could match both filters (used to spot a deny rule inside a wildcard subscription). */
export function filtersOverlap(a: string, b: string): boolean {
  const x = a.split('/');
  const y = b.split('/');
  if (
    (a.startsWith('$') && (y[0] === '+' || y[0] === '#')) ||
    (b.startsWith('$') && (x[0] === '+' || x[0] === '#'))
  )
    return false;
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const p = x[i];
    const q = y[i];
    if (p === '#' || q === '#') return true;
    if (p === undefined || q === undefined) return false;
    if (p !== '+' && q !== '+' && p !== q) return false;
  }
  return true;
}

/** Number of levels in a topic or filter (`a/b/c` has 3). */
export function topicLevels(topic: string): number {
  let n = 1;
  for (let i = 0; i < topic.length; i++) if (topic.charCodeAt(i) === 47) n++;
  return n;
}
