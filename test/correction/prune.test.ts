/**
 * Structured pruning (weight-surgery/prune-channels.ts) against the original model with the same channels zeroed,
 * the criteria, and the done-when figure on the MNIST CNN: relevance pruning within 1 point where magnitude pruning
 * lost more.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { ModelProto } from 'onnx-buf';
import { pruneChannels, sliceAxis } from '../../src/weight-surgery/prune-channels.js';
import { artefactChannelScores, channelRelevance, convLayers, convOf, filterMagnitudes, lowestChannels, pruningCurve } from '../../src/correction/prune.js';
import { ModelExplainer } from '../../src/methods/explainer.js';
import { readModel } from '../../src/onnx/file.js';
import { cloneModel, serializeModel } from '../../src/onnx/model.js';
import { decodeTensor, floatTensor as ft } from '../../src/onnx/tensor.js';
import { createSession } from '../../src/runtime/session.js';
import { inspectModel } from '../../src/compiler/inspect.js';
import { namedComposite } from '../../src/composites/index.js';
import { loadMnist, type Mnist } from '../../examples/clever-hans/findings.js';
import { accuracy, MODEL, referenceSet, testSet } from '../../examples/mnist/pruning.js';
import { buildModel, floatTensor, makeNode, runModel, uniform, rng, valueInfo } from '../helpers/onnx.js';

let model: ModelProto;
let data: Mnist;

beforeAll(async () => {
  model = await readModel(MODEL);
  data = await loadMnist();
}, 60_000);

/** The model with the given conv output channels' filters and biases set to zero. */
function zeroed(m: ModelProto, remove: Record<string, number[]>): ModelProto {
  const c = cloneModel(m);
  for (const [node, chans] of Object.entries(remove)) {
    const conv = c.graph!.node.find((n) => n.name === node)!;
    for (const i of [1, 2]) {
      const t = c.graph!.initializer.find((x) => x.name === conv.input[i])!;
      const d = decodeTensor(t);
      const data = Float32Array.from(d.data as Float32Array);
      const per = data.length / Number(d.dims[0]);
      for (const ch of chans) data.fill(0, ch * per, (ch + 1) * per);
      c.graph!.initializer = c.graph!.initializer.map((x) => (x.name === t.name ? ft(t.name, data, d.dims.map(Number)) : x));
    }
  }
  return c;
}

describe('pruneChannels', () => {
  it('removes channels of both convolutions and computes what the model with those channels zeroed computes', async () => {
    const remove = { '/conv1/Conv': [0, 5, 9], '/conv2/Conv': [1, 2, 30] };
    const r = pruneChannels(model, remove);
    expect(r.layers.map((l) => [l.node, l.kept.length])).toEqual([['/conv1/Conv', 13], ['/conv2/Conv', 29]]);
    // conv1 3×(9+1) + conv2 3×(16·9+1) + its input slice 32·3·9 (now 29 rows) + fc1 3·49·64.
    expect(r.parametersBefore - r.parametersAfter).toBe(3 * 10 + 3 * 145 + 29 * 3 * 9 + 3 * 49 * 64);
    const x = testSet(data, 64).inputs;
    const a = (await runModel(r.model, { input: { data: x.data as Float32Array, dims: x.dims } })).logits!;
    const b = (await runModel(zeroed(model, remove), { input: { data: x.data as Float32Array, dims: x.dims } })).logits!;
    for (let i = 0; i < a.data.length; i++) expect(a.data[i]).toBeCloseTo(b.data[i]!, 4);
    await createSession(serializeModel(r.model));
    expect(inspectModel(r.model, namedComposite('epsilon-plus-flat')).unsupported).toEqual([]);
    expect(serializeModel(r.model).length).toBeLessThan(serializeModel(model).length * 0.9);
  });

  it('slices BatchNormalization and refuses a residual Add by node name', async () => {
    const W = uniform(rng(2), 4 * 2 * 9);
    const bn = (n: string, v: number[]) => floatTensor(n, Float32Array.from(v), [4]);
    const m = buildModel({
      nodes: [
        makeNode('Conv', ['x', 'W'], ['c'], 'conv', { pads: { ints: [1, 1, 1, 1] } }),
        makeNode('BatchNormalization', ['c', 's', 'b', 'm', 'v'], ['n'], 'bn'),
        makeNode('Relu', ['n'], ['r'], 'relu'),
        makeNode('GlobalAveragePool', ['r'], ['g'], 'gap'),
        makeNode('Flatten', ['g'], ['f'], 'flat'),
        makeNode('Gemm', ['f', 'D'], ['y'], 'fc', { transB: { int: 1 } }),
      ],
      initializers: [floatTensor('W', W, [4, 2, 3, 3]), bn('s', [1, 2, 3, 4]), bn('b', [0.1, 0.2, 0.3, 0.4]), bn('m', [0, 0.1, 0, 0.1]), bn('v', [1, 1, 2, 2]), floatTensor('D', uniform(rng(3), 12), [3, 4])],
      inputs: [valueInfo('x', ['N', 2, 5, 5])],
      outputs: [valueInfo('y', ['N', 3])],
    });
    const r = pruneChannels(m, { conv: [2] });
    const x = uniform(rng(4), 2 * 50);
    const a = (await runModel(r.model, { x: { data: x, dims: [2, 2, 5, 5] } })).y!;
    // Reference: the BN output of channel 2 forced to zero is what removing it means downstream.
    const ref = cloneModel(m);
    ref.graph!.initializer = ref.graph!.initializer.map((t) => (t.name === 'D' ? ft('D', Float32Array.from(decodeTensor(t).data as Float32Array, (v, i) => (i % 4 === 2 ? 0 : v)), [3, 4]) : t));
    const b = (await runModel(ref, { x: { data: x, dims: [2, 2, 5, 5] } })).y!;
    for (let i = 0; i < a.data.length; i++) expect(a.data[i]).toBeCloseTo(b.data[i]!, 5);
    const res = buildModel({
      nodes: [makeNode('Conv', ['x', 'W'], ['c'], 'conv'), makeNode('Add', ['c', 'c'], ['y'], 'residual')],
      initializers: [floatTensor('W', W, [4, 2, 3, 3])],
      inputs: [valueInfo('x', ['N', 2, 5, 5])],
      outputs: [valueInfo('y', ['N', 4, 3, 3])],
    });
    expect(() => pruneChannels(res, { conv: [1] })).toThrow(/node 'residual' \(Add\): reads the pruned channels of 'c'/);
    expect(() => pruneChannels(m, { nope: [1] })).toThrow(/--layer: no Conv node or Conv output named 'nope'/);
    expect(() => pruneChannels(m, { conv: [0, 1, 2, 3] })).toThrow(/would remove all 4 channels/);
    expect(() => pruneChannels(m, { conv: [7] })).toThrow(/channel 7 of 'conv' is out of range/);
  });

  it('sliceAxis keeps indices along an axis', () => {
    expect(Array.from(sliceAxis(Float32Array.from([0, 1, 2, 3, 4, 5]), [2, 3], 1, [0, 2]))).toEqual([0, 2, 3, 5]);
    expect(Array.from(sliceAxis(Float32Array.from([0, 1, 2, 3, 4, 5]), [3, 2], 0, [2]))).toEqual([4, 5]);
  });
});

