import { describe, expect, it } from 'vitest';
import { getMetric } from '../../src/metrics/index.js';
import { input } from './helpers.js';

const none = { normalise: 'none' };

describe('complexity metrics', () => {
  it('sparseness is the Gini index of |a| + 1e-7', async () => {
    const r = await getMetric('sparseness').evaluate(input([[0, 0, 0, 0], [0, 0, 0, 0]], [[-2, 0, 0, 0], [1, 1, 1, 1]], [0, 0]), {});
    const e = 1e-7;
    expect(r.scores[0]).toBeCloseTo(3 / (4 * (1 + 4 * e)), 12);
    expect(r.scores[1]).toBeCloseTo(0, 12);
  });

  it('complexity is the entropy of |a| / Σ|a|; all-zero attributions are undefined with a reason', async () => {
    const r = await getMetric('complexity').evaluate(input([[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]], [[1, -1, 1, 1], [0, 5, 0, 0], [0, 0, 0, 0]], [0, 0, 0]), {}, none);
    expect(r.scores[0]).toBeCloseTo(Math.log(4), 10);
    expect(r.scores[1]).toBeCloseTo(0, 10);
    expect(r.scores[2]).toBeNaN();
    expect(r.reasons![2]).toMatch(/zero/);
    expect(r.reasons![0]).toBeNull();
  });

  it('effective-complexity counts |a| > eps after normalisation', async () => {
    const m = getMetric('effective-complexity');
    const x = input([[0, 0, 0, 0]], [[0.5, -0.1, 0, 1]], [0]);
    expect((await m.evaluate(x, {}, { eps: 0.2, normalise: 'none' })).scores[0]).toBe(2);
    // batch normalisation by max |a| over the whole batch changes the thresholded count
    const xb = input([[0, 0, 0, 0], [0, 0, 0, 0]], [[0.5, -0.1, 0, 1], [4, 0, 0, 0]], [0, 0]);
    expect(Array.from((await m.evaluate(xb, {}, { eps: 0.2 })).scores)).toEqual([1, 1]);
    expect(Array.from((await m.evaluate(xb, {}, { eps: 0.2, normalise: 'sample' })).scores)).toEqual([2, 1]);
  });

  it('mst-c: a 2×2 block in a 4×4 map and a collinear set', async () => {
    const block = new Array(16).fill(0);
    for (const j of [0, 1, 4, 5]) block[j] = 1;
    const line = new Array(16).fill(0);
    for (const j of [0, 4, 8, 12]) line[j] = 1;
    const zeros = new Array(16).fill(0);
    const r = await getMetric('mst-c').evaluate(input([zeros, zeros, zeros], [block, line, zeros], [0, 0, 0], undefined, [1, 4, 4]), {});
    const diag = Math.hypot(4, 4);
    // |V| = 4, MST length 3, hull area 1
    expect(r.scores[0]).toBeCloseTo((4 / 3) * diag * 100, 8);
    // collinear: hull area 0 falls back to the image diagonal
    expect(r.scores[1]).toBeCloseTo((4 / 3 / diag) * diag * 100, 8);
    expect(r.scores[2]).toBe(0);
    const unscaled = await getMetric('mst-c').evaluate(input([zeros], [block], [0], undefined, [1, 4, 4]), {}, { scale_score: false });
    expect(unscaled.scores[0]).toBeCloseTo(4 / 3, 10);
  });
});

describe('localisation metrics', () => {
  const x4 = [[0, 0, 0, 0]];
  it('pointing-game: any arg-max inside the mask is a hit; weighted scores 1 − |S|/|x|', async () => {
    const m = getMetric('pointing-game');
    const inp = input([[0, 0, 0, 0], [0, 0, 0, 0]], [[0.1, 0.9, 0.9, 0], [1, 0, 0, 0]], [0, 0], [[0, 0, 1, 0], [0, 1, 1, 0]]);
    expect(Array.from((await m.evaluate(inp, {})).scores)).toEqual([1, 0]);
    expect(Array.from((await m.evaluate(inp, {}, { weighted: true })).scores)).toEqual([0.75, 0]);
  });
  it('relevance mass and rank accuracy, top-k, AUC', async () => {
    const inp = input(x4, [[1, 2, 3, 4]], [0], [[0, 1, 1, 0]]);
    expect((await getMetric('relevance-mass-accuracy').evaluate(inp, {}, none)).scores[0]).toBeCloseTo(0.5, 12);
    expect((await getMetric('relevance-rank-accuracy').evaluate(inp, {})).scores[0]).toBe(0.5);
    expect((await getMetric('top-k-intersection').evaluate(inp, {}, { k: 1 })).scores[0]).toBe(0);
    expect((await getMetric('top-k-intersection').evaluate(inp, {}, { k: 3 })).scores[0]).toBeCloseTo(2 / 3, 12);
    expect((await getMetric('top-k-intersection').evaluate(inp, {}, { k: 3, conceptInfluence: true })).scores[0]).toBeCloseTo((2 / 3) * 2, 12);
    expect((await getMetric('auc').evaluate(inp, {})).scores[0]).toBe(0.5);
    expect((await getMetric('auc').evaluate(input(x4, [[1, 2, 3, 4]], [0], [[0, 0, 1, 1]]), {})).scores[0]).toBe(1);
    // ties count half: a constant map is a coin flip
    expect((await getMetric('auc').evaluate(input(x4, [[1, 1, 1, 1]], [0], [[0, 0, 1, 1]]), {})).scores[0]).toBe(0.5);
  });
  it('attribution-localisation takes |a|; weighted multiplies by |x| / |S|', async () => {
    const inp = input(x4, [[-1, 2, 3, 4]], [0], [[0, 1, 1, 0]]);
    expect((await getMetric('attribution-localisation').evaluate(inp, {})).scores[0]).toBeCloseTo(0.5, 12);
    expect((await getMetric('attribution-localisation').evaluate(inp, {}, { weighted: true })).scores[0]).toBeCloseTo(1, 12);
    await expect(getMetric('attribution-localisation').evaluate(inp, {}, { maxSize: 0.25 })).rejects.toThrow(/maxSize/);
  });
  it('focus counts positive relevance on the target tiles', async () => {
    const r = await getMetric('focus').evaluate(input([[0, 0, 0, 0], [0, 0, 0, 0]], [[-1, 2, 3, 4], [-1, -2, 0, 0]], [0, 0], [[1, 1, 0, 0], [1, 0, 0, 0]]), {});
    expect(r.scores[0]).toBeCloseTo(2 / 9, 12);
    expect(r.scores[1]).toBeNaN();
    expect(r.reasons![1]).toMatch(/positive/);
  });
});

