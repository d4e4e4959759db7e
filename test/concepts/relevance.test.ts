import { describe, expect, it } from 'vitest';
import { CrpExplainer } from '../../src/concepts/crp.js';
import { channelRelevanceRows, conceptRelevance, conceptVectors, rankChannels, subConcepts } from '../../src/concepts/relevance.js';
import type { Composite } from '../../src/composites/index.js';
import { buildModel, floatTensor, makeNode, valueInfo } from '../helpers/onnx.js';

const EPS: Composite = { name: 'eps', entries: [{ match: { kind: 'dense' }, rule: 'epsilon', params: { epsilon: 1e-9 } }] };

/** x = (1, 2) → h1 = (5, 1) → h2 = (6, 9) → y = (6, 9, 15); no biases, so LRP-0 conserves relevance exactly. */
function threeLayers() {
  return buildModel({
    nodes: [makeNode('Gemm', ['x', 'W1'], ['h1'], 'fc1'), makeNode('Gemm', ['h1', 'W2'], ['h2'], 'fc2'), makeNode('Gemm', ['h2', 'W3'], ['y'], 'fc3')],
    initializers: [
      floatTensor('W1', Float32Array.of(1, -1, 2, 1), [2, 2]),
      floatTensor('W2', Float32Array.of(1, 2, 1, -1), [2, 2]),
      floatTensor('W3', Float32Array.of(1, 0, 1, 0, 1, 1), [2, 3]),
    ],
    inputs: [valueInfo('x', ['N', 2])],
    outputs: [valueInfo('y', ['N', 3])],
  });
}
const x = { data: Float32Array.of(1, 2), dims: [1, 2] };

describe('rankChannels', () => {
  it('sorts by relevance (ties by channel) with shares of Σ|r|', () => {
    const r = rankChannels([1, -3, 4, 1]);
    expect(r.total).toBe(3);
    expect(r.channels.map((c) => c.channel)).toEqual([2, 0, 3, 1]);
    expect(r.channels.map((c) => c.share)).toEqual([4 / 9, 1 / 9, 1 / 9, -3 / 9]);
    expect(rankChannels([0, 0]).channels.map((c) => c.share)).toEqual([0, 0]);
  });
});

describe('conceptRelevance', () => {
  it('hand values: h2 carries (6, 9); the channels sum to the layer total, which is the target logit 15', async () => {
    const crp = await CrpExplainer.load(threeLayers());
    const r = await conceptRelevance(crp, x, 'h2', { target: 'pred', composite: EPS });
    expect(r.target).toBe(2);
    expect(Array.from(r.vector)).toEqual([expect.closeTo(6, 4), expect.closeTo(9, 4)]);
    expect(r.channels.map((c) => c.channel)).toEqual([1, 0]);
    expect(r.channels[0]!.share).toBeCloseTo(0.6, 5);
    expect(r.total).toBeCloseTo(15, 4);
    expect(r.channels.reduce((s, c) => s + c.relevance, 0)).toBeCloseTo(r.total, 5);
  });
});

describe('subConcepts (attribution graph)', () => {
  it('hand values: concept h2[1] = 9 splits into h1 as (10, −1), h2[0] = 6 as (5, 1); each sums to its concept, in one run', async () => {
    const crp = await CrpExplainer.load(threeLayers());
    const [c1, c0] = await subConcepts(crp, x, 'h2', [1, 0], 'h1', { target: 2, composite: EPS });
    expect(c1!.relevance).toBeCloseTo(9, 4);
    expect(Array.from(c1!.vector)).toEqual([expect.closeTo(10, 4), expect.closeTo(-1, 4)]);
    expect(c1!.total).toBeCloseTo(c1!.relevance, 4);
    expect(c0!.relevance).toBeCloseTo(6, 4);
    expect(Array.from(c0!.vector)).toEqual([expect.closeTo(5, 4), expect.closeTo(1, 4)]);
    expect(c0!.total).toBeCloseTo(c0!.relevance, 4);
    expect(c1!.channels.map((c) => c.channel)).toEqual([0, 1]);
  });

  it('conserves on a CNN: with biases zeroed and LRP-0, the sub-concepts of /6 in /3 of vggish sum to each concept', async () => {
    const { readNpy } = await import('../../src/io/npy-file.js');
    const { toFloat32 } = await import('../../src/io/npy.js');
    const { readModel } = await import('../../src/onnx/file.js');
    const model = await readModel('test/fixtures/crp-conformance/models/vggish.onnx');
    // Biases absorb relevance; without them every layer between /3 and /6 conserves it exactly.
    for (const t of model.graph!.initializer) if (t.name.endsWith('.bias')) t.rawData = new Uint8Array(t.rawData.length);
    const crp = await CrpExplainer.load(model);
    const xv = await readNpy('test/fixtures/crp-conformance/inputs/vggish.npy');
    const lrp0: Composite = { name: 'lrp0', entries: [{ match: { kind: ['conv', 'dense'] }, rule: 'epsilon', params: { epsilon: 1e-9 } }] };
    const input = { data: toFloat32(xv), dims: xv.shape };
    const layer = await conceptRelevance(crp, input, '/6/Conv_output_0', { target: 5, composite: lrp0 });
    const top = layer.channels.slice(0, 3).map((c) => c.channel);
    const subs = await subConcepts(crp, input, '/6/Conv_output_0', top, '/3/Conv_output_0', { target: 5, composite: lrp0 });
    for (const s of subs) {
      expect(s.vector).toHaveLength(32);
      expect(Math.abs(s.relevance)).toBeGreaterThan(1e-3);
      expect(s.relevance).toBeCloseTo(layer.vector[s.channel]!, 5);
      expect(Math.abs(s.total - s.relevance)).toBeLessThan(1e-4 * Math.abs(s.relevance) + 1e-6);
    }
    // With the biases back, the same sums differ: the check can fail.
    const biased = await CrpExplainer.load('test/fixtures/crp-conformance/models/vggish.onnx');
    const [b] = await subConcepts(biased, input, '/6/Conv_output_0', [top[0]!], '/3/Conv_output_0', { target: 5, composite: lrp0 });
    expect(Math.abs(b!.total - b!.relevance)).toBeGreaterThan(1e-3 * Math.abs(b!.relevance));
  });

  it('rejects the same layer and an empty concept list', async () => {
    const crp = await CrpExplainer.load(threeLayers());
    await expect(subConcepts(crp, x, 'h2', [], 'h1')).rejects.toThrow(/no concept channels/);
    await expect(subConcepts(crp, x, 'h2', [0], 'h2')).rejects.toThrow(/must differ/);
    await expect(subConcepts(crp, x, 'h1', [0], 'h2')).rejects.toThrow(/is not below/);
  });
});

