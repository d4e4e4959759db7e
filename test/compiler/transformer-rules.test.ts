/**
 * The AttnLRP rules on one-op models, against formulas computed here: the identity rule, the uniform rule on a product
 * of two inputs (a model with two float inputs), stop-gradient, and a relevance rule (Gamma) inside a Gradient × Input
 * composite through the form adapter, which must give what the same rule gives in a classic relevance pass.
 */
import { describe, expect, it } from 'vitest';
import { compileExplainer } from '../../src/compiler/compile.js';
import { parseComposite } from '../../src/composites/index.js';
import { buildModel, floatTensor, makeNode, relErr, rng, runModel, uniform, valueInfo } from '../helpers/onnx.js';

const r = rng(99);

describe('AttnLRP rules', () => {
  it('identity rule: relevance passes unchanged through Tanh (x·g_x = tanh(x)·g_y)', async () => {
    const model = buildModel({ nodes: [makeNode('Tanh', ['x'], ['y'], 'tanh')], inputs: [valueInfo('x', [1, 8])], outputs: [valueInfo('y', [1, 8])] });
    const c = compileExplainer(model, { method: 'lrp', composite: 'attnlrp' });
    const x = uniform(r, 8, -2, 2);
    const seed = uniform(r, 8);
    const out = await runModel(c.bytes(), { x: { data: x, dims: [1, 8] }, [c.seedName]: { data: seed, dims: [1, 8] } });
    const want = Array.from(x, (v, i) => Math.tanh(v) * seed[i]!);
    expect(relErr(out[c.attributionNames.x!]!.data, want)).toBeLessThan(1e-5);
  });

  it('uniform rule: each factor of x1·x2 gets half the relevance; stop-gradient gives none', async () => {
    const model = buildModel({
      nodes: [makeNode('Mul', ['x1', 'x2'], ['p'], 'mul'), makeNode('Softmax', ['p'], ['y'], 'sm', { axis: { int: -1 } })],
      inputs: [valueInfo('x1', [2, 5]), valueInfo('x2', [2, 5])],
      outputs: [valueInfo('y', [2, 5])],
    });
    // The Softmax makes the product a 'scores' unit; explaining probabilities keeps it on the path.
    const c = compileExplainer(model, { method: 'lrp', composite: 'attnlrp', explainProbabilities: true });
    expect(c.units.find((u) => u.name === 'mul')!.kind).toBe('scores');
    const x1 = uniform(r, 10);
    const x2 = uniform(r, 10);
    const seed = uniform(r, 10);
    const feeds = { x1: { data: x1, dims: [2, 5] }, x2: { data: x2, dims: [2, 5] }, [c.seedName]: { data: seed, dims: [2, 5] } };
    const out = await runModel(c.bytes(), feeds);
    // g_p = softmax backward of the seed; R_x1 = x1·x2·g_p/2 = R_x2.
    const y = out[c.scoresName]!.data;
    const gp = new Float64Array(10);
    for (let b = 0; b < 2; b++) {
      let dot = 0;
      for (let j = 0; j < 5; j++) dot += seed[b * 5 + j]! * y[b * 5 + j]!;
      for (let j = 0; j < 5; j++) gp[b * 5 + j] = y[b * 5 + j]! * (seed[b * 5 + j]! - dot);
    }
    const want = Array.from(gp, (g, i) => (x1[i]! * x2[i]! * g) / 2);
    expect(relErr(out[c.attributionNames.x1!]!.data, want)).toBeLessThan(1e-5);
    expect(relErr(out[c.attributionNames.x2!]!.data, want)).toBeLessThan(1e-5);
    const cp = compileExplainer(model, { method: 'lrp', composite: 'cp-lrp', explainProbabilities: true });
    const outCp = await runModel(cp.bytes(), feeds);
    expect(Array.from(outCp[cp.attributionNames.x1!]!.data).every((v) => v === 0)).toBe(true);
  });

  it("Gamma on dense layers inside attnlrp ('extends') equals Gamma in a relevance pass", async () => {
    const w = uniform(r, 6 * 4);
    const model = buildModel({
      nodes: [makeNode('Gemm', ['x', 'W'], ['y'], 'fc')],
      initializers: [floatTensor('W', w, [6, 4])],
      inputs: [valueInfo('x', [3, 6])],
      outputs: [valueInfo('y', [3, 4])],
    });
    const entry = { match: { kind: 'dense' }, rule: 'gamma', params: { gamma: 0.25 } };
    const mixed = parseComposite({ name: 'attnlrp-gamma', extends: 'attnlrp', entries: [entry] });
    expect(mixed.form).toBe('gradient');
    expect(mixed.entries.length).toBe(5);
    const a = compileExplainer(model, { method: 'lrp', composite: mixed });
    // The composite propagates in gradient form, but what the explainer returns is relevance.
    expect(a.attributionKind).toBe('relevance');
    const b = compileExplainer(model, { method: 'lrp', composite: parseComposite({ name: 'gamma', entries: [entry] }) });
    const x = uniform(r, 18);
    const seed = Float32Array.from({ length: 12 }, (_, i) => (i % 4 === 1 ? 1 : 0));
    const feeds = { x: { data: x, dims: [3, 6] }, xsys_seed: { data: seed, dims: [3, 4] } };
    const ra = (await runModel(a.bytes(), feeds))[a.attributionNames.x!]!.data;
    const rb = (await runModel(b.bytes(), feeds))[b.attributionNames.x!]!.data;
    expect(relErr(ra, rb)).toBeLessThan(1e-5);
    // And not the plain gradient × input.
    const plain = compileExplainer(model, { method: 'lrp', composite: 'attnlrp' });
    const rp = (await runModel(plain.bytes(), feeds))[plain.attributionNames.x!]!.data;
    expect(relErr(rp, rb)).toBeGreaterThan(1e-2);
  });

  it('a fused op of the ORT transformer optimiser is an UnsupportedNodeError naming node and op, with a hint', () => {
    const n = makeNode('FastGelu', ['x'], ['y'], 'fused_gelu');
    n.domain = 'com.microsoft';
    const model = buildModel({ nodes: [n], inputs: [valueInfo('x', [1, 4])], outputs: [valueInfo('y', [1, 4])] });
    model.opsetImport.push({ $typeName: 'onnx.OperatorSetIdProto', domain: 'com.microsoft', version: 1n } as (typeof model.opsetImport)[number]);
    let err: (Error & { hint?: string; nodeName?: string }) | undefined;
    try {
      compileExplainer(model, { method: 'lrp', composite: 'attnlrp' });
    } catch (e) {
      err = e as Error & { hint?: string };
    }
    expect(err?.name).toBe('UnsupportedNodeError');
    expect(err?.message).toMatch(/node 'fused_gelu' \(FastGelu\).*domain com\.microsoft/);
    expect(err?.hint).toMatch(/fused op of ONNX Runtime's transformer optimiser; explain the unfused export/);
  });

  it("user composites: unknown 'extends' and a bad 'form' are errors", () => {
    expect(() => parseComposite({ extends: 'attnlrpp', entries: [] })).toThrow(/unknown composite 'attnlrpp'/);
    expect(() => parseComposite({ form: 'grad', entries: [] })).toThrow(/'form' must be 'relevance' or 'gradient'/);
  });
});
