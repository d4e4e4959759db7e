/**
 * What xsys adds to Zennit's composites for units Zennit has no rule for: squeeze-excitation gates (signal-take-all)
 * and products of two activations such as attention (AttnLRP's uniform rule); `zennit:<name>` leaves both out.
 * Hand-computed relevance on tiny models, with seeds given directly (seedMode 'direct').
 */
import { describe, expect, it } from 'vitest';
import { compileExplainer } from '../../src/compiler/compile.js';
import { buildUnits } from '../../src/compiler/units.js';
import { canonicalize } from '../../src/canonicalize/index.js';
import { COMPOSITE_CHOICES, namedComposite } from '../../src/composites/named.js';
import { assignRules } from '../../src/composites/resolve.js';
import { Graph } from '../../src/ir/graph.js';
import { cloneModel } from '../../src/onnx/model.js';
import { referenceComposite } from '../../src/conformance/run.js';
import { buildModel, floatTensor, makeNode, runModel, valueInfo } from '../helpers/onnx.js';

/** y = x ⊙ σ(GAP(x)) for x [1, 2, 1, 3]: a squeeze-excitation gate with an identity excitation. */
function seGate() {
  return buildModel({
    nodes: [
      makeNode('GlobalAveragePool', ['x'], ['pooled'], 'pool'),
      makeNode('Sigmoid', ['pooled'], ['gate'], 'sigmoid'),
      makeNode('Mul', ['x', 'gate'], ['y'], 'excite'),
    ],
    inputs: [valueInfo('x', [1, 2, 1, 3])],
    outputs: [valueInfo('y', [1, 2, 1, 3])],
  });
}

/** A product x ⊙ σ(conv(x)) whose gate is not pooled from x (a gate per position, no squeeze). */
function unpooledGate() {
  return buildModel({
    nodes: [makeNode('Conv', ['x', 'w'], ['s'], 'mix'), makeNode('Sigmoid', ['s'], ['gate'], 'sigmoid'), makeNode('Mul', ['x', 'gate'], ['y'], 'excite')],
    initializers: [floatTensor('w', Float32Array.of(0.5, -0.2, 0.3, 0.8), [2, 2, 1, 1])],
    inputs: [valueInfo('x', [1, 2, 1, 3])],
    outputs: [valueInfo('y', [1, 2, 1, 3])],
  });
}

/** One attention head over 3 tokens of width 2: y = softmax(x·Wq·(x·Wk)ᵀ)·(x·Wv). */
function attention() {
  return buildModel({
    nodes: [
      makeNode('MatMul', ['x', 'wq'], ['q'], 'q'),
      makeNode('MatMul', ['x', 'wk'], ['k'], 'k'),
      makeNode('MatMul', ['x', 'wv'], ['v'], 'v'),
      makeNode('Transpose', ['k'], ['kt'], 'kt', { perm: { ints: [1, 0] } }),
      makeNode('MatMul', ['q', 'kt'], ['s'], 'scores'),
      makeNode('Softmax', ['s'], ['a'], 'softmax', { axis: { int: -1 } }),
      makeNode('MatMul', ['a', 'v'], ['y'], 'mix'),
    ],
    initializers: [
      floatTensor('wq', Float32Array.of(0.8, -0.3, 0.2, 0.9), [2, 2]),
      floatTensor('wk', Float32Array.of(0.5, 0.4, -0.6, 0.7), [2, 2]),
      floatTensor('wv', Float32Array.of(1.1, 0.2, 0.3, 0.9), [2, 2]),
    ],
    inputs: [valueInfo('x', [3, 2])],
    outputs: [valueInfo('y', [3, 2])],
  });
}

function unitsOf(model: ReturnType<typeof seGate>) {
  const g = new Graph(cloneModel(model));
  const canon = canonicalize(g);
  return buildUnits(g, canon.regions, canon.norms);
}

const sum = (a: ArrayLike<number>) => Array.from(a).reduce((s, v) => s + v, 0);

