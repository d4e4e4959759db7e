/**
 * Each LRP rule, compiled into a tiny model and run by ONNX Runtime, against the rule's formula computed by hand
 * (the table "The rules as the fixtures encode them" of the conformance README), in float64 from the same float32
 * weights and inputs.
 */
import { describe, expect, it } from 'vitest';
import { compileExplainer, type CompileOptions } from '../../src/compiler/compile.js';
import type { Composite } from '../../src/composites/types.js';
import { buildModel, floatTensor, makeNode, relErr, rng, runModel, uniform, valueInfo, type Feeds } from '../helpers/onnx.js';
import type { ModelProto } from 'onnx-buf';

type Vec = number[];
const pos = (v: number) => (v > 0 ? v : 0);
const neg = (v: number) => (v < 0 ? v : 0);
const stab = (z: number, eps: number) => z + (z >= 0 ? eps : -eps);

/** A linear layer as a dense matrix M(W) (outputs × inputs) plus its bias broadcast to every output. */
interface Layer {
  W: Float32Array;
  b: Float32Array;
  nIn: number;
  nOut: number;
  /** M built from the weights transformed element-wise (absent connections stay 0). */
  M(fn: (w: number) => number): number[][];
  /** The bias transformed element-wise and broadcast to the outputs. */
  B(fn: (b: number) => number): Vec;
}

const matVec = (M: number[][], x: Vec): Vec => M.map((row) => row.reduce((a, m, i) => a + m * x[i]!, 0));
const matTVec = (M: number[][], s: Vec): Vec => M[0]!.map((_, i) => M.reduce((a, row, j) => a + row[i]! * s[j]!, 0));
const addV = (a: Vec, b: Vec) => a.map((v, i) => v + b[i]!);
const mulV = (a: Vec, b: Vec) => a.map((v, i) => v * b[i]!);
const id = (w: number) => w;

/** Gemm x[1,3] · W[2,3]ᵀ (transB = 1) + b[2]. */
function gemmLayer(r: () => number): Layer {
  const W = uniform(r, 6);
  const b = uniform(r, 2, -0.5, 0.5);
  return {
    W, b, nIn: 3, nOut: 2,
    M: (fn) => [0, 1].map((j) => [0, 1, 2].map((i) => fn(W[j * 3 + i]!))),
    B: (fn) => Array.from(b, fn),
  };
}

/** Conv 1→2 channels, kernel 2×2, on a 1×1×3×3 input (no padding, stride 1): output 1×2×2×2. */
function convLayer(r: () => number): Layer {
  const W = uniform(r, 8);
  const b = uniform(r, 2, -0.5, 0.5);
  return {
    W, b, nIn: 9, nOut: 8,
    M(fn) {
      const M = Array.from({ length: 8 }, () => new Array<number>(9).fill(0));
      for (let co = 0; co < 2; co++)
        for (let oh = 0; oh < 2; oh++)
          for (let ow = 0; ow < 2; ow++)
            for (let kh = 0; kh < 2; kh++) for (let kw = 0; kw < 2; kw++) M[(co * 2 + oh) * 2 + ow]![(oh + kh) * 3 + (ow + kw)] = fn(W[co * 4 + kh * 2 + kw]!);
      return M;
    },
    B: (fn) => Array.from({ length: 8 }, (_, k) => fn(b[Math.floor(k / 4)]!)),
  };
}

interface Built {
  model: ModelProto;
  input: string;
  inputDims: number[];
  outDims: number[];
  /** The tensor entering the linear layer. */
  layerIn: string;
}

