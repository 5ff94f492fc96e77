import { EdgehubError } from '../../kernel/index.js';

/**
 * MQTT topic filters (`+` one level, `#` the rest) compiled to regular expressions, because the store
 * matches them once per candidate row inside SQLite and splitting the filter per row would dominate.
 */
const compiled = new Map<string, RegExp>();
/** Distinct filters kept compiled; a CLI or dashboard uses a handful, so this only bounds misuse. */
const MAX_COMPILED = 256;

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

/** True when `topic` matches the MQTT `filter`, including MQTT's rule that wildcards never match `$` topics. */
export function topicMatches(filter: string, topic: string): boolean {
  let re = compiled.get(filter);
  if (!re) {
    assertTopicFilter(filter);
    re = compile(filter);
    if (compiled.size >= MAX_COMPILED) compiled.clear();
    compiled.set(filter, re);
  }
  return re.test(topic);
}

function compile(filter: string): RegExp {
  const levels = filter.split('/');
  let source = '';
  levels.forEach((level, i) => {
    const sep = i === 0 ? '' : '/';
    if (level === '#') {
      // `a/#` also matches `a` itself (MQTT 3.1.1 §4.7.1.2).
      source += i === 0 ? '.*' : `(?:/.*)?`;
    } else if (level === '+') {
      source += `${sep}[^/]*`;
    } else {
      source += sep + level.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    }
  });
  const first = levels[0];
  const guard = first === '#' || first === '+' ? '(?!\\$)' : '';
  return new RegExp(`^${guard}${source}$`, 's');
}
