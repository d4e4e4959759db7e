import { describe, expect, it } from 'vitest';
import { foldBatchNorm } from '../../src/canonicalize/fold-batchnorm.js';
import { normalizeGemm } from '../../src/canonicalize/normalize-gemm.js';
import { removeIdentity } from '../../src/canonicalize/remove-identity.js';
import { explicitPads } from '../../src/canonicalize/explicit-pads.js';
import { CANONICALIZERS, canonicalize } from '../../src/canonicalize/index.js';
import { buildUnits } from '../../src/compiler/units.js';
import { inferShapes } from '../../src/ops/shapes.js';
import { attrInt, attrInts, getAttr } from '../../src/onnx/attributes.js';
import { buildModel, floatTensor, makeNode, rng, uniform, valueInfo } from '../helpers/onnx.js';
import { expectSameFunction, graphOf } from './helpers.js';

describe('fold-batchnorm', () => {
  const r = rng(21);
  const model = buildModel({
    nodes: [
      makeNode('Conv', ['x', 'W', 'b'], ['c'], 'conv', { kernel_shape: { ints: [3, 3] }, pads: { ints: [1, 1, 1, 1] } }),
      makeNode('BatchNormalization', ['c', 'gamma', 'beta', 'mean', 'var'], ['bn'], 'bn', { epsilon: { float: 1e-3 } }),
      makeNode('Relu', ['bn'], ['y'], 'relu'),
    ],
    initializers: [
      floatTensor('W', uniform(r, 4 * 3 * 9), [4, 3, 3, 3]),
      floatTensor('b', uniform(r, 4), [4]),
      floatTensor('gamma', uniform(r, 4, 0.5, 2), [4]),
      floatTensor('beta', uniform(r, 4), [4]),
      floatTensor('mean', uniform(r, 4), [4]),
      floatTensor('var', uniform(r, 4, 0.2, 3), [4]),
    ],
    inputs: [valueInfo('x', [1, 3, 5, 5])],
    outputs: [valueInfo('y', [1, 4, 5, 5])],
  });

  it('folds Conv + BatchNormalization into one Conv with the same function', async () => {
    const g = graphOf(model);
    const before = g.nodes.length;
    const reports = foldBatchNorm.apply(g, inferShapes(g));
    expect(reports).toHaveLength(1);
    expect(reports[0]!.canonicalizer).toBe('fold-batchnorm');
    expect(g.nodes.length).toBe(before - 1);
    expect(g.nodes.map((n) => n.opType)).toEqual(['Conv', 'Relu']);
    // The Conv now writes the BatchNorm's output name, so the Relu still reads 'bn'.
    expect(g.nodes[0]!.output[0]).toBe('bn');
    // The old BN parameters are gone from the initializers.
    expect(g.proto.initializer.map((t) => t.name)).not.toContain('gamma');
    await expectSameFunction(model, g.model, uniform(rng(3), 75, -2, 2), [1, 3, 5, 5], 1e-5);
  });

  it('does not fold when the conv output has another consumer', () => {
    const m = buildModel({
      nodes: [
        makeNode('Conv', ['x', 'W', 'b'], ['c'], 'conv', { kernel_shape: { ints: [3, 3] }, pads: { ints: [1, 1, 1, 1] } }),
        makeNode('BatchNormalization', ['c', 'gamma', 'beta', 'mean', 'var'], ['bn'], 'bn'),
        makeNode('Add', ['bn', 'c'], ['y'], 'add'),
      ],
      initializers: model.graph!.initializer,
      inputs: [valueInfo('x', [1, 3, 5, 5])],
      outputs: [valueInfo('y', [1, 4, 5, 5])],
    });
    const g = graphOf(m);
    expect(foldBatchNorm.apply(g, inferShapes(g))).toHaveLength(0);
    expect(g.nodes).toHaveLength(3);
  });

  it('folds BatchNormalization after a Gemm without transB (W[k, o])', async () => {
    const r2 = rng(4);
    const m = buildModel({
      nodes: [makeNode('Gemm', ['x', 'W', 'b'], ['h'], 'dense'), makeNode('BatchNormalization', ['h', 'g', 'be', 'mu', 'va'], ['y'], 'bn')],
      initializers: [
        floatTensor('W', uniform(r2, 15), [5, 3]),
        floatTensor('b', uniform(r2, 3), [3]),
        floatTensor('g', uniform(r2, 3, 0.5, 2), [3]),
        floatTensor('be', uniform(r2, 3), [3]),
        floatTensor('mu', uniform(r2, 3), [3]),
        floatTensor('va', uniform(r2, 3, 0.2, 3), [3]),
      ],
      inputs: [valueInfo('x', [2, 5])],
      outputs: [valueInfo('y', [2, 3])],
    });
    const g = graphOf(m);
    expect(foldBatchNorm.apply(g, inferShapes(g))).toHaveLength(1);
    expect(g.nodes.map((n) => n.opType)).toEqual(['Gemm']);
    await expectSameFunction(m, g.model, uniform(r2, 10, -2, 2), [2, 5], 1e-5);
  });
});

