import { describe, expect, it } from 'vitest';
import { getMetric } from '../../src/metrics/index.js';
import type { ExplainFn, ModelHandle } from '../../src/metrics/types.js';
import { parameterisedLayers, randomiseLayers } from '../../src/weight-surgery/randomise-layers.js';
import { histogramEntropy } from '../../src/metrics/randomisation/efficient-mprt.js';
import { spearman, ssim } from '../../src/metrics/core/stats.js';
import type { ModelProto } from '../../src/onnx/model.js';
import { readModel } from '../../src/onnx/file.js';
import { decodeTensor } from '../../src/onnx/tensor.js';
import { toFloat32 } from '../../src/io/npy.js';
import { readNpy } from '../../src/io/npy-file.js';
import { input, linearExplain, linearScore, ortHandle } from './helpers.js';

const LINEAR = 'test/fixtures/metrics-conformance/models/linear.onnx';
const MLP = 'test/fixtures/conformance/models/mlp.onnx';

function weightsOf(m: ModelProto, name: string): Float32Array {
  return decodeTensor(m.graph!.initializer.find((t) => t.name === name)!).data as Float32Array;
}

describe('ONNX weight randomisation', () => {
  it('lists parameterised layers in graph order (unnamed nodes by op and index)', async () => {
    expect(parameterisedLayers(await readModel(MLP))).toEqual(['/0/Gemm', '/2/Gemm', '/4/Gemm']);
    expect(parameterisedLayers(await readModel(LINEAR))).toEqual(['MatMul_1']);
  });
  it('re-initialises exactly the named layers with U(±1/√fan_in), reproducibly and per layer', async () => {
    const m = await readModel(MLP);
    const before = Float32Array.from(weightsOf(m, '0.weight'));
    const r = randomiseLayers(m, ['/2/Gemm'], 7);
    expect(Array.from(weightsOf(m, '0.weight'))).toEqual(Array.from(before)); // input untouched
    expect(Array.from(weightsOf(r, '0.weight'))).toEqual(Array.from(weightsOf(m, '0.weight')));
    expect(Array.from(weightsOf(r, '4.weight'))).toEqual(Array.from(weightsOf(m, '4.weight')));
    const w = weightsOf(r, '2.weight');
    expect(Array.from(w)).not.toEqual(Array.from(weightsOf(m, '2.weight')));
    const bound = 1 / Math.sqrt(32);
    expect(Math.max(...Array.from(w, Math.abs))).toBeLessThanOrEqual(bound);
    expect(Math.max(...Array.from(w, Math.abs))).toBeGreaterThan(bound * 0.9);
    expect(Math.max(...Array.from(weightsOf(r, '2.bias'), Math.abs))).toBeLessThanOrEqual(bound);
    // same seed, same weights — also when other layers are randomised with it (cascading stays consistent)
    const r2 = randomiseLayers(m, ['/4/Gemm', '/2/Gemm'], 7);
    expect(Array.from(weightsOf(r2, '2.weight'))).toEqual(Array.from(w));
    expect(Array.from(weightsOf(randomiseLayers(m, ['/2/Gemm'], 8), '2.weight'))).not.toEqual(Array.from(w));
    // first layer: Gemm with transB, fan_in = 16
    const first = weightsOf(randomiseLayers(m, ['/0/Gemm'], 1), '0.weight');
    expect(Math.max(...Array.from(first, Math.abs))).toBeLessThanOrEqual(1 / 4);
    expect(Math.max(...Array.from(first, Math.abs))).toBeGreaterThan(1 / Math.sqrt(32));
  });
  it('Conv weights use fan_in = C_in · k_h · k_w', async () => {
    const m = await readModel('test/fixtures/conformance/models/vggish.onnx');
    expect(parameterisedLayers(m)).toEqual(['/0/Conv', '/3/Conv', '/6/Conv', '/10/Gemm', '/12/Gemm']);
    const r = randomiseLayers(m, ['/3/Conv'], 3);
    const w = weightsOf(r, '3.weight');
    const bound = 1 / Math.sqrt(16 * 9);
    expect(Math.max(...Array.from(w, Math.abs))).toBeLessThanOrEqual(bound);
    expect(Math.max(...Array.from(w, Math.abs))).toBeGreaterThan(bound * 0.95);
    expect(Array.from(weightsOf(r, '6.weight'))).toEqual(Array.from(weightsOf(m, '6.weight')));
  });
  it('rejects unknown layer names', async () => {
    const m = await readModel(LINEAR);
    expect(() => randomiseLayers(m, ['nope'], 1)).toThrow(/no parameterised layer named 'nope'.*/);
  });
});

