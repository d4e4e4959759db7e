import { describe, expect, it } from 'vitest';
import { stackedSum } from '../../src/canonicalize/stacked-sum.js';
import { CANONICALIZERS, canonicalize } from '../../src/canonicalize/index.js';
import { buildUnits } from '../../src/compiler/units.js';
import { inferShapes } from '../../src/ops/shapes.js';
import { compileExplainer } from '../../src/compiler/compile.js';
import { buildModel, floatTensor, int64Tensor, makeNode, rng, runModel, uniform, valueInfo } from '../helpers/onnx.js';
import { expectSameFunction, graphOf } from './helpers.js';

/** x → Relu → a, x → Tanh → b (and Sigmoid → c when n = 3); stack along `axis`, ReduceSum over it. */
function stacked(n: 2 | 3, axis: number, keepdims: 0 | 1, sumAxis = axis) {
  const branches = ['Relu', 'Tanh', 'Sigmoid'].slice(0, n);
  const nodes = [
    ...branches.map((op, k) => makeNode(op, ['x'], [`h${k}`], `act${k}`)),
    ...branches.map((_, k) => makeNode('Unsqueeze', [`h${k}`, 'ax'], [`u${k}`], `unsq${k}`)),
    makeNode('Concat', branches.map((_, k) => `u${k}`), ['cat'], 'concat', { axis: { int: axis } }),
    makeNode('ReduceSum', ['cat', 'sax'], ['y'], 'rsum', { keepdims: { int: keepdims } }),
  ];
  return buildModel({
    nodes,
    initializers: [int64Tensor('ax', [axis], [1]), int64Tensor('sax', [sumAxis], [1])],
    inputs: [valueInfo('x', [2, 3])],
    outputs: [valueInfo('y')],
  });
}

describe('stacked-sum', () => {
  it('is one of the canonicalisers, after the ones that expose patterns', () => {
    expect(CANONICALIZERS.map((c) => c.name)).toContain('stacked-sum');
  });

  it.each([
    [2, -1, 0],
    [2, 2, 0],
    [3, 1, 0],
    [3, -1, 1],
  ] as const)('rewrites %i tensors stacked on axis %i (keepdims %i) into one Sum with the same function', async (n, axis, keepdims) => {
    const m = stacked(n, axis, keepdims);
    const g = graphOf(m);
    const reports = stackedSum.apply(g, inferShapes(g));
    expect(reports).toHaveLength(1);
    expect(reports[0]!.detail).toContain(`Sum of ${n} tensors`);
    const sum = g.nodes.find((x) => x.opType === 'Sum')!;
    expect(sum.output[0]).toBe('y');
    expect(sum.input).toHaveLength(n);
    expect(g.nodes.some((x) => x.opType === 'Concat' || x.opType === 'ReduceSum')).toBe(false);
    // keepdims 0: the Unsqueezes are gone too; keepdims 1: the Sum adds the unsqueezed tensors.
    expect(g.nodes.filter((x) => x.opType === 'Unsqueeze')).toHaveLength(keepdims ? n : 0);
    await expectSameFunction(m, g.model, uniform(rng(5), 6, -2, 2), [2, 3], 1e-6);
  });

  it('leaves a ReduceSum over another axis, and a Concat read elsewhere, alone', () => {
    const other = graphOf(stacked(2, -1, 0, 1));
    expect(stackedSum.apply(other, inferShapes(other))).toHaveLength(0);
    const m = stacked(2, -1, 0);
    m.graph!.output.push(valueInfo('cat'));
    const g = graphOf(m);
    expect(stackedSum.apply(g, inferShapes(g))).toHaveLength(0);
  });

  it('makes the stacked sum a sum unit, so composites give it the Norm rule: R_i = h_i·R/Σh (hand values)', async () => {
    const m = stacked(2, -1, 0);
    const g = graphOf(m);
    const canon = canonicalize(g);
    expect(buildUnits(g, canon.regions, canon.norms).find((u) => u.opType === 'Sum')!.kind).toBe('sum');
    const x = Float32Array.of(0.5, -1, 2, 1.5, -0.25, 0.75);
    const R = Float32Array.of(1, 2, -1, 0.5, 3, -2);
    const c = compileExplainer(m, {
      method: 'lrp',
      seedMode: 'direct',
      composite: { name: 't', entries: [{ match: { kind: 'sum' }, rule: 'norm', params: { stabilizer: 1e-6 } }, { match: { kind: 'activation' }, rule: 'pass' }] },
    });
    const out = await runModel(c.bytes(), { x: { data: x, dims: [2, 3] }, [c.seedName]: { data: R, dims: [2, 3] } });
    const got = out[c.attributionNames.x!]!.data;
    // Both branches pass their relevance to x: R_x = (relu(x) + tanh(x))·R/(relu(x) + tanh(x)) = R (up to ε).
    const want = Array.from(x, (v, i) => {
      const a = Math.fround(Math.max(v, 0));
      const b = Math.fround(Math.tanh(v));
      const z = a + b;
      const s = R[i]! / (z + (z >= 0 ? 1e-6 : -1e-6));
      return a * s + b * s;
    });
    for (let i = 0; i < 6; i++) expect(got[i]).toBeCloseTo(want[i]!, 4);
  });
});
