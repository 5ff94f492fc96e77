/** Whether an MQTT topic matches a filter with `+` and `#` wildcards (MQTT 3.1.1 §4.7). */
export function topicMatches(filter: string, topic: string): boolean {
  if (filter === '' || filter === '#') return !topic.startsWith('$') || filter === '';
  const f = filter.split('/');
  const t = topic.split('/');
  // Wildcards at the first level never match topics starting with $ (the broker's own).
  if ((f[0] === '+' || f[0] === '#') && topic.startsWith('$')) return false;
  for (let i = 0; i < f.length; i++) {
    const part = f[i];
    if (part === '#') return i === f.length - 1;
    if (i >= t.length) return false;
    if (part !== '+' && part !== t[i]) return false;
  }
  return f.length === t.length;
}
