import { describe, expect, it } from 'vitest';
import { getMetric } from '../../src/metrics/index.js';
import { noisyLinearImputation } from '../../src/metrics/faithfulness/imputation.js';
import { slic } from '../../src/metrics/faithfulness/superpixels.js';
import { mulberry32 } from '../../src/seeded-random.js';
import { input, linearScore } from './helpers.js';

/** Two classes: logit0 = x · w, logit1 = 0. */
const model = (w: number[]) => linearScore(w.map((v) => [v, 0]));
const img = (rows: number[][], a: number[][], y: number[]) => input(rows, a, y, undefined, [1, 2, 2]);
const logits = { softmax: false, normalise: 'none' };

describe('pixel-flipping', () => {
  it('records the target score after each cumulative removal and batches the perturbations', async () => {
    const score = model([1, 1, 1, 1]);
    const inp = input([[1, 2, 3, 4], [1, 2, 3, 4]], [[4, 3, 2, 1], [1, 2, 3, 4]], [0, 0]);
    const r = await getMetric('pixel-flipping').evaluate(inp, { score, batchSize: 3 }, logits);
    // black = min(x) = 1; removing x0 (already 1) leaves 10, then 9, 7, 4
    expect(Array.from(r.curves![0]!)).toEqual([10, 9, 7, 4]);
    expect(Array.from(r.curves![1]!)).toEqual([7, 5, 4, 4]);
    expect(r.scores[0]).toBe(23);
    expect(r.scores[1]).toBe(6 + 4.5 + 4);
    expect(score.calls).toBe(3); // 8 perturbed inputs in chunks of 3
    expect(score.inputs).toBe(8);
    const s2 = model([1, 1, 1, 1]);
    await getMetric('pixel-flipping').evaluate(inp, { score: s2 }, logits);
    expect(s2.calls).toBe(1);
    const mean = await getMetric('pixel-flipping').evaluate(inp, { score: s2 }, { ...logits, return: 'mean', featuresInStep: 2 });
    expect(Array.from(mean.curves![0]!)).toEqual([9, 4]);
    expect(mean.scores[0]).toBe(6.5);
  });
  it('rejects a ScoreFn that does not return class scores and targets outside them', async () => {
    const inp = input([[1, 2]], [[1, 0]], [0]);
    const bad = async (x: Float32Array) => new Float32Array(x.length * 3 + 1);
    await expect(getMetric('pixel-flipping').evaluate(inp, { score: bad })).rejects.toMatchObject({ name: 'InputDataError', message: expect.stringMatching(/not \[2, classes\]/) });
    await expect(getMetric('pixel-flipping').evaluate(input([[1, 2]], [[1, 0]], [5]), { score: model([1, 1]) })).rejects.toMatchObject({ name: 'InputDataError', message: expect.stringMatching(/target class 5/) });
    await expect(getMetric('pixel-flipping').evaluate(inp, {})).rejects.toMatchObject({ name: 'InvalidArgumentError', message: expect.stringMatching(/ScoreFn/) });
  });
});

describe('correlation-type faithfulness', () => {
  // For a linear model the exact attribution of removing feature j to the baseline b is (x_j − b)·w_j.
  const w = [1, -1, 2, 0.5];
  const x = [1, 2, 3, 4];
  const exact = x.map((v, j) => (v - 1) * w[j]!);
  it('faithfulness-estimate is 1 for the exact attribution and −1 for its negation', async () => {
    const m = getMetric('faithfulness-estimate');
    const inp = input([x, x], [exact, exact.map((v) => -v)], [0, 0]);
    const score = model(w);
    const r = await m.evaluate(inp, { score }, { softmax: false });
    expect(r.scores[0]).toBeCloseTo(1, 12);
    expect(r.scores[1]).toBeCloseTo(-1, 12);
    expect(score.calls).toBe(2); // unperturbed scores + one call for all 8 removals
  });
  it('faithfulness-correlation is 1 for the exact attribution, reproducible under a seed, NaN for a constant one', async () => {
    const m = getMetric('faithfulness-correlation');
    const inp = input([x, x], [exact, [0, 0, 0, 0]], [0, 0]);
    const score = model(w);
    const r = await m.evaluate(inp, { score, seed: 3, batchSize: 16 }, { subsetSize: 2, nrRuns: 20 });
    expect(r.scores[0]).toBeCloseTo(1, 12);
    expect(r.scores[1]).toBeNaN();
    expect(r.reasons![1]).toMatch(/constant/);
    expect(score.calls).toBe(1 + Math.ceil(40 / 16));
    await expect(m.evaluate(inp, { score }, { subsetSize: 5 })).rejects.toMatchObject({ name: 'InvalidArgumentError' });
  });
  it('monotonicity-correlation is 1 when |a| ranks features like their squared score change', async () => {
    const r = await getMetric('monotonicity-correlation').evaluate(input([x], [exact], [0]), { score: model(w) }, { softmax: false, nrSamples: 1, baseline: 'black' });
    expect(r.scores[0]).toBeCloseTo(1, 12);
  });
  it('sensitivity-n is 1 at every subset size for the exact attribution', async () => {
    const score = model(w);
    const r = await getMetric('sensitivity-n').evaluate(input([x], [exact], [0]), { score, seed: 1 }, { baseline: 'black', softmax: false, nrSubsets: 6, nrSizes: 3, nMaxPercentage: 0.75 });
    expect(r.curves![0]!.length).toBe(3);
    for (const v of r.curves![0]!) expect(v).toBeCloseTo(1, 12);
    expect(r.scores[0]).toBeCloseTo(1, 12);
  });
});

