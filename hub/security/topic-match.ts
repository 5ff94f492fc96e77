/**
 * Whether `topic` (a topic name, no wildcards) matches `filter`. Per MQTT, a wildcard in the first
 * level does not match a topic starting with `$` (so `#` does not reach `$SYS/...`).
 */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  if (topic.startsWith('$') && (f[0] === '+' || f[0] === '#')) return false;
  for (let i = 0; i < f.length; i++) {
    const level = f[i];
    if (level === '#') return true;
    if (i >= t.length) return false;
    if (level !== '+' && level !== t[i]) return false;
  }
  return f.length === t.length;
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