function layerModel(kind: 'gemm' | 'conv', L: Layer, opts: { relu?: boolean; bias?: boolean } = {}): Built {
  const bias = opts.bias ?? true;
  const inputDims = kind === 'gemm' ? [1, 3] : [1, 1, 3, 3];
  const outDims = kind === 'gemm' ? [1, 2] : [1, 2, 2, 2];
  const nodes = [];
  let x = 'x';
  if (opts.relu) {
    nodes.push(makeNode('Relu', ['x'], ['a'], 'relu0'));
    x = 'a';
  }
  const ins = bias ? [x, 'W', 'b'] : [x, 'W'];
  nodes.push(kind === 'gemm' ? makeNode('Gemm', ins, ['y'], 'dense0', { transB: { int: 1 } }) : makeNode('Conv', ins, ['y'], 'conv0', { kernel_shape: { ints: [2, 2] } }));
  const inits = [floatTensor('W', L.W, kind === 'gemm' ? [2, 3] : [2, 1, 2, 2])];
  if (bias) inits.push(floatTensor('b', L.b, [2]));
  return { model: buildModel({ nodes, initializers: inits, inputs: [valueInfo('x', inputDims)], outputs: [valueInfo('y', outDims)] }), input: 'x', inputDims, outDims, layerIn: x };
}

function composite(kind: 'dense' | 'conv', rule: string, params: Record<string, number> = {}, extra: Composite['entries'] = []): Composite {
  return { name: 't', entries: [...extra, { match: { kind }, rule, params }] };
}

/** Compiles, runs with the given seed, returns the attribution at the input and the requested intermediate tensors. */
async function explainWith(b: Built, x: Float32Array, seed: Float32Array, options: Omit<CompileOptions, 'method'> & { method?: 'lrp' | 'gradient' }) {
  const c = compileExplainer(b.model, { method: 'lrp', seedMode: 'direct', ...options });
  const feeds: Feeds = { [b.input]: { data: x, dims: b.inputDims }, [c.seedName]: { data: seed, dims: b.outDims } };
  const out = await runModel(c.bytes(), feeds);
  const at: Record<string, Float32Array> = {};
  for (const [t, name] of Object.entries(c.relevanceAtNames)) at[t] = out[name]!.data;
  return { attribution: out[c.attributionNames[b.input]!]!.data, scores: out[c.scoresName]!.data, at, compiled: c };
}

// ----- the formulas -----
type RuleFn = (L: Layer, x: Vec, R: Vec, p: Record<string, number>) => Vec;

const epsilonRule: RuleFn = (L, x, R, p) => {
  const M = L.M(id);
  const z = addV(matVec(M, x), L.B(id));
  const s = R.map((r, j) => r / stab(z[j]!, p.epsilon ?? 1e-6));
  return mulV(x, matTVec(M, s));
};

/** The x⁺/x⁻ split: z = f(x⁺; Wa, ba) + f(x⁻; Wb, 0); R = x⁺ ⊙ fᵀ(s; Wa) + x⁻ ⊙ fᵀ(s; Wb). */
function split(L: Layer, x: Vec, R: Vec, wa: (w: number) => number, wb: (w: number) => number, ba: (b: number) => number, eps: number, gate?: (j: number) => boolean): Vec {
  const Ma = L.M(wa);
  const Mb = L.M(wb);
  const xp = x.map(pos);
  const xn = x.map(neg);
  const z = addV(addV(matVec(Ma, xp), L.B(ba)), matVec(Mb, xn));
  const s = R.map((r, j) => (gate && !gate(j) ? 0 : r / stab(z[j]!, eps)));
  return addV(mulV(xp, matTVec(Ma, s)), mulV(xn, matTVec(Mb, s)));
}

const zplusRule: RuleFn = (L, x, R, p) => split(L, x, R, pos, neg, pos, p.stabilizer ?? 1e-6);

const alphaBetaRule: RuleFn = (L, x, R, p) => {
  const rp = split(L, x, R, pos, neg, pos, 1e-6);
  const rn = split(L, x, R, neg, pos, neg, 1e-6);
  return rp.map((v, i) => p.alpha! * v - p.beta! * rn[i]!);
};

const gammaRule: RuleFn = (L, x, R, p) => {
  const g = p.gamma!;
  const z = addV(matVec(L.M(id), x), L.B(id));
  const up = (w: number) => w + g * pos(w);
  const down = (w: number) => w + g * neg(w);
  const a = split(L, x, R, up, down, up, 1e-6, (j) => z[j]! > 0);
  const b = split(L, x, R, down, up, down, 1e-6, (j) => z[j]! < 0);
  return addV(a, b);
};

