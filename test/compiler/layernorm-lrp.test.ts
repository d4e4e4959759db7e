/**
 * LayerNorm/RMSNorm under the CNN (relevance) composites: AttnLRP's identity rule on the normalisation — the statistic
 * held constant — makes the layer linear, so relevance is conserved through it; the plain gradient cancels it
 * (the Jacobian of x − mean(x) sums to zero over the normalised axis).
 */
import { describe, expect, it } from 'vitest';
import type { NodeProto, TensorProto } from 'onnx-buf';
import { compileExplainer } from '../../src/compiler/compile.js';
import { namedComposite } from '../../src/composites/named.js';
import { buildModel, floatTensor, makeNode, rng, runModel, uniform, valueInfo } from '../helpers/onnx.js';

const D = 6;
const LRP_COMPOSITES = ['epsilon-plus', 'epsilon-plus-flat', 'epsilon-alpha2-beta1', 'epsilon-alpha2-beta1-flat', 'epsilon-gamma-box', 'excitation-backprop'];

/** x [2, 4] → Gemm → Relu → norm over the last axis (D) → Gemm → y [2, 3]; biases zero so that only the norm can lose relevance. */
function head(norm: 'decomposed' | 'op' | 'rms', beta: number) {
  const r = rng(7);
  const nodes: NodeProto[] = [makeNode('Gemm', ['x', 'W1'], ['h'], 'fc1', { transB: { int: 1 } }), makeNode('Relu', ['h'], ['a'], 'relu')];
  const inits: TensorProto[] = [
    floatTensor('W1', uniform(r, D * 4, -0.4, 1), [D, 4]),
    floatTensor('W2', uniform(r, 3 * D), [3, D]),
    floatTensor('gamma', uniform(r, D, 0.5, 1.5), [D]),
    floatTensor('beta', new Float32Array(D).fill(beta), [D]),
    floatTensor('two', Float32Array.of(2), []),
    floatTensor('eps', Float32Array.of(1e-5), []),
  ];
  if (norm === 'op') nodes.push(makeNode('LayerNormalization', ['a', 'gamma', 'beta'], ['n'], 'ln', { axis: { int: -1 } }));
  else if (norm === 'decomposed') {
    nodes.push(
      makeNode('ReduceMean', ['a'], ['mu'], 'ln_mean', { axes: { ints: [-1] } }),
      makeNode('Sub', ['a', 'mu'], ['c'], 'ln_sub'),
      makeNode('Pow', ['c', 'two'], ['c2'], 'ln_pow'),
      makeNode('ReduceMean', ['c2'], ['var'], 'ln_var', { axes: { ints: [-1] } }),
      makeNode('Add', ['var', 'eps'], ['ve'], 'ln_addeps'),
      makeNode('Sqrt', ['ve'], ['sd'], 'ln_sqrt'),
      makeNode('Div', ['c', 'sd'], ['xh'], 'ln_div'),
      makeNode('Mul', ['xh', 'gamma'], ['sc'], 'ln_scale'),
      makeNode('Add', ['sc', 'beta'], ['n'], 'ln_shift'),
    );
  } else {
    nodes.push(
      makeNode('Pow', ['a', 'two'], ['a2'], 'rms_pow'),
      makeNode('ReduceMean', ['a2'], ['ms'], 'rms_mean', { axes: { ints: [-1] } }),
      makeNode('Add', ['ms', 'eps'], ['mse'], 'rms_addeps'),
      makeNode('Sqrt', ['mse'], ['rms'], 'rms_sqrt'),
      makeNode('Reciprocal', ['rms'], ['inv'], 'rms_inv'),
      makeNode('Mul', ['a', 'inv'], ['xh'], 'rms_mul'),
      makeNode('Mul', ['gamma', 'xh'], ['n'], 'rms_scale'),
    );
  }
  nodes.push(makeNode('Gemm', ['n', 'W2'], ['y'], 'fc2', { transB: { int: 1 } }));
  return buildModel({ nodes, initializers: inits, inputs: [valueInfo('x', [2, 4])], outputs: [valueInfo('y', [2, 3])], opset: 17 });
}

const x = uniform(rng(3), 8, 0.1, 1);
const seed = Float32Array.of(1, 0, 0, 0, 0, 1);

async function sums(model: ReturnType<typeof head>, composite: string, method: 'lrp' | 'gradient' = 'lrp') {
  const c = compileExplainer(model, { method, composite: method === 'lrp' ? namedComposite(composite) : undefined, relevanceAt: ['a', 'n'] });
  const out = await runModel(c.bytes(), { x: { data: x, dims: [2, 4] }, [c.seedName]: { data: seed, dims: [2, 3] } });
  const rows = (t: Float32Array) => [0, 1].map((b) => Array.from(t.subarray((b * t.length) / 2, ((b + 1) * t.length) / 2)).reduce((s, v) => s + v, 0));
  return { before: rows(out[c.relevanceAtNames.n!]!.data), after: rows(out[c.relevanceAtNames.a!]!.data), input: rows(out[c.attributionNames.x!]!.data) };
}

describe('LayerNorm and RMSNorm under the LRP composites', () => {
  it.each(LRP_COMPOSITES.flatMap((c) => (['decomposed', 'op', 'rms'] as const).map((n) => [c, n] as const)))('%s conserves relevance through a %s norm within 1 %%', async (composite, norm) => {
    const s = await sums(head(norm, 0), composite);
    for (let b = 0; b < 2; b++) {
      expect(Math.abs(s.before[b]!)).toBeGreaterThan(1e-3);
      expect(Math.abs(s.after[b]! - s.before[b]!)).toBeLessThanOrEqual(0.01 * Math.abs(s.before[b]!));
    }
  });

  it('with a shift β the normalisation keeps the share of x̂·γ in y = x̂·γ + β, as a linear layer with bias does', async () => {
    const s = await sums(head('decomposed', 0.1), 'epsilon-plus');
    const s0 = await sums(head('decomposed', 0), 'epsilon-plus');
    for (let b = 0; b < 2; b++) expect(Math.abs(s.after[b]! - s.before[b]!)).toBeGreaterThan(1e-4 * Math.abs(s.before[b]!));
    // The fused op and the decomposed layer get the same relevance.
    const op = await sums(head('op', 0.1), 'epsilon-plus');
    for (let b = 0; b < 2; b++) expect(op.after[b]).toBeCloseTo(s.after[b]!, 4);
    expect(s0.after[0]).toBeCloseTo(s0.before[0]!, 4);
  });

  it('the plain gradient × input, by contrast, sums to ≈ 0 at the norm input (why the rule is needed)', async () => {
    const c = compileExplainer(head('decomposed', 0), { method: 'gradient', relevanceAt: ['a'] });
    const out = await runModel(c.bytes(), { x: { data: x, dims: [2, 4] }, [c.seedName]: { data: seed, dims: [2, 3] } });
    const g = out[c.relevanceAtNames.a!]!.data;
    // LayerNorm is shift invariant: the gradient at its input sums to 0 over the normalised axis, so Σ gradient ⊙ x is
    // not conserved by any rule built on it.
    for (let b = 0; b < 2; b++) {
      const row = Array.from(g.subarray(b * D, (b + 1) * D));
      expect(Math.abs(row.reduce((s, v) => s + v, 0))).toBeLessThan(1e-5 * row.reduce((s, v) => s + Math.abs(v), 0));
    }
  });
});
