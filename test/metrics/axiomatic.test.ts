import { describe, expect, it } from 'vitest';
import { getMetric } from '../../src/metrics/index.js';
import type { ExplainFn } from '../../src/metrics/types.js';
import { input, linearExplain, linearScore } from './helpers.js';

describe('completeness', () => {
  const w = [[1], [-2], [0.5], [3]];
  const x = [2, 3, 5, 7];
  // black baseline = min x = 2, so f(x) − f(x̄) = Σ (x − 2)·w = 0 − 2 + 1.5 + 15 = 14.5
  it('holds for attributions that sum to f(x) − f(baseline), within the tolerance, and fails otherwise', async () => {
    const exact = x.map((v, j) => (v - 2) * w[j]![0]!);
    const gxi = x.map((v, j) => v * w[j]![0]!); // Σ = 2 − 6 + 2.5 + 21 = 19.5
    const near = exact.map((v) => v * 1.005);
    const r = await getMetric('completeness').evaluate(input([x, x, x], [exact, gxi, near], [0, 0, 0]), { score: linearScore(w) });
    expect(Array.from(r.scores)).toEqual([1, 0, 1]);
    expect(r.curves![1]![0]).toBeCloseTo(19.5, 5);
    expect(r.curves![1]![1]).toBeCloseTo(14.5, 5);
    const strict = await getMetric('completeness').evaluate(input([x], [near], [0]), { score: linearScore(w) }, { tolerance: 1e-4 });
    expect(strict.scores[0]).toBe(0);
  });
});

describe('non-sensitivity', () => {
  it('counts features where zero attribution and zero output sensitivity disagree; batches the perturbations', async () => {
    const score = linearScore([[1], [0], [2], [0]]);
    const r = await getMetric('non-sensitivity').evaluate(input([[1, 2, 3, 4]], [[1, 0, 0, 0]], [0]), { score, seed: 2 }, { nrSamples: 5, softmax: false });
    // feature 2 moves the output but has no attribution
    expect(r.scores[0]).toBe(1);
    expect(r.curves![0]![1]).toBe(0);
    expect(r.curves![0]![2]).toBeGreaterThan(0);
    expect(score.inputs).toBe(20);
    expect(score.calls).toBe(1);
    const ok = await getMetric('non-sensitivity').evaluate(input([[1, 2, 3, 4]], [[1, 0, 5, 0]], [0]), { score }, { nrSamples: 5, softmax: false });
    expect(ok.scores[0]).toBe(0);
  });
});

describe('input-invariance', () => {
  it('1 for an explanation that ignores a constant shift (the gradient of a linear model), 0 for gradient × input', async () => {
    const W = [[1], [2], [3]];
    const gradient: ExplainFn = async (x, shape, t) => Float32Array.from({ length: x.length }, (_, k) => W[k % 3]![t[Math.floor(k / 3)]!]!);
    const inp = input([[1, 2, 3]], [[1, 2, 3]], [0]);
    expect((await getMetric('input-invariance').evaluate(inp, { explain: gradient })).scores[0]).toBe(1);
    const gxi = input([[1, 2, 3]], [[1, 4, 9]], [0]);
    const r = await getMetric('input-invariance').evaluate(gxi, { explain: linearExplain(W) });
    expect(r.scores[0]).toBe(0);
    // a(x − 1) = [0, 2, 6]: largest change 3 relative to max |a| = 9
    expect(r.curves![0]![0]).toBeCloseTo(3 / 9, 6);
  });
});

describe('input-invariance with a shift-compensated model (Kindermans et al.)', () => {
  it('compensateInputShift: f′(x + shift) = f(x) for a Gemm with bias and a MatMul without', async () => {
    const { compensateInputShift } = await import('../../src/weight-surgery/input-shift.js');
    const { readModel } = await import('../../src/onnx/file.js');
    const { ModelExplainer } = await import('../../src/methods/explainer.js');
    for (const [file, dims] of [['test/fixtures/conformance/models/mlp.onnx', [3, 16]], ['test/fixtures/metrics-conformance/models/linear.onnx', [2, 1, 8, 8]]] as const) {
      const m = await readModel(file);
      const size = dims.reduce((a, b) => a * b, 1);
      const x = Float32Array.from({ length: size }, (_, i) => Math.sin(i));
      const shifted = Float32Array.from(x, (v) => v - 1);
      const f = await (await ModelExplainer.load(m)).scores({ data: x, dims: [...dims] });
      const g = await (await ModelExplainer.load(compensateInputShift(m, -1))).scores({ data: shifted, dims: [...dims] });
      const plain = await (await ModelExplainer.load(m)).scores({ data: shifted, dims: [...dims] });
      for (let i = 0; i < f.data.length; i++) expect(g.data[i]).toBeCloseTo(f.data[i]!, 4);
      expect(Math.max(...Array.from(plain.data, (v, i) => Math.abs(v - f.data[i]!)))).toBeGreaterThan(1e-2);
    }
  });
  it('rejects a padded first convolution', async () => {
    const { compensateInputShift } = await import('../../src/weight-surgery/input-shift.js');
    const { readModel } = await import('../../src/onnx/file.js');
    const vgg = await readModel('test/fixtures/conformance/models/vggish.onnx');
    expect(() => compensateInputShift(vgg, -1)).toThrow(/padded convolution/);
  });
  it('the gradient passes and gradient × input fails on the MLP; without a capable handle compensate is an error', async () => {
    const { readModel } = await import('../../src/onnx/file.js');
    const { ortHandle } = await import('./helpers.js');
    const m = await readModel('test/fixtures/conformance/models/mlp.onnx');
    const x = Float32Array.from({ length: 32 }, (_, i) => Math.cos(i));
    const y = Int32Array.from([0, 2]);
    for (const [method, want] of [['gradient', 1], ['gradient-x-input', 0]] as const) {
      const h = await ortHandle(m, method);
      const a = await h.explain(x, [2, 16], y);
      const r = await getMetric('input-invariance').evaluate({ x, shape: [2, 16], y, a }, { model: h, explain: h.explain }, { compensate: true, tolerance: 1e-4 });
      expect(Array.from(r.scores)).toEqual([want, want]);
    }
    const inp = input([[1, 2, 3]], [[1, 2, 3]], [0]);
    await expect(getMetric('input-invariance').evaluate(inp, { explain: linearExplain([[1], [1], [1]]) }, { compensate: true })).rejects.toMatchObject({ name: 'InvalidArgumentError' });
  });
});