describe('pruning criteria', () => {
  it('magnitudes, lowest channels, conv of an activation and artefact channel scores', () => {
    const mag = filterMagnitudes(model);
    expect(Object.keys(mag)).toEqual(convLayers(model).map((l) => l.output));
    expect(mag['/conv1/Conv_output_0']).toHaveLength(16);
    expect(lowestChannels({ a: [3, 1, 2, 0] }, 0.5)).toEqual({ a: [3, 1] });
    expect(lowestChannels({ a: [3, 1] }, 0.9)).toEqual({ a: [1] });
    expect(convOf(model, '/Relu_1_output_0')).toEqual({ node: '/conv2/Conv', output: '/conv2/Conv_output_0' });
    expect(() => convOf(model, 'logits')).toThrow(/--layer: 'logits' is not the output of a Conv/);
    // Two channels of two positions: the artefact adds 2 to channel 1 along v = (0, 0, 1, 1).
    const s = artefactChannelScores({ data: Float64Array.of(1, 1, 3, 3), n: 1, d: 4 }, { data: Float64Array.of(1, 1, 1, 1), n: 1, d: 4 }, [0, 0, 1, 1], 2);
    expect(Array.from(s)).toEqual([0, 4]);
  });

  it('relevance pruning stays within 1 point at a compression where magnitude pruning loses more (MNIST CNN)', async () => {
    const mx = await ModelExplainer.load(model);
    const ref = referenceSet(data);
    const test = testSet(data, 5000);
    const layers = convLayers(model).map((l) => l.output);
    const rel = await channelRelevance(mx, ref.inputs, layers, ref.labels);
    // Every channel's mean share sums to the mean of Σ R / Σ|R| ≤ 1 per layer.
    for (const l of layers) expect(rel[l]!.reduce((a, b) => a + Math.abs(b), 0)).toBeLessThanOrEqual(1 + 1e-9);
    const acc = (m: ModelProto) => accuracy(m, test);
    const [r0, r1] = await pruningCurve(model, rel, [0, 2 / 16], acc);
    const [, m1] = await pruningCurve(model, filterMagnitudes(model), [0, 2 / 16], acc);
    expect(r1!.compression).toBeGreaterThan(0.12);
    expect(r0!.accuracy - r1!.accuracy).toBeLessThanOrEqual(0.01);
    expect(r0!.accuracy - m1!.accuracy).toBeGreaterThan(r0!.accuracy - r1!.accuracy);
    expect(r0!.accuracy - m1!.accuracy).toBeGreaterThan(0.01);
  }, 120_000);
});