describe('mprt on ONNX Runtime', () => {
  it('equals the Spearman correlation of |x ⊙ W[:, y]| with |x ⊙ W_random[:, y]| for the linear model', async () => {
    const model = await readModel(LINEAR);
    const handle = await ortHandle(model);
    const x = toFloat32(await readNpy('test/fixtures/metrics-conformance/data/x.npy'));
    const y = Int32Array.from([0, 2]);
    const a = await handle.explain(x, [2, 1, 8, 8], y);
    const r = await getMetric('mprt').evaluate({ x, shape: [2, 1, 8, 8], y, a }, { model: handle });
    const W = weightsOf(model, 'W');
    const Wr = weightsOf(randomiseLayers(model, ['MatMul_1'], 42), 'W');
    for (let i = 0; i < 2; i++) {
      const xs = x.subarray(i * 64, (i + 1) * 64);
      const e0 = Array.from(xs, (v, j) => Math.abs(v * W[j * 3 + y[i]!]!));
      const e1 = Array.from(xs, (v, j) => Math.abs(v * Wr[j * 3 + y[i]!]!));
      expect(r.scores[i]).toBeCloseTo(spearman(e0, e1), 5);
      expect(r.curves![i]!.length).toBe(1);
    }
    await expect(getMetric('mprt').evaluate({ x, shape: [2, 1, 8, 8], y, a }, {})).rejects.toMatchObject({ name: 'InvalidArgumentError', message: expect.stringMatching(/ModelHandle/) });
  });
});

/** A scripted handle: explanation = x · (1 + number of randomised layers); records the randomisations asked for. */
function fakeHandle(asked: string[][], randomisedCount = 0): ModelHandle & { calls: number } {
  const h = {
    calls: 0,
    layers: ['L1', 'L2', 'L3'],
    score: linearScore([[1, 0], [0, 1], [1, 1], [0, 0]]),
    explain: (async (x) => {
      h.calls++;
      return Float32Array.from(x, (v, j) => (randomisedCount === 0 ? v : ((j * 7919 * (randomisedCount + 1)) % 13) - 6));
    }) as ExplainFn,
    randomised: async (layers: readonly string[]) => {
      asked.push([...layers]);
      const child = fakeHandle(asked, layers.length);
      child.explain = (async (x, s, t) => {
        h.calls++;
        return (fakeHandle([], layers.length).explain as ExplainFn)(x, s, t);
      }) as ExplainFn;
      return child;
    },
  };
  return h;
}