describe('monotonicity (Arya), implemented correctly', () => {
  it('is 1 when adding features never lowers the score and 0 when one does', async () => {
    const x = [1, 2, 3, 4];
    const up = await getMetric('monotonicity').evaluate(input([x], [[1, 2, 3, 4]], [0]), { score: model([1, 1, 1, 1]) }, { softmax: false });
    expect(up.scores[0]).toBe(1);
    // curve: baseline (all 1) = 4, then restore features by increasing |a|
    expect(Array.from(up.curves![0]!)).toEqual([4, 5, 7, 10]);
    const down = await getMetric('monotonicity').evaluate(input([x], [[1, 2, 3, 4]], [0]), { score: model([1, -1, 1, 1]) }, { softmax: false });
    expect(Array.from(down.curves![0]!)).toEqual([2, 1, 3, 6]);
    expect(down.scores[0]).toBe(0);
  });
});

describe('patch-based faithfulness', () => {
  const x = [[1, 2, 3, 4]];
  it('region-perturbation: f(x) − f(x̃) under cumulative patch removal; overlapping patches are skipped', async () => {
    const m = getMetric('region-perturbation');
    const r1 = await m.evaluate(img(x, [[4, 3, 2, 1]], [0]), { score: model([1, 1, 1, 1]) }, { ...logits, patchSize: 1 });
    expect(Array.from(r1.curves![0]!)).toEqual([0, 1, 3, 6]);
    expect(r1.scores[0]).toBe(7);
    const r2 = await m.evaluate(img(x, [[4, 3, 2, 1]], [0]), { score: model([1, 1, 1, 1]) }, { ...logits, patchSize: 2 });
    expect(Array.from(r2.curves![0]!)).toEqual([6]);
    const lerf = await m.evaluate(img(x, [[4, 3, 2, 1]], [0]), { score: model([1, 1, 1, 1]) }, { ...logits, patchSize: 1, order: 'lerf' });
    expect(Array.from(lerf.curves![0]!)).toEqual([3, 5, 6, 6]);
    await expect(m.evaluate(img(x, [[4, 3, 2, 1]], [0]), { score: model([1, 1, 1, 1]) }, { patchSize: 3 })).rejects.toMatchObject({ name: 'InvalidArgumentError' });
  });
  it('region-perturbation (Quantus 0.6): the image padded to a multiple of the patch, half before, cut into blocks', async () => {
    // 5×5, patch 4: one row/column of padding before, two after → 2×2 blocks; block (1, 1) covers rows/cols 3–4.
    const a = new Array(25).fill(0);
    a[3 * 5 + 3] = 5;
    const x25 = Array.from({ length: 25 }, (_, j) => j + 1);
    const r = await getMetric('region-perturbation').evaluate(input([x25], [a], [0], undefined, [1, 5, 5]), { score: model(new Array(25).fill(1)) }, { ...logits, patchSize: 4, regionsEvaluation: 1 });
    // x 19, 20, 24, 25 → the black baseline 1: f drops by 88 − 4.
    expect(Array.from(r.curves![0]!)).toEqual([84]);
  });
  it("region-perturbation takes a 'mean' baseline from the edge-padded image as perturbed so far", async () => {
    // x = 1, 2, 3, 4 in one row, patch 3: padded by one column (and row) each side, edge copies: [1, 1, 2, 3, 4, 4].
    const row = input(x, [[0, 0, 5, 1]], [0], undefined, [1, 1, 4]);
    const r = await getMetric('region-perturbation').evaluate(row, { score: model([1, 1, 1, 1]) }, { softmax: false, normalise: 'none', patchSize: 3, regionsEvaluation: 2, baseline: 'mean' });
    // block 1 (x 3, 4 and a padding column) first, set to mean(1, 1, 2, 3, 4, 4) = 2.5: f 10 → 8; then block 0 to
    // the mean of the padded row [1, 1, 2, 2.5, 2.5, 2.5] = 11.5/6: f → 2·11.5/6 + 5.
    const c = r.curves![0]!;
    expect(c[0]).toBeCloseTo(2, 6);
    expect(c[1]).toBeCloseTo(10 - (2 * 11.5) / 6 - 5, 5);
  });
  it("accepts Quantus' parameter names: snake_case, perturb_baseline, n_perturb_samples, perturb_patch_sizes as a list", async () => {
    const score = model([1, 1, 1, 1]);
    const pf = await getMetric('pixel-flipping').evaluate(img(x, [[4, 3, 2, 1]], [0]), { score }, { softmax: false, normalise: 'none', features_in_step: 2, perturb_baseline: 'black' });
    expect(Array.from(pf.curves![0]!)).toEqual([9, 4]);
    const inf = await getMetric('infidelity').evaluate(img(x, [[4, 3, 2, 1]], [0]), { score, seed: 1 }, { n_perturb_samples: 3, perturb_patch_sizes: [1, 2] } as never);
    expect(Number.isFinite(inf.scores[0])).toBe(true);
    await expect(getMetric('pixel-flipping').evaluate(img(x, [[4, 3, 2, 1]], [0]), { score }, { perturb_baselin: 'black' })).rejects.toMatchObject({ name: 'InvalidArgumentError' });
  });
  it('summed-area patch sums equal direct sums', async () => {
    const { summedArea, rectSum, patchIndices } = await import('../../src/metrics/core/spatial.js');
    const l = { C: 2, H: 3, W: 5 };
    const a = Array.from({ length: 30 }, (_, j) => Math.sin(j * 1.7));
    const t = summedArea(a, l);
    for (const p of [{ r0: 0, r1: 3, c0: 0, c1: 5 }, { r0: 1, r1: 3, c0: 2, c1: 4 }, { r0: 2, r1: 3, c0: 4, c1: 5 }]) {
      expect(rectSum(t, l.W, p)).toBeCloseTo(patchIndices(l, p).reduce((s, j) => s + a[j]!, 0), 12);
    }
  });
  it('selectivity: f(x̃) under cumulative grid-patch removal', async () => {
    const r = await getMetric('selectivity').evaluate(img(x, [[4, 3, 2, 1]], [0]), { score: model([1, 1, 1, 1]) }, { ...logits, patchSize: 1 });
    expect(Array.from(r.curves![0]!)).toEqual([10, 9, 7, 4]);
    expect(r.scores[0]).toBe(23);
  });
  it('infidelity is 0 for the gradient of a linear model and the mean squared error otherwise', async () => {
    const m = getMetric('infidelity');
    const w = [1, 1, 1, 1];
    const exact = await m.evaluate(img(x, [w], [0]), { score: model(w) }, { patchSizes: '1', nrSamples: 2 });
    expect(exact.scores[0]).toBeCloseTo(0, 10);
    const doubled = await m.evaluate(img(x, [[2, 2, 2, 2]], [0]), { score: model(w) }, { patchSizes: '1', nrSamples: 1 });
    // prediction changes 0, 1, 3, 6; the attribution predicts twice that
    expect(doubled.scores[0]).toBeCloseTo((0 + 1 + 9 + 36) / 4, 10);
    await expect(m.evaluate(img(x, [w], [0]), { score: model(w) }, { patchSizes: '1,x' })).rejects.toMatchObject({ name: 'InvalidArgumentError' });
  });
});

