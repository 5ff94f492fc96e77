import type { Preview } from '../types.js';

/** The back-test in one sentence: "Over the last 24h this edit would have fired 3 times (the rules in force: 5)." */
export function previewSentence(preview: Pick<Preview, 'edited' | 'inForce'>, range: string): string {
  const n = preview.edited.fired;
  return (
    `Over the last ${range} this edit would have fired ${n} time${n === 1 ? '' : 's'} ` +
    `(the rules in force: ${preview.inForce.fired}).`
  );
}
