/**
 * The compiled graph carries no second copy of the weights: W⁺/W⁻, flipped kernels and transposes are graph ops on
 * the original constants (ONNX Runtime folds them at session creation). And explainer sessions, created with the
 * library's options for compiled graphs, give the same numbers as a session with ORT's defaults.
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { compileExplainer } from '../../src/compiler/compile.js';
import { serializeModel } from '../../src/onnx/model.js';
import { ortOptions } from '../../src/runtime/session.js';
import { buildModel, floatTensor, makeNode, rng, uniform, valueInfo } from '../helpers/onnx.js';

function cnn() {
  const r = rng(11);
  const W = (name: string, dims: number[]) => floatTensor(name, uniform(r, dims.reduce((a, b) => a * b, 1)), dims);
  return buildModel({
    nodes: [
      makeNode('Conv', ['x', 'W1', 'b1'], ['c1'], 'conv1', { kernel_shape: { ints: [3, 3] }, pads: { ints: [1, 1, 1, 1] } }),
      makeNode('Relu', ['c1'], ['r1'], 'relu1'),
      makeNode('Conv', ['r1', 'W2', 'b2'], ['c2'], 'conv2', { kernel_shape: { ints: [3, 3] }, pads: { ints: [1, 1, 1, 1] } }),
      makeNode('Relu', ['c2'], ['r2'], 'relu2'),
      makeNode('Flatten', ['r2'], ['f'], 'flat'),
      makeNode('MatMul', ['f', 'W3'], ['y'], 'dense'),
    ],
    initializers: [W('W1', [8, 3, 3, 3]), W('b1', [8]), W('W2', [6, 8, 3, 3]), W('b2', [6]), W('W3', [6 * 16, 5])],
    inputs: [valueInfo('x', ['batch', 3, 4, 4])],
    outputs: [valueInfo('y', ['batch', 5])],
  });
}

const floatBytes = (m: ReturnType<typeof cnn>) => m.graph!.initializer.reduce((a, t) => a + t.rawData.length, 0);

describe('compiled model size and session options', () => {
  it('adds no weight-sized initializers for epsilon-plus (W⁺ and flipped kernels are folded by ORT)', () => {
    const model = cnn();
    const original = floatBytes(model);
    for (const options of [{ method: 'lrp', composite: 'epsilon-plus' }, { method: 'gradient' }] as const) {
      const c = compileExplainer(model, options);
      // Small constants only (scalars, shapes, slice bounds).
      expect(floatBytes(c.model) - original).toBeLessThan(400);
      const ops = c.model.graph!.node.map((n) => n.opType);
      expect(ops).not.toContain('ConvTranspose');
      if (options.method === 'lrp') expect(c.model.graph!.node.some((n) => n.opType === 'Relu' && n.input[0] === 'W2')).toBe(true);
    }
  });

  it('compiled-graph session options drop only the memory pattern and prepacking, with identical results', async () => {
    const plain = ortOptions({ threads: 2 }) as { extra: { session: Record<string, string> } };
    expect(ortOptions({ threads: 2, compiledGraph: true })).toEqual({ ...plain, enableMemPattern: false, extra: { session: { ...plain.extra.session, disable_prepacking: '1' } } });
    expect(ortOptions({}).enableMemPattern).toBeUndefined();
    const c = compileExplainer(cnn(), { method: 'lrp', composite: 'epsilon-plus' });
    const bytes = serializeModel(c.model);
    const x = uniform(rng(5), 2 * 48);
    const seed = Float32Array.of(1, 0, 0, 0, 0, 0, 0, 1, 0, 0);
    const feeds = { x: new ort.Tensor('float32', x, [2, 3, 4, 4]), [c.seedName]: new ort.Tensor('float32', seed, [2, 5]) };
    const results: Float32Array[] = [];
    for (const opts of [ortOptions({ compiledGraph: true }), {}]) {
      const s = await ort.InferenceSession.create(bytes, opts);
      results.push((await s.run(feeds))[c.attributionNames.x!]!.data as Float32Array);
      await s.release();
    }
    expect(results[0]!.some((v) => v !== 0)).toBe(true);
    expect(Array.from(results[0]!)).toEqual(Array.from(results[1]!));
  });
});
