import { describe, expect, it } from 'vitest';
import { conservation, CONSERVATION_LIMIT } from '../../src/methods/conservation.js';

describe('conservation', () => {
  it('accepts relevance that sums to the score or less, flags relevance that grew', () => {
    expect(conservation('lrp', 'epsilon-plus-flat', 2.2, 2.29)).toEqual({ relevanceSum: 2.2, score: 2.29, ratio: 2.2 / 2.29 });
    expect(conservation('lrp', 'epsilon-plus-flat', 2e-4, 2.29)!.warning).toBeUndefined();
    expect(conservation('lrp', 'epsilon-plus-flat', -0.5 * CONSERVATION_LIMIT, 1)!.warning).toBeUndefined();
    const bad = conservation('lrp', 'attnlrp', -3.9e22, 2.29)!;
    expect(bad.ratio).toBeCloseTo(-3.9e22 / 2.29, -18);
    expect(bad.warning).toMatch(/-3\.90e\+22, 1\.7e\+22× the explained score 2\.29: composite 'attnlrp' does not conserve/);
    expect(conservation('lrp', 'attnlrp', Number.NaN, 1)!.warning).toMatch(/many times/);
    expect(conservation('lrp', 'epsilon', 1, 0)!.ratio).toBe(Infinity);
  });

  it('applies to relevance-propagating methods only', () => {
    expect(conservation('gradient', undefined, 1e9, 1)).toBeUndefined();
    expect(conservation('crp', 'epsilon-plus', 50, 1)!.warning).toBeDefined();
  });
});
