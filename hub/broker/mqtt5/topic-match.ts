/**
 * True when the MQTT topic filter matches the topic name (MQTT 5 §4.7): `+` is one level, `#`
 * the rest (including the parent level), and a filter starting with a wildcard never matches a
 * topic starting with `$`.
 */
export function filterMatches(filter: string, topic: string): boolean {
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    const level = f[i];
    if (level === '#') return true;
    if (i >= t.length) return false;
    if (level !== '+' && level !== t[i]) return false;
  }
  return f.length === t.length;
}