describe('channelRelevanceRows / conceptVectors (the batch form PCX uses)', () => {
  it('sums each channel over space per sample; a [N, C] tensor passes through; no channel axis is an error', () => {
    const t = { data: Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, -1, -2, -3, -4, 0, 0, 0, 1]), dims: [2, 2, 2, 2] };
    const r = channelRelevanceRows(t);
    expect([r.n, r.d]).toEqual([2, 2]);
    expect(Array.from(r.data)).toEqual([10, 26, -10, 1]);
    expect(Array.from(channelRelevanceRows({ data: Float32Array.of(1, 2, 3), dims: [1, 3] }).data)).toEqual([1, 2, 3]);
    expect(() => channelRelevanceRows({ data: Float32Array.of(1, 2), dims: [2] })).toThrow(/no channel axis/);
  });

  it('row i of a batched run equals conceptRelevance of input i (the Concepts view and PCX rank the same numbers)', async () => {
    const { readNpy } = await import('../../src/io/npy-file.js');
    const { toFloat32 } = await import('../../src/io/npy.js');
    const { ModelExplainer } = await import('../../src/methods/explainer.js');
    const path = 'test/fixtures/crp-conformance/models/vggish.onnx';
    const xv = await readNpy('test/fixtures/crp-conformance/inputs/vggish.npy');
    const one = toFloat32(xv);
    // A batch of two different inputs: the sample and a shifted, rescaled copy.
    const batch = new Float32Array(one.length * 2);
    batch.set(one);
    batch.set(one.map((v, i) => 0.7 * one[(i + 37) % one.length]! - 0.1 * v), one.length);
    const inputs = { data: batch, dims: [2, ...xv.shape.slice(1)] };
    const layer = '/6/Conv_output_0';
    const cv = await conceptVectors(await ModelExplainer.load(path), inputs, layer, [5, 3], { composite: 'epsilon-plus-flat' });
    expect(cv.targets).toEqual([5, 3]);
    expect(cv.vectors.n).toBe(2);
    const crp = await CrpExplainer.load(path);
    for (const [i, target] of [5, 3].entries()) {
      const single = { data: batch.subarray(i * one.length, (i + 1) * one.length), dims: [1, ...xv.shape.slice(1)] };
      const r = await conceptRelevance(crp, single, layer, { target, composite: 'epsilon-plus-flat' });
      expect(cv.vectors.d).toBe(r.vector.length);
      const row = cv.vectors.data.subarray(i * cv.vectors.d, (i + 1) * cv.vectors.d);
      const scale = Math.max(...Array.from(r.vector, Math.abs));
      expect(scale).toBeGreaterThan(1e-6);
      for (let c = 0; c < r.vector.length; c++) expect(Math.abs(row[c]! - r.vector[c]!)).toBeLessThan(1e-4 * scale);
    }
    // The two inputs' vectors differ: the comparison above is not of two constant rows.
    const d = cv.vectors.d;
    expect(Array.from(cv.vectors.data.subarray(0, d))).not.toEqual(Array.from(cv.vectors.data.subarray(d, 2 * d)));
  });
});