describe("xsys' extensions of Zennit's composites", () => {
  it('recognise a gate computed from a pooled copy of its signal, and only that', () => {
    const se = unitsOf(seGate()).find((u) => u.name === 'excite')!;
    expect(se.kind).toBe('pooled-gate');
    expect(se.gate).toBe('gate');
    expect(unitsOf(unpooledGate()).find((u) => u.name === 'excite')!.kind).toBe('product');
    const rules = (name: string) => assignRules(namedComposite(name), [se], undefined).get(se)?.rule.name;
    expect(rules('epsilon-plus-flat')).toBe('signal-take-all');
    expect(rules('attnlrp')).toBe('signal-take-all');
    expect(rules('zennit:epsilon-plus-flat')).toBeUndefined(); // the plain gradient, as in Zennit
  });

  it('squeeze-excitation: signal-take-all passes R to the signal unchanged; zennit: adds the gate branch Σx·R spread by the pool', async () => {
    const x = Float32Array.of(1, 2, 3, -1, 0.5, 2);
    const R = Float32Array.of(0.3, -0.2, 0.5, 0.1, 0.4, -0.6);
    const run = async (composite: string) => {
      const c = compileExplainer(seGate(), { method: 'lrp', seedMode: 'direct', composite: namedComposite(composite) });
      const out = await runModel(c.bytes(), { x: { data: x, dims: [1, 2, 1, 3] }, [c.seedName]: { data: R, dims: [1, 2, 1, 3] } });
      return out[c.attributionNames.x!]!.data;
    };
    const ours = await run('epsilon-plus');
    for (let i = 0; i < 6; i++) expect(ours[i]).toBeCloseTo(R[i]!, 6);
    // Zennit: R_x = g·R (the product's gradient) + x_i·(Σ_s x_s·R_s)/Σ_s x_s (gate branch: Pass through the sigmoid,
    // the Norm rule of the average pool).
    const strict = await run('zennit:epsilon-plus');
    for (let c = 0; c < 2; c++) {
      const xs = Array.from(x.subarray(3 * c, 3 * c + 3));
      const rs = Array.from(R.subarray(3 * c, 3 * c + 3));
      const g = 1 / (1 + Math.exp(-sum(xs) / 3));
      const rg = xs.reduce((s, v, i) => s + v * rs[i]!, 0);
      for (let i = 0; i < 3; i++) expect(strict[3 * c + i]).toBeCloseTo(g * rs[i]! + (xs[i]! * rg) / sum(xs), 5);
    }
  });

  it("attention: the extensions give AttnLRP's relevance (uniform rule on q·kᵀ and attn·v, softmax in Gradient × Input form); zennit: gives the plain gradient", async () => {
    const x = Float32Array.of(0.9, -0.4, 0.3, 1.2, -0.7, 0.5);
    const explain = async (composite: string) => {
      const c = compileExplainer(attention(), { method: 'lrp', seedMode: 'direct', composite: namedComposite(composite) });
      const zero = new Float32Array(6);
      const y = (await runModel(c.bytes(), { x: { data: x, dims: [3, 2] }, [c.seedName]: { data: zero, dims: [3, 2] } })).y!.data;
      // Output 0 of token 1: a one-hot gradient (attnlrp's form) or that element's value as relevance.
      const seed = new Float32Array(6);
      seed[2] = composite === 'attnlrp' ? 1 : y[2]!;
      const out = await runModel(c.bytes(), { x: { data: x, dims: [3, 2] }, [c.seedName]: { data: seed, dims: [3, 2] } });
      return { R: out[c.attributionNames.x!]!.data, score: y[2]! };
    };
    const reference = await explain('attnlrp');
    const ours = await explain('epsilon-plus');
    for (let i = 0; i < 6; i++) expect(ours.R[i]).toBeCloseTo(reference.R[i]!, 5);
    const strict = await explain('zennit:epsilon-plus');
    expect(Math.max(...Array.from(strict.R, (v, i) => Math.abs(v - reference.R[i]!)))).toBeGreaterThan(0.05 * Math.max(...Array.from(reference.R, Math.abs)));
  });

  it('zennit:<name> names only Zennit composites, and Zennit-referenced conformance manifests use it', () => {
    expect(namedComposite('zennit:Epsilon_Plus_Flat').name).toBe('zennit:epsilon-plus-flat');
    expect(namedComposite('zennit:epsilon-plus-flat').entries.some((e) => e.rule === 'uniform')).toBe(false);
    expect(namedComposite('epsilon-plus-flat').entries.some((e) => e.rule === 'uniform')).toBe(true);
    expect(() => namedComposite('zennit:attnlrp')).toThrow(/not one of Zennit's composites/);
    expect(COMPOSITE_CHOICES).toContain('zennit:epsilon-gamma-box');
    expect(COMPOSITE_CHOICES).not.toContain('zennit:attnlrp');
    expect(referenceComposite('zennit 0.5.1 on torch 1.13', 'epsilon-plus-flat')).toBe('zennit:epsilon-plus-flat');
    expect(referenceComposite('zennit-crp CondAttribution', 'epsilon_plus')).toBe('zennit:epsilon-plus');
    expect(referenceComposite('AttnLRP as LXT computes it', 'attnlrp')).toBe('attnlrp');
    expect(referenceComposite('zennit 0.5.1', 'attnlrp')).toBe('attnlrp');
  });
});