const zboxRule: RuleFn = (L, x, R, p) => {
  const { low: l, high: h } = p as { low: number; high: number };
  const M = L.M(id);
  const Mp = L.M(pos);
  const Mn = L.M(neg);
  const ls = x.map(() => l);
  const hs = x.map(() => h);
  const z = addV(matVec(M, x), L.B(id)).map((v, j) => v - (matVec(Mp, ls)[j]! + L.B(pos)[j]!) - (matVec(Mn, hs)[j]! + L.B(neg)[j]!));
  const s = R.map((r, j) => r / stab(z[j]!, 1e-6));
  const a = mulV(x, matTVec(M, s));
  const bp = matTVec(Mp, s);
  const bn = matTVec(Mn, s);
  return a.map((v, i) => v - l * bp[i]! - h * bn[i]!);
};

const wsquareRule: RuleFn = (L, x, R) => {
  const sq = (w: number) => w * w;
  const M2 = L.M(sq);
  const z = addV(matVec(M2, x.map(() => 1)), L.B(sq));
  return matTVec(M2, R.map((r, j) => r / stab(z[j]!, 1e-6)));
};

const flatRule: RuleFn = (L, x, R) => {
  const M1 = L.M(() => 1);
  const z = matVec(M1, x.map(() => 1));
  return matTVec(M1, R.map((r, j) => r / stab(z[j]!, 1e-6)));
};

const TOL = 1e-4;

describe.each([
  ['dense', 'gemm'],
  ['conv', 'conv'],
] as const)('weight rules on a single %s layer', (kind, layerKind) => {
  const cases: [string, Record<string, number>, RuleFn][] = [
    ['epsilon', { epsilon: 1e-6 }, epsilonRule],
    ['zplus', {}, zplusRule],
    ['alpha-beta', { alpha: 2, beta: 1 }, alphaBetaRule],
    ['gamma', { gamma: 0.25 }, gammaRule],
    ['zbox', { low: -1, high: 2 }, zboxRule],
    ['wsquare', {}, wsquareRule],
    ['flat', {}, flatRule],
  ];
  it.each(cases)('%s matches its formula', async (rule, params, formula) => {
    const r = rng(rule.length * 101 + (kind === 'conv' ? 7 : 0));
    const L = layerKind === 'gemm' ? gemmLayer(r) : convLayer(r);
    const b = layerModel(layerKind, L);
    // Inputs of both signs; the seed (relevance at the output) of both signs too.
    const x = uniform(r, L.nIn, -1, 1);
    const R = uniform(r, L.nOut, -1, 1);
    const got = await explainWith(b, x, R, { composite: composite(kind, rule, params) });
    const want = formula(L, Array.from(x), Array.from(R), params);
    expect(got.attribution.length).toBe(L.nIn);
    expect(relErr(got.attribution, want)).toBeLessThan(TOL);
    // Guard against a vacuous comparison.
    expect(Math.max(...want.map(Math.abs))).toBeGreaterThan(1e-3);
  });
});

