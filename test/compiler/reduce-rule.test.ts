import { describe, expect, it } from 'vitest';
import { compileExplainer } from '../../src/compiler/compile.js';
import { buildUnits } from '../../src/compiler/units.js';
import { canonicalize } from '../../src/canonicalize/index.js';
import { namedComposite } from '../../src/composites/named.js';
import { assignRules } from '../../src/composites/resolve.js';
import { Graph } from '../../src/ir/graph.js';
import { cloneModel } from '../../src/onnx/model.js';
import { buildModel, int64Tensor, makeNode, runModel, valueInfo } from '../helpers/onnx.js';

/** y = op(x, axes = [1], keepdims = 0) for x [2, 4]. */
function reduce(op: 'ReduceSum' | 'ReduceMean') {
  return buildModel({
    nodes: [makeNode(op, ['x', 'axes'], ['y'], 'reduce', { keepdims: { int: 0 } })],
    initializers: [int64Tensor('axes', [1], [1])],
    inputs: [valueInfo('x', [2, 4])],
    outputs: [valueInfo('y', [2])],
    opset: 18,
  });
}

describe('ReduceSum / ReduceMean under LRP composites', () => {
  it('are reduce units, which every relevance composite maps to the Norm rule', () => {
    const g = new Graph(cloneModel(reduce('ReduceMean')));
    const canon = canonicalize(g);
    const units = buildUnits(g, canon.regions, canon.norms);
    expect(units[0]!.kind).toBe('reduce');
    for (const name of ['epsilon-plus', 'epsilon-plus-flat', 'epsilon-alpha2-beta1', 'epsilon-gamma-box', 'excitation-backprop']) {
      expect(assignRules(namedComposite(name), units, undefined).get(units[0]!)?.rule.name, name).toBe('norm');
    }
  });

  it.each(['ReduceSum', 'ReduceMean'] as const)('%s conserves relevance: R_i = x_i·(∂z/∂x_i)·R/stab(z) (hand values)', async (op) => {
    const x = Float32Array.of(1, 2, -0.5, 3, -1, -2, 0.5, 0.25);
    const R = Float32Array.of(2, -3);
    const c = compileExplainer(reduce(op), { method: 'lrp', seedMode: 'direct', composite: namedComposite('epsilon-plus') });
    const out = await runModel(c.bytes(), { x: { data: x, dims: [2, 4] }, [c.seedName]: { data: R, dims: [2] } });
    const got = out[c.attributionNames.x!]!.data;
    for (let b = 0; b < 2; b++) {
      const row = Array.from(x.subarray(b * 4, b * 4 + 4));
      const sum = row.reduce((a, v) => a + v, 0);
      // Σ and mean differ by the factor 1/n in both z and ∂z/∂x, which cancels: R_i = x_i·R/Σx either way.
      const want = row.map((v) => (v * R[b]!) / (sum + (sum >= 0 ? 1e-6 : -1e-6)));
      for (let i = 0; i < 4; i++) expect(got[b * 4 + i]).toBeCloseTo(want[i]!, 5);
      const total = Array.from(got.subarray(b * 4, b * 4 + 4)).reduce((a, v) => a + v, 0);
      expect(total).toBeCloseTo(R[b]!, 4);
    }
  });
});
