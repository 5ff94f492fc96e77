/**
 * "Did you mean" for misspelt keys, device ids and values: the closest candidate by edit distance
 * (a swap of two neighbouring letters counts as one edit, so `lgo` finds `log`).
 */

/** Optimal-string-alignment distance between `a` and `b`. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array<number>(rows * cols).fill(0);
  const at = (i: number, j: number): number => d[i * cols + j] ?? 0;
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, at(i - 2, j - 2) + 1);
      }
      d[i * cols + j] = best;
    }
  }
  return at(a.length, b.length);
}

/**
 * The candidate closest to `word`, when it is close enough to be a likely typo: one edit for short
 * words, up to a third of the word's length for longer ones. Case is ignored.
 */
export function closest(word: string, candidates: Iterable<string>): string | null {
  const list = [...candidates];
  const lower = word.toLowerCase();
  const limit = Math.max(1, Math.min(3, Math.floor(word.length / 3)));
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const candidate of list) {
    const distance = editDistance(lower, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  if (bestDistance <= limit) return best;
  // An abbreviation (`warn` for `warning`) is as likely as a typo.
  if (word.length >= 3) {
    const prefixed = list.filter((c) => c.toLowerCase().startsWith(lower));
    if (prefixed.length === 1) return prefixed[0] ?? null;
  }
  return null;
}

/** ` did you mean "x"?` or an empty string. */
export function suggestion(word: string, candidates: Iterable<string>): string {
  const found = closest(word, candidates);
  return found === null ? '' : `did you mean "${found}"? `;
}