describe('normalize-gemm', () => {
  it('folds alpha, beta and transA; the function is unchanged and the Gemm becomes a dense unit', async () => {
    const r = rng(8);
    const m = buildModel({
      nodes: [makeNode('Gemm', ['x', 'B', 'C'], ['y'], 'gemm', { alpha: { float: 0.5 }, beta: { float: 2.0 }, transA: { int: 1 }, transB: { int: 1 } })],
      initializers: [floatTensor('B', uniform(r, 12), [4, 3]), floatTensor('C', uniform(r, 4), [4])],
      // transA: A is [K, M] = [3, 2]
      inputs: [valueInfo('x', [3, 2])],
      outputs: [valueInfo('y', [2, 4])],
    });
    const g = graphOf(m);
    const unitsBefore = buildUnits(g, []);
    expect(unitsBefore.find((u) => u.opType === 'Gemm')!.kind).toBe('other');
    const reports = normalizeGemm.apply(g, inferShapes(g));
    expect(reports).toHaveLength(1);
    expect(reports[0]!.detail).toMatch(/alpha.*beta.*transA/s);
    const gemm = g.nodes.find((n) => n.opType === 'Gemm')!;
    expect(getAttr(gemm, 'alpha')).toBeUndefined();
    expect(getAttr(gemm, 'beta')).toBeUndefined();
    expect(attrInt(gemm, 'transA', 0)).toBe(0);
    expect(attrInt(gemm, 'transB', 0)).toBe(1);
    expect(g.nodes.map((n) => n.opType)).toEqual(['Transpose', 'Gemm']);
    await expectSameFunction(m, g.model, uniform(r, 6, -2, 2), [3, 2], 1e-6);
    const units = buildUnits(g, []);
    expect(units.find((u) => u.opType === 'Gemm')!.kind).toBe('dense');
  });

  it('leaves a normal Gemm alone', () => {
    const m = buildModel({
      nodes: [makeNode('Gemm', ['x', 'B'], ['y'], 'gemm', { transB: { int: 1 } })],
      initializers: [floatTensor('B', new Float32Array(12).fill(1), [4, 3])],
      inputs: [valueInfo('x', [1, 3])],
      outputs: [valueInfo('y', [1, 4])],
    });
    const g = graphOf(m);
    expect(normalizeGemm.apply(g, inferShapes(g))).toHaveLength(0);
    expect(g.nodes).toHaveLength(1);
  });
});

describe('remove-identity', () => {
  it('removes Identity and Dropout inside the graph but keeps one that writes a graph output', async () => {
    const m = buildModel({
      nodes: [
        makeNode('Identity', ['x'], ['i1'], 'id1'),
        makeNode('Relu', ['i1'], ['r'], 'relu'),
        makeNode('Dropout', ['r'], ['d'], 'drop'),
        makeNode('Sigmoid', ['d'], ['s'], 'sig'),
        makeNode('Identity', ['s'], ['y'], 'id_out'),
      ],
      inputs: [valueInfo('x', [1, 6])],
      outputs: [valueInfo('y', [1, 6])],
    });
    const g = graphOf(m);
    const reports = removeIdentity.apply(g, inferShapes(g));
    expect(reports.map((r) => r.node).sort()).toEqual(['drop', 'id1']);
    expect(g.nodes.map((n) => n.opType)).toEqual(['Relu', 'Sigmoid', 'Identity']);
    expect(g.nodes[0]!.input[0]).toBe('x');
    expect(g.outputs.map((o) => o.name)).toEqual(['y']);
    await expectSameFunction(m, g.model, uniform(rng(1), 6, -2, 2), [1, 6], 0);
  });
});

describe('explicit-pads', () => {
  it('replaces auto_pad SAME_UPPER by explicit pads (Conv stride 2, MaxPool even kernel) without changing the function', async () => {
    const r = rng(30);
    const m = buildModel({
      nodes: [
        makeNode('Conv', ['x', 'W'], ['c'], 'conv', { kernel_shape: { ints: [3, 3] }, strides: { ints: [2, 2] }, auto_pad: { string: 'SAME_UPPER' } }),
        makeNode('MaxPool', ['c'], ['y'], 'pool', { kernel_shape: { ints: [2, 2] }, auto_pad: { string: 'SAME_UPPER' } }),
      ],
      initializers: [floatTensor('W', uniform(r, 2 * 1 * 9), [2, 1, 3, 3])],
      inputs: [valueInfo('x', [1, 1, 6, 6])],
      outputs: [valueInfo('y', [1, 2, 3, 3])],
    });
    const g = graphOf(m);
    const reports = explicitPads.apply(g, inferShapes(g));
    expect(reports).toHaveLength(2);
    const [conv, pool] = g.nodes;
    for (const n of [conv!, pool!]) expect(getAttr(n, 'auto_pad')).toBeUndefined();
    // Conv: out 3, total pad = (3−1)·2 + 3 − 6 = 1 → begin 0, end 1 (SAME_UPPER puts the extra at the end).
    expect(attrInts(conv!, 'pads')).toEqual([0, 0, 1, 1]);
    // MaxPool 2x2 stride 1: total 1 → [0, 0, 1, 1].
    expect(attrInts(pool!, 'pads')).toEqual([0, 0, 1, 1]);
    await expectSameFunction(m, g.model, uniform(r, 36, -2, 2), [1, 1, 6, 6], 1e-6);
  });

  it('SAME_LOWER puts the extra padding at the beginning', async () => {
    const r = rng(31);
    const m = buildModel({
      nodes: [makeNode('Conv', ['x', 'W'], ['y'], 'conv', { kernel_shape: { ints: [2, 2] }, auto_pad: { string: 'SAME_LOWER' } })],
      initializers: [floatTensor('W', uniform(r, 4), [1, 1, 2, 2])],
      inputs: [valueInfo('x', [1, 1, 4, 4])],
      outputs: [valueInfo('y', [1, 1, 4, 4])],
    });
    const g = graphOf(m);
    explicitPads.apply(g, inferShapes(g));
    expect(attrInts(g.nodes[0]!, 'pads')).toEqual([1, 1, 0, 0]);
    await expectSameFunction(m, g.model, uniform(r, 16, -2, 2), [1, 1, 4, 4], 1e-6);
  });
});

