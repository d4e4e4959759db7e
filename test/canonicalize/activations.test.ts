import type { NodeProto, TensorProto } from 'onnx-buf';
import { describe, expect, it } from 'vitest';
import { findActivationRegions } from '../../src/canonicalize/activations.js';
import { resolveExplainedOutput } from '../../src/canonicalize/target.js';
import { compileExplainer } from '../../src/compiler/compile.js';
import { inferShapes } from '../../src/ops/shapes.js';
import { buildModel, floatTensor, makeNode, relErr, rng, runModel, uniform, valueInfo } from '../helpers/onnx.js';
import { graphOf } from './helpers.js';

const f32 = (name: string, v: number) => floatTensor(name, Float32Array.of(v), []);

/** x[1,3] → Gemm → h[1,4] → (activation built from several nodes) → a → Gemm → y[1,2]. */
function sandwich(act: NodeProto[], consts: TensorProto[]) {
  const r = rng(77);
  return buildModel({
    nodes: [makeNode('Gemm', ['x', 'W1', 'b1'], ['h'], 'dense1', { transB: { int: 1 } }), ...act, makeNode('Gemm', ['a', 'W2', 'b2'], ['y'], 'dense2', { transB: { int: 1 } })],
    initializers: [
      floatTensor('W1', uniform(r, 12, -2, 2), [4, 3]),
      floatTensor('b1', uniform(r, 4), [4]),
      floatTensor('W2', uniform(r, 8), [2, 4]),
      floatTensor('b2', uniform(r, 2), [2]),
      ...consts,
    ],
    inputs: [valueInfo('x', [1, 3])],
    outputs: [valueInfo('y', [1, 2])],
  });
}

/** Abramowitz–Stegun 7.1.26 (|err| < 1.5e-7). */
function erf(v: number): number {
  const t = 1 / (1 + 0.3275911 * Math.abs(v));
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-v * v);
  return v >= 0 ? y : -y;
}

const ACTIVATIONS: { name: string; expected: string; nodes: NodeProto[]; consts: TensorProto[]; fn: (v: number) => number }[] = [
  {
    name: 'x·Sigmoid(x)',
    expected: 'SiLU',
    nodes: [makeNode('Sigmoid', ['h'], ['s'], 'sig'), makeNode('Mul', ['h', 's'], ['a'], 'mul')],
    consts: [],
    fn: (v) => v / (1 + Math.exp(-v)),
  },
  {
    name: 'x·HardSigmoid(x)',
    expected: 'HardSwish',
    nodes: [makeNode('HardSigmoid', ['h'], ['s'], 'hsig', { alpha: { float: 1 / 6 }, beta: { float: 0.5 } }), makeNode('Mul', ['h', 's'], ['a'], 'mul')],
    consts: [],
    fn: (v) => v * Math.min(1, Math.max(0, v / 6 + 0.5)),
  },
  {
    name: 'x·Clip(x+3, 0, 6)/6',
    expected: 'HardSwish',
    nodes: [
      makeNode('Add', ['h', 'three'], ['p'], 'add3'),
      makeNode('Clip', ['p', 'zero', 'six'], ['c'], 'relu6'),
      makeNode('Mul', ['h', 'c'], ['m'], 'mul'),
      makeNode('Div', ['m', 'six'], ['a'], 'div6'),
    ],
    consts: [f32('three', 3), f32('zero', 0), f32('six', 6)],
    fn: (v) => (v * Math.min(6, Math.max(0, v + 3))) / 6,
  },
  {
    name: '0.5·x·(1+Erf(x/√2))',
    expected: 'GELU',
    nodes: [
      makeNode('Div', ['h', 'sqrt2'], ['d'], 'div'),
      makeNode('Erf', ['d'], ['e'], 'erf'),
      makeNode('Add', ['e', 'one'], ['p'], 'add1'),
      makeNode('Mul', ['h', 'p'], ['m'], 'mul'),
      makeNode('Mul', ['m', 'half'], ['a'], 'half'),
    ],
    consts: [f32('sqrt2', Math.SQRT2), f32('one', 1), f32('half', 0.5)],
    fn: (v) => 0.5 * v * (1 + erf(v / Math.SQRT2)),
  },
];