describe('layer orders and batching of the randomisation metrics', () => {
  const inp = input([[1, 2, 3, 4], [4, 3, 2, 1], [1, 0, 0, 1]], [[1, 2, 3, 4], [4, 3, 2, 1], [1, 0, 0, 1]], [0, 1, 0]);
  it('top-down randomises cumulatively from the output, independent one layer at a time; one ExplainFn call per step', async () => {
    const asked: string[][] = [];
    const h = fakeHandle(asked);
    const r = await getMetric('mprt').evaluate(inp, { model: h });
    expect(asked).toEqual([['L3'], ['L3', 'L2'], ['L3', 'L2', 'L1']]);
    expect(h.calls).toBe(3);
    expect(r.curves![0]!.length).toBe(3);
    expect(r.scores[0]).toBeCloseTo((r.curves![0]![0]! + r.curves![0]![1]! + r.curves![0]![2]!) / 3, 12);
    const last = await getMetric('mprt').evaluate(inp, { model: fakeHandle([]) }, { return: 'last' });
    expect(last.scores[0]).toBe(r.curves![0]![2]);
    const ind: string[][] = [];
    await getMetric('mprt').evaluate(inp, { model: fakeHandle(ind) }, { layerOrder: 'independent' });
    expect(ind).toEqual([['L1'], ['L2'], ['L3']]);
    const bu: string[][] = [];
    await getMetric('mprt').evaluate(inp, { model: fakeHandle(bu) }, { layer_order: 'bottom-up' });
    expect(bu).toEqual([['L1'], ['L1', 'L2'], ['L1', 'L2', 'L3']]);
  });
  it('smooth-mprt explains nrSamples noisy copies per sample, original model included, in batches', async () => {
    const h = fakeHandle([]);
    await getMetric('smooth-mprt').evaluate(inp, { model: h, batchSize: 8 }, { nrSamples: 5 });
    // 4 explanation sets (original + 3 steps) × ceil(15 / 8) calls
    expect(h.calls).toBe(4 * 2);
  });
  it('efficient-mprt is the entropy ratio of randomised to original explanations', async () => {
    expect(histogramEntropy([0, 1, 2, 3], 4)).toBeCloseTo(Math.log(4), 12);
    expect(histogramEntropy([5, 5, 5], 10)).toBe(0);
    const asked: string[][] = [];
    const one = input([[1, 0, 0, 0]], [[1, 0, 0, 0]], [0]);
    const h = fakeHandle(asked);
    h.randomised = async () => {
      asked.push(['all']);
      return { ...fakeHandle([]), explain: (async () => Float32Array.from([0, 1, 2, 3])) as ExplainFn };
    };
    const r = await getMetric('efficient-mprt').evaluate(one, { model: h }, { nBins: 4 });
    const h0 = -(0.25 * Math.log(0.25) + 0.75 * Math.log(0.75));
    expect(r.scores[0]).toBeCloseTo(Math.log(4) / h0, 10);
    expect(asked).toEqual([['all']]);
  });
});

describe('random-logit', () => {
  it('compares with the explanation of another class (the only other one of two)', async () => {
    const W = [[1, 4], [1, 3], [1, 2], [1, 1]];
    const inp = input([[1, 2, 3, 4]], [[1, 2, 3, 4]], [0]);
    const r = await getMetric('random-logit').evaluate(inp, { explain: linearExplain(W), score: linearScore(W) }, { similarity: 'pearson' });
    // a' = x ⊙ W[:, 1] = [4, 6, 6, 4]: uncorrelated with [1, 2, 3, 4]
    expect(r.scores[0]).toBeCloseTo(0, 12);
    const same = await getMetric('random-logit').evaluate(input([[1, 2, 3, 4]], [[1, 2, 3, 4]], [0]), { explain: linearExplain([[1, 1], [1, 1], [1, 1], [1, 1]]), score: linearScore(W) }, { similarity: 'pearson' });
    expect(same.scores[0]).toBeCloseTo(1, 12);
  });
  it('SSIM is 1 for identical maps, symmetric, below 1 otherwise', () => {
    const a = Array.from({ length: 20 }, (_, i) => Math.sin(i));
    const b = a.map((v, i) => v * (1 + i / 20));
    expect(ssim(a, a)).toBeCloseTo(1, 12);
    expect(ssim(a, b)).toBeCloseTo(ssim(b, a), 12);
    expect(ssim(a, b)).toBeLessThan(1);
    // 7 values, window 7: one window, the global formula with sample (co)variances
    const u = [0, 1, 2, 3, 4, 5, 6];
    const v = u.map((t) => 2 * t);
    const C1 = (0.01 * 12) ** 2;
    const C2 = (0.03 * 12) ** 2;
    const vx = 28 / 6;
    expect(ssim(u, v)).toBeCloseTo(((2 * 3 * 6 + C1) * (2 * 2 * vx + C2)) / ((9 + 36 + C1) * (vx + 4 * vx + C2)), 12);
  });
});