describe('input validation', () => {
  const m = getMetric('relevance-mass-accuracy');
  it('rejects attributions whose shape differs from the input', async () => {
    await expect(m.evaluate({ ...input([[0, 0, 0, 0]], [[1, 2, 3, 4]], [0], [[0, 1, 1, 0]]), a: new Float32Array(3) }, {})).rejects.toMatchObject({ name: 'InputDataError', message: expect.stringMatching(/attributions have 3 values/) });
  });
  it('rejects NaN attributions, non-binary and empty masks, missing masks', async () => {
    await expect(m.evaluate(input([[0, 0, 0, 0]], [[1, NaN, 3, 4]], [0], [[0, 1, 1, 0]]), {})).rejects.toMatchObject({ name: 'InputDataError', message: expect.stringMatching(/NaN/) });
    await expect(m.evaluate(input([[0, 0, 0, 0]], [[1, 2, 3, 4]], [0], [[0, 0.5, 1, 0]]), {})).rejects.toMatchObject({ name: 'InputDataError', message: expect.stringMatching(/not binary/) });
    await expect(m.evaluate(input([[0, 0, 0, 0]], [[1, 2, 3, 4]], [0], [[0, 0, 0, 0]]), {})).rejects.toMatchObject({ name: 'InputDataError', message: expect.stringMatching(/empty/) });
    await expect(m.evaluate(input([[0, 0, 0, 0]], [[1, 2, 3, 4]], [0]), {})).rejects.toMatchObject({ name: 'InvalidArgumentError' });
  });
  it('rejects unknown parameters and wrongly typed ones; accepts Quantus snake_case names', async () => {
    const inp = input([[0, 0, 0, 0]], [[1, 2, 3, 4]], [0], [[0, 1, 1, 0]]);
    await expect(m.evaluate(inp, {}, { epsilon: 1 })).rejects.toMatchObject({ name: 'InvalidArgumentError', message: expect.stringMatching(/no parameter 'epsilon'/) });
    await expect(m.evaluate(inp, {}, { abs: 1 })).rejects.toMatchObject({ name: 'InvalidArgumentError' });
    await expect(m.evaluate(inp, {}, { normalise: 'global' })).rejects.toMatchObject({ name: 'InvalidArgumentError' });
    const tk = await getMetric('top-k-intersection').evaluate(inp, {}, { k: 3, concept_influence: true });
    expect(tk.scores[0]).toBeCloseTo(4 / 3, 12);
  });
  it('unknown metric names are an error listing the metrics', () => {
    expect(() => getMetric('pixelflipping')).toThrow(/unknown metric 'pixelflipping'.*/);
  });
});

describe('mst-c geometry', () => {
  it('the ring-search k-NN graph equals brute force on random grid points', async () => {
    const { symmetricKnnEdges, minimumSpanningForest, convexHullArea, percentile } = await import('../../src/metrics/complexity/geometry.js');
    const { mulberry32 } = await import('../../src/seeded-random.js');
    const rand = mulberry32(9);
    const cells = new Set<number>();
    while (cells.size < 60) cells.add(Math.floor(rand() * 15 * 15));
    const pts = [...cells];
    const px = Float64Array.from(pts, (c) => Math.floor(c / 15));
    const py = Float64Array.from(pts, (c) => c % 15);
    for (const k of [1, 3, 7]) {
      const fast = symmetricKnnEdges(px, py, k, 15, 15);
      const brute = new Map<string, number>();
      for (let i = 0; i < pts.length; i++) {
        const order = pts.map((_, j) => j).filter((j) => j !== i).sort((a, b) => Math.hypot(px[i]! - px[a]!, py[i]! - py[a]!) - Math.hypot(px[i]! - px[b]!, py[i]! - py[b]!) || a - b);
        for (const j of order.slice(0, k)) brute.set(`${Math.min(i, j)}-${Math.max(i, j)}`, Math.hypot(px[i]! - px[j]!, py[i]! - py[j]!));
      }
      expect(new Map(fast.map((e) => [`${Math.min(e.u, e.v)}-${Math.max(e.u, e.v)}`, e.w]))).toEqual(brute);
      // the forest length does not depend on how ties were broken
      expect(minimumSpanningForest(pts.length, fast).length).toBeCloseTo(minimumSpanningForest(pts.length, [...brute].map(([key, w]) => ({ u: Number(key.split('-')[0]), v: Number(key.split('-')[1]), w }))).length, 10);
    }
    // a unit square's hull, numpy's linear percentile
    expect(convexHullArea(Float64Array.from([0, 0, 1, 1, 0.5]), Float64Array.from([0, 1, 0, 1, 0.5]))).toBeCloseTo(1, 12);
    expect(percentile([1, 2, 3, 4], 50)).toBe(2.5);
    expect(percentile([0, 10], 80)).toBe(8);
  });
});