describe('activation regions', () => {
  it.each(ACTIVATIONS)('$name is recognised as $expected, covering all its nodes', ({ nodes, consts, expected }) => {
    const g = graphOf(sandwich(nodes, consts));
    const regions = findActivationRegions(g, inferShapes(g));
    expect(regions).toHaveLength(1);
    const [region] = regions;
    expect(region!.name).toBe(expected);
    expect(region!.input).toBe('h');
    expect(region!.output).toBe('a');
    expect(region!.nodes.map((n) => n.name).sort()).toEqual(nodes.map((n) => n.name).sort());
  });

  it.each(ACTIVATIONS)('$name under activation → pass: relevance at its input equals relevance at its output', async ({ nodes, consts, expected }) => {
    const model = sandwich(nodes, consts);
    const composite = {
      name: 't',
      entries: [
        { match: { kind: 'activation' as const }, rule: 'pass' },
        { match: { kind: 'dense' as const }, rule: 'epsilon', params: { epsilon: 1e-6 } },
      ],
    };
    const c = compileExplainer(model, { method: 'lrp', composite, relevanceAt: ['h', 'a'] });
    const unit = c.units.find((u) => u.output === 'a')!;
    expect(unit.kind).toBe('activation');
    expect(unit.opType).toBe(expected);
    expect(c.assignments.get(unit)!.rule.name).toBe('pass');
    const x = Float32Array.of(0.9, -0.4, 0.6);
    const out = await runModel(c.bytes(), { x: { data: x, dims: [1, 3] }, [c.seedName]: { data: Float32Array.of(1, 0), dims: [1, 2] } });
    const ra = out[c.relevanceAtNames.a!]!.data;
    const rh = out[c.relevanceAtNames.h!]!.data;
    expect(Math.max(...Array.from(ra, Math.abs))).toBeGreaterThan(1e-3);
    expect(Array.from(rh)).toEqual(Array.from(ra));

    // Control: the plain gradient through the same nodes is not the identity.
    const cg = compileExplainer(model, { method: 'gradient', relevanceAt: ['h', 'a'] });
    const og = await runModel(cg.bytes(), { x: { data: x, dims: [1, 3] }, [cg.seedName]: { data: Float32Array.of(1, 0), dims: [1, 2] } });
    expect(relErr(og[cg.relevanceAtNames.h!]!.data, og[cg.relevanceAtNames.a!]!.data)).toBeGreaterThan(1e-2);
  });

  it('the recognised regions compute what their names say', async () => {
    // Sanity check of the hand-built graphs: run each sandwich up to 'a' and compare with the closed form.
    for (const act of ACTIVATIONS) {
      const m = buildModel({
        nodes: act.nodes.map((n) => n),
        initializers: act.consts,
        inputs: [valueInfo('h', [1, 5])],
        outputs: [valueInfo('a', [1, 5])],
      });
      const h = Float32Array.of(-4, -1.5, -0.2, 0.7, 3.5);
      const a = (await runModel(m, { h: { data: h, dims: [1, 5] } })).a!.data;
      expect(relErr(a, Array.from(h, act.fn)), act.name).toBeLessThan(1e-5);
    }
  });

  it('a product whose inner tensor is used elsewhere is not a region', () => {
    const m = buildModel({
      nodes: [makeNode('Sigmoid', ['x'], ['s'], 'sig'), makeNode('Mul', ['x', 's'], ['a'], 'mul'), makeNode('Add', ['a', 's'], ['y'], 'add')],
      inputs: [valueInfo('x', [1, 4])],
      outputs: [valueInfo('y', [1, 4])],
    });
    const g = graphOf(m);
    const regions = findActivationRegions(g, inferShapes(g));
    expect(regions.some((r) => r.nodes.some((n) => n.name === 'mul') && r.output === 'a')).toBe(false);
  });
});

describe('terminal softmax', () => {
  const model = (op: 'Softmax' | 'LogSoftmax') =>
    buildModel({
      nodes: [makeNode('Gemm', ['x', 'W'], ['logits'], 'dense', { transB: { int: 1 } }), makeNode(op, ['logits'], ['probs'], 'sm', { axis: { int: -1 } })],
      initializers: [floatTensor('W', uniform(rng(2), 12), [4, 3])],
      inputs: [valueInfo('x', [1, 3])],
      outputs: [valueInfo('probs', [1, 4])],
    });

  it.each(['Softmax', 'LogSoftmax'] as const)('resolveExplainedOutput explains the input of a terminal %s', (op) => {
    const g = graphOf(model(op));
    expect(resolveExplainedOutput(g)).toEqual({ output: 'probs', scores: 'logits', skipped: op });
    expect(resolveExplainedOutput(g, undefined, true)).toEqual({ output: 'probs', scores: 'probs' });
    expect(() => resolveExplainedOutput(g, 'nope')).toThrow(/no output 'nope'.*|outputs are/);
  });

  it('the compiled explainer returns the logits as scores', async () => {
    const c = compileExplainer(model('Softmax'), { method: 'gradient' });
    expect(c.scoresName).toBe('logits');
    const x = Float32Array.of(0.3, -0.2, 0.8);
    const out = await runModel(c.bytes(), { x: { data: x, dims: [1, 3] }, [c.seedName]: { data: Float32Array.of(0, 0, 1, 0), dims: [1, 4] } });
    // The gradient of logit 2 w.r.t. x is row 2 of W.
    const W = Array.from(new Float32Array(model('Softmax').graph!.initializer[0]!.rawData.slice().buffer));
    expect(relErr(out[c.attributionNames.x!]!.data, W.slice(6, 9))).toBeLessThan(1e-6);
  });
});