describe('canonicalize (all passes)', () => {
  it('reports what each pass changed', () => {
    const m = buildModel({
      nodes: [makeNode('Identity', ['x'], ['i'], 'id'), makeNode('Gemm', ['i', 'B'], ['y'], 'gemm', { alpha: { float: 2 } })],
      initializers: [floatTensor('B', new Float32Array(6).fill(0.5), [3, 2])],
      inputs: [valueInfo('x', [1, 3])],
      outputs: [valueInfo('y', [1, 2])],
    });
    const g = graphOf(m);
    const { reports } = canonicalize(g);
    expect(reports.map((r) => r.canonicalizer)).toEqual(['remove-identity', 'normalize-gemm']);
  });

  it('CANONICALIZERS run in order; the result computes the same numbers, and skip leaves a pass out', async () => {
    expect(CANONICALIZERS.map((c) => c.name)).toEqual(['control-flow', 'dequantize', 'fold-constants', 'recurrent', 'remove-identity', 'fold-batchnorm', 'normalize-gemm', 'explicit-pads', 'stacked-sum']);
    // Conv → BatchNorm → Identity → Relu(region) → Flatten → Gemm(alpha 0.5): every pass has something to do.
    const r = rng(11);
    const m = buildModel({
      nodes: [
        makeNode('Conv', ['x', 'K'], ['c'], 'conv', { auto_pad: { string: 'SAME_UPPER' }, kernel_shape: { ints: [2, 2] } }),
        makeNode('BatchNormalization', ['c', 'scale', 'bias', 'mean', 'var'], ['bn'], 'bn'),
        makeNode('Identity', ['bn'], ['i'], 'id'),
        makeNode('Relu', ['i'], ['a'], 'relu'),
        makeNode('Flatten', ['a'], ['f'], 'flatten'),
        makeNode('Gemm', ['f', 'V'], ['y'], 'fc', { alpha: { float: 0.5 }, transB: { int: 1 } }),
      ],
      initializers: [
        floatTensor('K', uniform(r, 2 * 1 * 2 * 2), [2, 1, 2, 2]),
        floatTensor('scale', Float32Array.from([1.5, 0.5]), [2]),
        floatTensor('bias', Float32Array.from([0.1, -0.1]), [2]),
        floatTensor('mean', Float32Array.from([0.2, -0.3]), [2]),
        floatTensor('var', Float32Array.from([0.8, 2]), [2]),
        floatTensor('V', uniform(r, 3 * 18), [3, 18]),
      ],
      inputs: [valueInfo('x', [1, 1, 3, 3])],
      outputs: [valueInfo('y', [1, 3])],
    });
    const g = graphOf(m);
    const { reports, info } = canonicalize(g);
    expect([...new Set(reports.map((x) => x.canonicalizer))]).toEqual(['remove-identity', 'fold-batchnorm', 'normalize-gemm', 'explicit-pads']);
    expect(g.nodes.map((n) => n.opType)).toEqual(['Conv', 'Relu', 'Flatten', 'Gemm']);
    expect(info.get('y')!.shape).toEqual([1, 3]);
    await expectSameFunction(m, g.model, uniform(r, 9, -2, 2), [1, 1, 3, 3], 1e-5);

    const partial = graphOf(m);
    const skipped = canonicalize(partial, { skip: ['fold-batchnorm', 'normalize-gemm'] });
    expect(skipped.reports.map((x) => x.canonicalizer)).not.toContain('fold-batchnorm');
    expect(skipped.reports.map((x) => x.canonicalizer)).not.toContain('normalize-gemm');
    expect(partial.nodes.map((n) => n.opType)).toEqual(['Conv', 'BatchNormalization', 'Relu', 'Flatten', 'Gemm']);
    await expectSameFunction(m, partial.model, uniform(r, 9, -2, 2), [1, 1, 3, 3], 1e-5);
  });
});
