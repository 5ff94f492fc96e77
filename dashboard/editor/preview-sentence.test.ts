import { describe, expect, it } from 'vitest';
import { previewSentence } from './preview-sentence.js';

const counts = (edited: number, inForce: number) => ({
  edited: { fired: edited, rules: 1, firings: [] },
  inForce: { fired: inForce, rules: 2, firings: [] },
});

describe('previewSentence', () => {
  it('gives both counts over the chosen range', () => {
    expect(previewSentence(counts(7, 4), '24h')).toBe(
      'Over the last 24h this edit would have fired 7 times (the rules in force: 4).',
    );
    expect(previewSentence(counts(1, 0), '7d')).toBe(
      'Over the last 7d this edit would have fired 1 time (the rules in force: 0).',
    );
  });
});