describe('rule details', () => {
  it('epsilon with the LRP seed convention (relevance = one-hot × logits)', async () => {
    const r = rng(3);
    const L = gemmLayer(r);
    const b = layerModel('gemm', L);
    const x = uniform(r, 3);
    const c = compileExplainer(b.model, { method: 'lrp', composite: composite('dense', 'epsilon', { epsilon: 1e-6 }) });
    const out = await runModel(c.bytes(), { x: { data: x, dims: [1, 3] }, [c.seedName]: { data: Float32Array.of(0, 1), dims: [1, 2] } });
    const logits = out[c.scoresName]!.data;
    const want = epsilonRule(L, Array.from(x), [0, logits[1]!], { epsilon: 1e-6 });
    expect(relErr(out[c.attributionNames.x!]!.data, want)).toBeLessThan(TOL);
    // Epsilon without bias absorption: Σ R_in = z_1 − b_1 (up to ε).
    const sum = want.reduce((a, v) => a + v, 0);
    expect(sum).toBeCloseTo(logits[1]! - L.b[1]!, 4);
  });

  it('zplus: negative inputs use the x⁻ half; inputs proven non-negative by a Relu give the same formula', async () => {
    const r = rng(11);
    const L = gemmLayer(r);
    // Mixed-sign weights in every column, so that the negative input has W⁻ contributions.
    L.W.set([0.5, -0.4, 0.3, -0.2, 0.7, -0.6]);
    const x = Float32Array.of(0.8, -0.6, 0.3);
    const R = Float32Array.of(1.0, -0.5);

    // Raw input with a negative entry: both halves.
    const raw = layerModel('gemm', L);
    const g1 = await explainWith(raw, x, R, { composite: composite('dense', 'zplus') });
    const w1 = zplusRule(L, Array.from(x), Array.from(R), {});
    expect(relErr(g1.attribution, w1)).toBeLessThan(TOL);
    expect(Math.abs(w1[1]!)).toBeGreaterThan(1e-3); // the negative input really gets relevance from W⁻
    expect(g1.compiled.model.graph!.node.some((n) => n.opType === 'Min')).toBe(true);

    // x → Relu → Gemm: the layer input is non-negative; the x⁻ half must be dropped, not miscomputed.
    const rel = layerModel('gemm', L, { relu: true });
    const g2 = await explainWith(rel, x, R, { composite: composite('dense', 'zplus'), relevanceAt: ['a'] });
    const a = Array.from(x, pos);
    const w2 = zplusRule(L, a, Array.from(R), {});
    expect(relErr(g2.at.a!, w2)).toBeLessThan(TOL);
    // The Relu has no rule: plain gradient (mask) back to x.
    expect(relErr(g2.attribution, w2.map((v, i) => (x[i]! > 0 ? v : 0)))).toBeLessThan(TOL);
    expect(g2.compiled.model.graph!.node.some((n) => n.opType === 'Min')).toBe(false);
  });

  it('norm on an Add of two activations: R_i = x_i · R / stab(Σ x)', async () => {
    const model = buildModel({
      nodes: [makeNode('Add', ['p', 'q'], ['y'], 'add0')],
      inputs: [valueInfo('p', [1, 4]), valueInfo('q', [1, 4])],
      outputs: [valueInfo('y', [1, 4])],
    });
    const p = Float32Array.of(0.5, -1.0, 2.0, 0.25);
    const q = Float32Array.of(1.5, 0.5, -0.5, -0.25);
    const R = Float32Array.of(1, 2, -1, 3);
    const c = compileExplainer(model, { method: 'lrp', seedMode: 'direct', composite: { name: 't', entries: [{ match: { kind: 'sum' }, rule: 'norm', params: { stabilizer: 1e-6 } }] } });
    const out = await runModel(c.bytes(), { p: { data: p, dims: [1, 4] }, q: { data: q, dims: [1, 4] }, [c.seedName]: { data: R, dims: [1, 4] } });
    const z = Array.from(p, (v, i) => v + q[i]!);
    const wantP = z.map((zz, i) => (p[i]! * R[i]!) / stab(zz, 1e-6));
    const wantQ = z.map((zz, i) => (q[i]! * R[i]!) / stab(zz, 1e-6));
    expect(relErr(out[c.attributionNames.p!]!.data, wantP)).toBeLessThan(TOL);
    expect(relErr(out[c.attributionNames.q!]!.data, wantQ)).toBeLessThan(TOL);
    // Position 3 has z = 0: stab(0) = +ε, so R_p = 0.25·3/1e-6 — large but finite and exactly the formula.
    expect(Number.isFinite(out[c.attributionNames.p!]!.data[3]!)).toBe(true);
  });

  it('pass: the relevance below an activation equals the relevance above it', async () => {
    const r = rng(5);
    const L = gemmLayer(r);
    const model = buildModel({
      nodes: [makeNode('Gemm', ['x', 'W', 'b'], ['h'], 'dense0', { transB: { int: 1 } }), makeNode('Tanh', ['h'], ['y'], 'tanh0')],
      initializers: [floatTensor('W', L.W, [2, 3]), floatTensor('b', L.b, [2])],
      inputs: [valueInfo('x', [1, 3])],
      outputs: [valueInfo('y', [1, 2])],
    });
    const x = uniform(r, 3);
    const R = Float32Array.of(0.7, -1.3);
    const got = await explainWith({ model, input: 'x', inputDims: [1, 3], outDims: [1, 2], layerIn: 'x' }, x, R, {
      composite: composite('dense', 'epsilon', { epsilon: 1e-6 }, [{ match: { kind: 'activation' }, rule: 'pass' }]),
      relevanceAt: ['h'],
    });
    expect(Array.from(got.at.h!)).toEqual(Array.from(R));
    expect(relErr(got.attribution, epsilonRule(L, Array.from(x), Array.from(R), { epsilon: 1e-6 }))).toBeLessThan(TOL);
  });

  const reluModel = () =>
    buildModel({ nodes: [makeNode('Relu', ['x'], ['y'], 'relu0')], inputs: [valueInfo('x', [1, 6])], outputs: [valueInfo('y', [1, 6])] });
  const xr = Float32Array.of(1.0, -1.0, 0.5, -0.5, 2.0, -2.0);
  const Rr = Float32Array.of(0.3, 0.4, -0.6, -0.7, 1.5, -1.5);

  it('guided-backprop on a Relu: clamp(gradient through the Relu, min 0)', async () => {
    const got = await explainWith({ model: reluModel(), input: 'x', inputDims: [1, 6], outDims: [1, 6], layerIn: 'x' }, xr, Rr, {
      composite: { name: 't', entries: [{ match: { opType: 'Relu' }, rule: 'guided-backprop' }] },
    });
    expect(Array.from(got.attribution)).toEqual(Array.from(xr, (v, i) => Math.fround(pos(v > 0 ? Rr[i]! : 0))));
  });

  it('deconvnet on a Relu: clamp(incoming signal, min 0), ignoring the forward mask', async () => {
    const got = await explainWith({ model: reluModel(), input: 'x', inputDims: [1, 6], outDims: [1, 6], layerIn: 'x' }, xr, Rr, {
      composite: { name: 't', entries: [{ match: { opType: 'Relu' }, rule: 'deconvnet' }] },
    });
    expect(Array.from(got.attribution)).toEqual(Array.from(Rr, (v) => Math.fround(pos(v))));
  });

  it('relevance conservation: zplus without bias through two layers keeps Σ R', async () => {
    const r = rng(17);
    // Weights biased positive so that most hidden units are active.
    const W1 = uniform(r, 5 * 4, -0.5, 1);
    const W2 = uniform(r, 3 * 5);
    const model = buildModel({
      nodes: [
        makeNode('Gemm', ['x', 'W1'], ['h'], 'd1', { transB: { int: 1 } }),
        makeNode('Relu', ['h'], ['a'], 'r1'),
        makeNode('Gemm', ['a', 'W2'], ['y'], 'd2', { transB: { int: 1 } }),
      ],
      initializers: [floatTensor('W1', W1, [5, 4]), floatTensor('W2', W2, [3, 5])],
      inputs: [valueInfo('x', [1, 4])],
      outputs: [valueInfo('y', [1, 3])],
    });
    const x = uniform(r, 4, 0.1, 1);
    const R = Float32Array.of(0.5, 1.25, 2.0);
    const got = await explainWith({ model, input: 'x', inputDims: [1, 4], outDims: [1, 3], layerIn: 'x' }, x, R, {
      composite: composite('dense', 'zplus', {}, [{ match: { kind: 'activation' }, rule: 'pass' }]),
      relevanceAt: ['a'],
    });
    expect(got.scores.some((v) => v !== 0)).toBe(true);
    const sumIn = got.attribution.reduce((s, v) => s + v, 0);
    const sumMid = got.at.a!.reduce((s, v) => s + v, 0);
    expect(sumMid).toBeCloseTo(3.75, 4);
    expect(sumIn).toBeCloseTo(3.75, 4);
    // zplus relevance is non-negative for non-negative seeds.
    expect(Math.min(...got.attribution)).toBeGreaterThanOrEqual(0);
  });
});