describe('irof', () => {
  it('SLIC separates two flat halves and gives one segment per pixel at full resolution', () => {
    const x = Float32Array.from([0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
    // value beats position at low compactness: pixel 7 (value 1) joins the lower segment
    const two = slic(x, { C: 1, H: 4, W: 4 }, 2, 0.01, 10);
    expect(Array.from(two)).toEqual([0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
    const each = slic(x, { C: 1, H: 4, W: 4 }, 16, 10, 5);
    expect(new Set(each).size).toBe(16);
  });
  it('is len − AUC of f(x̃)/f(x) with softmax scores, removing segments by mean attribution', async () => {
    const sig = (z: number) => 1 / (1 + Math.exp(-z));
    const r = await getMetric('irof').evaluate(img([[1, 2, 3, 4]], [[4, 3, 2, 1]], [0]), { score: model([1, 1, 1, 1]) }, { nSegments: 4, compactness: 100 });
    // mean baseline 2.5; pixel segments removed in order 0, 1, 2, 3
    const logitsAfter = [11.5, 12, 11.5, 10];
    const curve = logitsAfter.map((z) => sig(z) / sig(10));
    curve.forEach((v, t) => expect(r.curves![0]![t]).toBeCloseTo(v, 6));
    const auc = (curve[0]! + curve[1]!) / 2 + (curve[1]! + curve[2]!) / 2 + (curve[2]! + curve[3]!) / 2;
    expect(r.scores[0]).toBeCloseTo(4 - auc, 6);
  });
});

describe('road', () => {
  it('noisy linear imputation reproduces a linear ramp and a constant exactly (noise 0)', () => {
    const ramp = Float32Array.from({ length: 25 }, (_, p) => Math.floor(p / 5) + (p % 5));
    const removed = new Uint8Array(25);
    for (const p of [6, 7, 12, 18]) removed[p] = 1;
    const x = Float32Array.from(ramp);
    for (const p of [6, 7, 12, 18]) x[p] = -100;
    noisyLinearImputation(x, { C: 1, H: 5, W: 5 }, removed, 0, mulberry32(0));
    for (let p = 0; p < 25; p++) expect(x[p]).toBeCloseTo(ramp[p]!, 4);
  });
  it('solves the imputation system: every imputed pixel is the weighted mean of its neighbours, also in a large hole', () => {
    const H = 30;
    const W = 30;
    const x = Float32Array.from({ length: H * W }, (_, p) => Math.sin(p / 7) + (p % W) / 10);
    const removed = new Uint8Array(H * W);
    for (let r = 3; r < 25; r++) for (let q = 5; q < 28; q++) removed[r * W + q] = 1;
    removed[0] = 1; // a corner pixel: fewer neighbours
    noisyLinearImputation(x, { C: 1, H, W }, removed, 0, mulberry32(0));
    let worst = 0;
    for (let p = 0; p < H * W; p++) {
      if (!removed[p]) continue;
      const r = Math.floor(p / W);
      const q = p % W;
      let s = 0;
      let w = 0;
      for (let dr = -1; dr <= 1; dr++) for (let dq = -1; dq <= 1; dq++) {
        if ((dr === 0 && dq === 0) || r + dr < 0 || r + dr >= H || q + dq < 0 || q + dq >= W) continue;
        const wt = dr === 0 || dq === 0 ? 1 / 6 : 1 / 12;
        s += wt * x[(r + dr) * W + q + dq]!;
        w += wt;
      }
      worst = Math.max(worst, Math.abs(x[p]! - s / w));
    }
    expect(worst).toBeLessThan(1e-5);
  });
  it('curve: does the prediction survive imputing the top p%', async () => {
    // logit0 = x0, logit1 = 0.5
    const score = linearScore([[1, 0], [0, 0], [0, 0], [0, 0]]);
    const biased = async (x: Float32Array, shape: readonly number[]) => {
      const out = await score(x, shape);
      for (let i = 1; i < out.length; i += 2) out[i] = 0.5;
      return out;
    };
    const inp = img([[1, 0, 0, 0], [1, 0, 0, 0]], [[1, 0, 0, 0], [0, 0, 0, 1]], [0, 0]);
    const r = await getMetric('road').evaluate(inp, { score: biased }, { noise: 0, percentStart: 25, percentStep: 50 });
    expect(Array.from(r.curves![0]!)).toEqual([0, 0]);
    expect(Array.from(r.curves![1]!)).toEqual([1, 0]);
    expect(Array.from(r.scores)).toEqual([0, 0.5]);
  });
});

describe('sufficiency', () => {
  it('share of close explanations with the same prediction; NaN without a close neighbour', async () => {
    const score = linearScore([[1, 0], [0, 1]]);
    const inp = input([[1, 0], [2, 1], [0, 1]], [[1, 0], [1, 0.1], [0, 5]], [0, 0, 1]);
    const r = await getMetric('sufficiency').evaluate(inp, { score });
    expect(r.scores[0]).toBe(1);
    expect(r.scores[1]).toBe(1);
    expect(r.scores[2]).toBeNaN();
    expect(r.reasons![2]).toMatch(/similar/);
    const inp2 = input([[1, 0], [0, 2], [0, 1]], [[1, 0], [1, 0.1], [0, 5]], [0, 0, 1]);
    const r2 = await getMetric('sufficiency').evaluate(inp2, { score });
    expect(r2.scores[0]).toBe(0);
  });
});
