import { describe, expect, it } from 'vitest';
import { getMetric } from '../../src/metrics/index.js';
import type { ExplainFn, ScoreFn } from '../../src/metrics/types.js';
import { input, linearExplain, linearScore } from './helpers.js';

describe('sensitivity', () => {
  // a(x) = x · w, so a shift of every feature by c changes a by c·w.
  const explain = linearExplain([[1], [1]]);
  const inp = input([[3, 4]], [[3, 4]], [0]);
  it('max- and avg-sensitivity: ‖Δa‖/‖a‖ for a (near-)constant shift', async () => {
    for (const name of ['max-sensitivity', 'avg-sensitivity']) {
      const r = await getMetric(name).evaluate(inp, { explain }, { nrSamples: 5, lowerBound: 0.5, upperBound: 0.5 + 1e-9 });
      expect(r.scores[0]).toBeCloseTo((0.5 * Math.SQRT2) / 5, 6);
    }
  });
  it('explains all perturbations of all samples in batches; max ≥ avg; NaN for an all-zero attribution', async () => {
    const e = linearExplain([[1], [2]]);
    const two = input([[3, 4], [1, 1]], [[3, 8], [0, 0]], [0, 0]);
    const mx = await getMetric('max-sensitivity').evaluate(two, { explain: e, batchSize: 7, seed: 1 }, { nrSamples: 10 });
    expect(e.calls).toBe(3); // 20 re-explanations in chunks of 7
    expect(e.inputs).toBe(20);
    const avg = await getMetric('avg-sensitivity').evaluate(two, { explain: e, seed: 1 }, { nrSamples: 10 });
    expect(mx.scores[0]).toBeGreaterThanOrEqual(avg.scores[0]!);
    // U(−0.2, 0.2) noise: ‖Δa‖ ≤ 0.2·‖w‖
    expect(mx.scores[0]).toBeLessThanOrEqual((0.2 * Math.sqrt(5)) / Math.sqrt(73));
    expect(mx.scores[1]).toBeNaN();
    const again = await getMetric('max-sensitivity').evaluate(two, { explain: e, batchSize: 7, seed: 1 }, { nrSamples: 10 });
    expect(again.scores[0]).toBe(mx.scores[0]);
  });
  it('needs an ExplainFn', async () => {
    await expect(getMetric('max-sensitivity').evaluate(inp, {})).rejects.toMatchObject({ name: 'InvalidArgumentError', message: expect.stringMatching(/ExplainFn/) });
  });
  it('rejects an ExplainFn that returns the wrong shape', async () => {
    const bad: ExplainFn = async (x) => new Float32Array(x.length - 1);
    await expect(getMetric('avg-sensitivity').evaluate(inp, { explain: bad }, { nrSamples: 2 })).rejects.toMatchObject({ name: 'InputDataError' });
  });
});

describe('local-lipschitz-estimate', () => {
  it('is |c| when a = c·x, and at most max |w| for a = w ⊙ x', async () => {
    const r = await getMetric('local-lipschitz-estimate').evaluate(input([[3, 4]], [[6, 8]], [0]), { explain: linearExplain([[2], [2]]) }, { nrSamples: 20 });
    expect(r.scores[0]).toBeCloseTo(2, 6);
    const r2 = await getMetric('local-lipschitz-estimate').evaluate(input([[3, 4]], [[3, 12]], [0]), { explain: linearExplain([[1], [3]]) }, { nrSamples: 50 });
    expect(r2.scores[0]).toBeGreaterThan(1);
    expect(r2.scores[0]).toBeLessThanOrEqual(3 + 1e-9);
  });
});

describe('relative stability', () => {
  it('RIS is exactly 1 when a = x ⊙ w (relative changes coincide); ROS ≥ √2 for two equal features', async () => {
    const explain = linearExplain([[1], [1]]);
    const score = linearScore([[1], [1]]);
    const inp = input([[1, 1]], [[1, 1]], [0]);
    const ris = await getMetric('relative-input-stability').evaluate(inp, { explain, score }, { nrSamples: 20 });
    expect(ris.scores[0]).toBeCloseTo(1, 5);
    const ros = await getMetric('relative-output-stability').evaluate(inp, { explain, score }, { nrSamples: 20 });
    expect(ros.scores[0]).toBeGreaterThanOrEqual(Math.SQRT2 - 1e-6);
  });
  it('leaves out perturbations that change the prediction: NaN with a reason when all do', async () => {
    // class 0 for the original input, class 1 for anything else
    const flip: ScoreFn = async (x, shape) => {
      const out = new Float32Array(shape[0]! * 2);
      for (let i = 0; i < shape[0]!; i++) out[i * 2 + (x[i * 2] === 1 && x[i * 2 + 1] === 1 ? 0 : 1)] = 1;
      return out;
    };
    const inp = input([[1, 1]], [[1, 1]], [0]);
    const explain = linearExplain([[1], [1]]);
    const r = await getMetric('relative-input-stability').evaluate(inp, { explain, score: flip }, { nrSamples: 5 });
    expect(r.scores[0]).toBeNaN();
    expect(r.reasons![0]).toMatch(/changed the predicted class/);
    const kept = await getMetric('relative-input-stability').evaluate(inp, { explain, score: flip }, { nrSamples: 5, nanWhenPredictionChanges: false });
    expect(kept.scores[0]).toBeCloseTo(1, 5);
  });
});

describe('continuity', () => {
  it('patch relevance that follows the logit along the translation correlates +1', async () => {
    const explain = linearExplain([[1], [1], [1], [1]]);
    const score = linearScore([[1], [1], [1], [1]]);
    const r = await getMetric('continuity').evaluate(input([[1, 2, 3, 4]], [[1, 2, 3, 4]], [0], undefined, [1, 4]), { explain, score }, { nrSteps: 2, patchSize: 2 });
    expect(r.scores[0]).toBeCloseTo(1, 12);
    expect(explain.calls).toBe(1);
  });
});

describe('consistency', () => {
  it('share of samples with the same top-n-sign explanation and the same prediction', async () => {
    const score = linearScore([[1, 0, 0], [0, 1, 0], [0, 0, 1]]);
    const x = [[1, 0, 0], [1, 0, 0], [0, 0, 1], [0, 1, 0], [0, 1, 0]];
    const a = [[5, 0, 0], [4, 1, 0], [0, 0, 3], [0, 0, 2], [0, 7, 0]];
    const r = await getMetric('consistency').evaluate(input(x, a, [0, 0, 0, 0, 0]), { score }, { topN: 1 });
    expect(Array.from(r.scores.slice(0, 4))).toEqual([1, 1, 0, 0]);
    expect(r.scores[4]).toBeNaN();
  });
});
