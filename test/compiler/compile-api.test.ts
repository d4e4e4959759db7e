/**
 * compileExplainer's contract as a caller sees it — the names of the seed, scores and attribution tensors, seed
 * modes, explained output, errors — on y = Wx + b, where every number it returns is a line of arithmetic.
 */
import { describe, expect, it } from 'vitest';
import { SEED_NAME, compileExplainer } from '../../src/compiler/compile.js';
import { InvalidArgumentError, XsysError } from '../../src/errors.js';
import { serializeModel } from '../../src/onnx/model.js';
import { buildModel, floatTensor, makeNode, runModel, valueInfo } from '../helpers/onnx.js';

const W = [
  [1, -2, 0.5, 3],
  [0, 1, -1, 2],
];
const B = [0.1, -0.2];
const X = [0.5, -1, 2, 0.25];
/** W x + b = 4.35, −2.7. */
const Z = [4.35, -2.7];

function linear(withSoftmax = false) {
  return buildModel({
    nodes: [
      makeNode('Gemm', ['x', 'W', 'b'], ['logits'], 'fc', { transB: { int: 1 } }),
      ...(withSoftmax ? [makeNode('Softmax', ['logits'], ['probs'], 'softmax', { axis: { int: 1 } })] : []),
    ],
    initializers: [floatTensor('W', Float32Array.from(W.flat()), [2, 4]), floatTensor('b', Float32Array.from(B), [2])],
    inputs: [valueInfo('x', ['N', 4])],
    outputs: [valueInfo(withSoftmax ? 'probs' : 'logits', ['N', 2])],
  });
}

const feeds = (seed: number[], x = X) => ({ x: { data: Float32Array.from(x), dims: [x.length / 4, 4] }, [SEED_NAME]: { data: Float32Array.from(seed), dims: [x.length / 4, 2] } });

function expectClose(actual: ArrayLike<number>, expected: number[], tol = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) expect(Math.abs(actual[i]! - expected[i]!), `element ${i}: ${actual[i]} vs ${expected[i]}`).toBeLessThan(tol * Math.max(1, Math.abs(expected[i]!)));
}

describe('compileExplainer', () => {
  it('gradient: one extra input (the seed), scores and the attribution Wᵀ·seed as outputs', async () => {
    const c = compileExplainer(linear(), { method: 'gradient' });
    expect(SEED_NAME).toBe('xsys_seed');
    expect(c.seedName).toBe(SEED_NAME);
    expect(c.inputNames).toEqual(['x']);
    expect(c.scoresName).toBe('logits');
    expect(c.attributionKind).toBe('gradient');
    expect(c.outputNames).toEqual(expect.arrayContaining(['logits', c.attributionNames.x!]));
    expect(c.model.graph!.input.map((i) => i.name)).toContain(SEED_NAME);
    const out = await runModel(c.bytes(), feeds([0.5, -2]));
    expectClose(out.logits!.data, Z);
    // Wᵀ (0.5, −2) = (0.5, −3, 2.25, −2.5).
    expectClose(out[c.attributionNames.x!]!.data, [0.5, -3, 2.25, -2.5]);
  });

  it('lrp seed modes: logit starts from seed ⊙ z, direct from the seed itself', async () => {
    const eps = 0.3;
    const logit = compileExplainer(linear(), { method: 'lrp', composite: 'epsilon-plus', params: { epsilon: eps } });
    const direct = compileExplainer(serializeModel(linear()), { method: 'lrp', composite: 'epsilon-plus', params: { epsilon: eps }, seedMode: 'direct' });
    expect(logit.attributionKind).toBe('relevance');
    const a = (await runModel(logit.bytes(), feeds([0, 1])))[logit.attributionNames.x!]!.data;
    const d = (await runModel(direct.bytes(), feeds([0, 1])))[direct.attributionNames.x!]!.data;
    // Class 1, z = −2.7: R_i = x_i W_1i · R / (z − ε).
    expectClose(a, W[1]!.map((w, i) => (X[i]! * w * Z[1]!) / (Z[1]! - eps)));
    expectClose(d, W[1]!.map((w, i) => (X[i]! * w) / (Z[1]! - eps)));
    // The rule each layer got.
    expect([...logit.assignments].map(([u, r]) => [u.name, r.rule.name, r.params.epsilon])).toEqual([['fc', 'epsilon', eps]]);
  });

  it('explains the logits before a terminal Softmax, or the probabilities when asked', async () => {
    const c = compileExplainer(linear(true), { method: 'gradient' });
    expect(c.scoresName).toBe('logits');
    const out = await runModel(c.bytes(), feeds([1, 0]));
    expectClose(out.logits!.data, Z);
    expectClose(out[c.attributionNames.x!]!.data, W[0]!);

    const p = compileExplainer(linear(true), { method: 'gradient', explainProbabilities: true });
    expect(p.scoresName).toBe('probs');
    const outP = await runModel(p.bytes(), feeds([1, 0]));
    // ∂p_0/∂x = p_0 p_1 (W_0 − W_1).
    const e0 = Math.exp(Z[0]!);
    const e1 = Math.exp(Z[1]!);
    const p0 = e0 / (e0 + e1);
    expectClose(outP.probs!.data, [p0, 1 - p0]);
    expectClose(outP[p.attributionNames.x!]!.data, W[0]!.map((w, i) => p0 * (1 - p0) * (w - W[1]![i]!)), 1e-4);
  });

  it('relevanceAt exposes intermediate tensors; the input itself can be one', async () => {
    const c = compileExplainer(linear(true), { method: 'gradient', relevanceAt: ['logits', 'x'] });
    const out = await runModel(c.bytes(), feeds([0.25, 4]));
    expectClose(out[c.relevanceAtNames.logits!]!.data, [0.25, 4]);
    // Wᵀ (0.25, 4) = (0.25, 3.5, −3.875, 8.75).
    expectClose(out[c.relevanceAtNames.x!]!.data, [0.25, 3.5, -3.875, 8.75]);
    expectClose(out[c.attributionNames.x!]!.data, [0.25, 3.5, -3.875, 8.75]);
  });

  it('rejects what cannot be compiled, with typed errors', () => {
    expect(() => compileExplainer(linear(), { method: 'gradient', composite: 'epsilon-plus' })).toThrow(InvalidArgumentError);
    expect(() => compileExplainer(linear(), { method: 'gradient', relevanceAt: ['nope'] })).toThrow(/no tensor named 'nope'/);
    expect(() => compileExplainer(linear(), { method: 'lrp', composite: 'nope' })).toThrow(/unknown composite 'nope'/);
    const constOut = buildModel({
      nodes: [makeNode('Relu', ['x'], ['r'], 'relu'), makeNode('Constant', [], ['k'], 'k', { value_floats: { floats: [1, 2] } }), makeNode('Identity', ['k'], ['y'], 'id')],
      inputs: [valueInfo('x', [1, 2])],
      outputs: [valueInfo('y', [2]), valueInfo('r', [1, 2])],
    });
    let err: unknown;
    try {
      compileExplainer(constOut, { method: 'gradient' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(XsysError);
    expect((err as XsysError).exitCode).toBe(3);
    expect((err as XsysError).message).toMatch(/does not depend on the float inputs/);
  });
});
