import { describe, expect, it } from 'vitest';
import { sparklinePoints } from './sparkline.js';

describe('sparklinePoints', () => {
  it('spans the width and puts the lowest value at the bottom, the highest at the top', () => {
    expect(sparklinePoints([1, 3, 2], 100, 22)).toBe('0.0,21.0 50.0,1.0 100.0,11.0');
  });

  it('draws a flat series as a line through the middle of nothing', () => {
    expect(sparklinePoints([5, 5], 10, 12)).toBe('0.0,11.0 10.0,11.0');
    expect(sparklinePoints([], 10, 12)).toBe('');
  });
});
