/**
 * LSTM, GRU and RNN: unrolled by the `recurrent` canonicaliser. The gradient is checked against float64 references —
 * PyTorch exports (test/fixtures/recurrent, made by scripts/make_recurrent_fixtures.py: autograd in float64, checked
 * there against float64 central differences) and, for the attributes PyTorch does not export (sequence_lens, reverse,
 * layout 1, clip, input_forget, peepholes, other activations, linear_before_reset 0, RNN), central differences of
 * ONNX Runtime's own LSTM/GRU/RNN kernels accumulated in float64. LRP with Arras et al.'s rules conserves relevance.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { create } from '@bufbuild/protobuf';
import { AttributeProtoSchema, AttributeProto_AttributeType, TensorProtoSchema, type NodeProto, type TensorProto } from 'onnx-buf';
import { compileExplainer } from '../../src/compiler/compile.js';
import { inspectModel } from '../../src/compiler/inspect.js';
import { namedComposite } from '../../src/composites/named.js';
import { parseModel } from '../../src/onnx/model.js';
import { parseNpy, toFloat32 } from '../../src/io/npy.js';
import { buildModel, floatTensor, int64Tensor, makeNode, rng, runModel, uniform, valueInfo } from '../helpers/onnx.js';
import type { AttrValue } from '../../src/onnx/attributes.js';

const DIR = join(import.meta.dirname, '../fixtures/recurrent');
interface FixtureCase { name: string; model: string; target: number; inputs: Record<string, { input: string; grad: string; shape: number[] }>; logits: number[][] }
const manifest = JSON.parse(readFileSync(join(DIR, 'manifest.json'), 'utf8')) as { cases: FixtureCase[] };
const npy = (f: string) => parseNpy(new Uint8Array(readFileSync(join(DIR, f))), f);

function oneHot(batch: number, classes: number, target: number): Float32Array {
  const s = new Float32Array(batch * classes);
  for (let b = 0; b < batch; b++) s[b * classes + target] = 1;
  return s;
}

/** max |a − b| / max |b| */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let m = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    m = Math.max(m, Math.abs(b[i]!));
  }
  return d / m;
}

describe('recurrent layers exported by PyTorch: gradient against float64 autograd', () => {
  it.each(manifest.cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const bytes = new Uint8Array(readFileSync(join(DIR, c.model)));
    const ex = compileExplainer(bytes, { method: 'gradient' });
    expect(ex.reports.some((r) => r.canonicalizer === 'recurrent')).toBe(true);
    const feeds: Record<string, { data: Float32Array; dims: number[] }> = {};
    for (const [name, f] of Object.entries(c.inputs)) feeds[name] = { data: toFloat32(npy(f.input)), dims: f.shape };
    const batch = c.logits.length;
    feeds[ex.seedName] = { data: oneHot(batch, 3, c.target), dims: [batch, 3] };
    const out = await runModel(ex.bytes(), feeds);
    // The unrolled forward pass is the model: the logits match PyTorch's float64 ones to float32 rounding.
    expect(relErr(out[ex.scoresName]!.data, c.logits.flat())).toBeLessThan(1e-5);
    for (const [name, f] of Object.entries(c.inputs)) {
      const ref = npy(f.grad).data as Float64Array;
      expect(relErr(out[ex.attributionNames[name]!]!.data, ref), name).toBeLessThan(1e-5);
    }
  });
});

// --- hand-built nodes with every attribute, against ONNX Runtime's own kernels ---------------------------------------

interface Cell {
  op: 'LSTM' | 'GRU' | 'RNN';
  direction?: 'forward' | 'reverse' | 'bidirectional';
  layout?: 0 | 1;
  lens?: number[];
  initial?: boolean;
  peepholes?: boolean;
  clip?: number;
  inputForget?: boolean;
  lbr?: 0 | 1;
  activations?: string[];
  alpha?: number[];
  beta?: number[];
  noBias?: boolean;
}

const T = 4;
const B = 3;
const I = 2;
const H = 3;

/**
 * x → cell → every output flattened, concatenated and weighted by a fixed vector (so the cotangent is not uniform).
 * `reference`: for layout 1, the same function written as transposes around a layout-0 cell, which is what ONNX
 * Runtime can run (it has no batch-major recurrent kernels).
 */
function cellModel(c: Cell, reference = false) {
  const r = rng(11);
  const G = c.op === 'LSTM' ? 4 : c.op === 'GRU' ? 3 : 1;
  const D = c.direction === 'bidirectional' ? 2 : 1;
  const inits: TensorProto[] = [
    floatTensor('W', uniform(r, D * G * H * I, -0.8, 0.8), [D, G * H, I]),
    floatTensor('R', uniform(r, D * G * H * H, -0.8, 0.8), [D, G * H, H]),
  ];
  if (!c.noBias) inits.push(floatTensor('B', uniform(r, D * 2 * G * H, -0.5, 0.5), [D, 2 * G * H]));
  const xDims = c.layout === 1 ? [B, T, I] : [T, B, I];
  const sDims = c.layout === 1 ? [B, D, H] : [D, B, H];
  const inputs = ['x', 'W', 'R', c.noBias ? '' : 'B', c.lens ? 'lens' : '', c.initial ? 'h0' : '', c.initial && c.op === 'LSTM' ? 'c0' : '', c.peepholes ? 'P' : ''];
  if (c.lens) inits.push(create(TensorProtoSchema, { name: 'lens', dataType: 6, dims: [BigInt(B)], int32Data: c.lens }));
  if (c.peepholes) inits.push(floatTensor('P', uniform(r, D * 3 * H, -0.5, 0.5), [D, 3 * H]));
  while (inputs[inputs.length - 1] === '') inputs.pop();
  const attrs: Record<string, AttrValue | undefined> = { hidden_size: { int: H } };
  if (c.direction) attrs.direction = { string: c.direction };
  if (c.layout) attrs.layout = { int: c.layout };
  if (c.clip) attrs.clip = { float: c.clip };
  if (c.inputForget) attrs.input_forget = { int: 1 };
  if (c.lbr !== undefined) attrs.linear_before_reset = { int: c.lbr };
  if (c.alpha) attrs.activation_alpha = { floats: c.alpha };
  if (c.beta) attrs.activation_beta = { floats: c.beta };
  const outs = c.op === 'LSTM' ? ['Y', 'Yh', 'Yc'] : ['Y', 'Yh'];
  const pre: NodeProto[] = [];
  const post: NodeProto[] = [];
  let cellOuts = outs;
  if (reference && c.layout === 1) {
    delete attrs.layout;
    for (const k of [0, 5, 6]) {
      if (!inputs[k]) continue;
      pre.push(makeNode('Transpose', [inputs[k]!], [`${inputs[k]}_tm`], `${inputs[k]}_tm`, { perm: { ints: [1, 0, 2] } }));
      inputs[k] = `${inputs[k]}_tm`;
    }
    cellOuts = outs.map((o) => `${o}_tm`);
    outs.forEach((o, k) => post.push(makeNode('Transpose', [cellOuts[k]!], [o], `${o}_bm`, { perm: { ints: k === 0 ? [2, 0, 1, 3] : [1, 0, 2] } })));
  }
  const node = makeNode(c.op, inputs, cellOuts, 'cell', attrs);
  if (c.activations) node.attribute.push(create(AttributeProtoSchema, { name: 'activations', type: AttributeProto_AttributeType.STRINGS, strings: c.activations.map((a) => new TextEncoder().encode(a)) }));
  const nY = T * D * B * H;
  const nS = D * B * H;
  const flat = outs.map((o) => makeNode('Reshape', [o, 'flat'], [`${o}_f`], `${o}_flat`));
  const sizes = [nY, nS, nS].slice(0, outs.length);
  const total = sizes.reduce((a, b) => a + b, 0);
  inits.push(int64Tensor('flat', [-1], [1]), floatTensor('wout', uniform(r, total, -1, 1), [1, total]));
  const nodes: NodeProto[] = [
    ...pre,
    node,
    ...post,
    ...flat,
    makeNode('Concat', outs.map((o) => `${o}_f`), ['all'], 'cat', { axis: { int: 0 } }),
    makeNode('Unsqueeze', ['all', 'ax0'], ['all2'], 'unsq'),
    makeNode('Mul', ['all2', 'wout'], ['weighted'], 'weigh'),
    makeNode('ReduceSum', ['weighted', 'ax1'], ['y'], 'total', { keepdims: { int: 1 } }),
  ];
  inits.push(int64Tensor('ax0', [0], [1]), int64Tensor('ax1', [1], [1]));
  const graphInputs = [valueInfo('x', xDims)];
  if (c.initial) {
    graphInputs.push(valueInfo('h0', sDims));
    if (c.op === 'LSTM') graphInputs.push(valueInfo('c0', sDims));
  }
  return { model: buildModel({ nodes, initializers: inits, inputs: graphInputs, outputs: [valueInfo('y', [1, 1])], opset: 14 }), xDims, sDims };
}

async function checkCell(c: Cell) {
  const { model, xDims, sDims } = cellModel(c);
  const feeds: Record<string, { data: Float32Array; dims: number[] }> = { x: { data: uniform(rng(5), T * B * I, -1, 1), dims: xDims } };
  if (c.initial) {
    feeds.h0 = { data: uniform(rng(6), sDims.reduce((a, b) => a * b, 1), -1, 1), dims: sDims };
    if (c.op === 'LSTM') feeds.c0 = { data: uniform(rng(7), sDims.reduce((a, b) => a * b, 1), -1, 1), dims: sDims };
  }
  const ex = compileExplainer(model, { method: 'gradient' });
  expect(ex.reports.map((r) => r.canonicalizer)).toContain('recurrent');
  const out = await runModel(ex.bytes(), { ...feeds, [ex.seedName]: { data: Float32Array.of(1), dims: [1, 1] } });
  const reference = cellModel(c, true).model;
  const y0 = (await runModel(reference, feeds)).y!.data[0]!;
  // Forward: the unrolled cell computes what ONNX Runtime's kernel does.
  expect(Math.abs(out[ex.scoresName]!.data[0]! - y0)).toBeLessThan(1e-5 * Math.max(1, Math.abs(y0)));
  const h = 1e-2;
  for (const name of Object.keys(feeds)) {
    const x = feeds[name]!;
    const fd = new Float64Array(x.data.length);
    for (let i = 0; i < x.data.length; i++) {
      const run = async (s: number) => {
        const d = Float32Array.from(x.data);
        d[i]! += s;
        return (await runModel(reference, { ...feeds, [name]: { data: d, dims: x.dims } })).y!.data[0]!;
      };
      fd[i] = ((await run(h)) - (await run(-h))) / (2 * h);
    }
    expect(relErr(out[ex.attributionNames[name]!]!.data, fd), name).toBeLessThan(2e-3);
  }
}

describe('LSTM/GRU/RNN attributes: gradient against central differences of ONNX Runtime', () => {
  const cases: [string, Cell][] = [
    ['LSTM forward, no bias', { op: 'LSTM', noBias: true }],
    ['LSTM reverse with initial states', { op: 'LSTM', direction: 'reverse', initial: true }],
    ['LSTM bidirectional, layout 1, initial states', { op: 'LSTM', direction: 'bidirectional', layout: 1, initial: true }],
    ['LSTM sequence_lens, bidirectional', { op: 'LSTM', direction: 'bidirectional', lens: [4, 2, 3], initial: true }],
    ['LSTM peepholes, clip, input_forget', { op: 'LSTM', peepholes: true, clip: 0.7, inputForget: true, initial: true }],
    ['LSTM activations HardSigmoid/LeakyRelu/ScaledTanh with alphas', { op: 'LSTM', activations: ['HardSigmoid', 'LeakyRelu', 'ScaledTanh'], alpha: [0.3, 0.1, 0.9], beta: [0.4, 1.1] }],
    ['GRU linear_before_reset 0', { op: 'GRU', lbr: 0, initial: true }],
    ['GRU linear_before_reset 1, reverse, sequence_lens', { op: 'GRU', lbr: 1, direction: 'reverse', lens: [1, 4, 2] }],
    ['GRU bidirectional, layout 1, clip', { op: 'GRU', direction: 'bidirectional', layout: 1, clip: 1.2, initial: true }],
    ['RNN bidirectional, Relu/Tanh', { op: 'RNN', direction: 'bidirectional', activations: ['Relu', 'Tanh'], initial: true }],
  ];
  it.each(cases)('%s', async (_n, c) => checkCell(c), 60_000);
});

describe('LRP through recurrent layers (Arras et al. 2017)', () => {
  /** Bias-free cells and head: every rule on the path conserves, so the input relevance sums to the score. */
  function headModel(op: 'LSTM' | 'GRU', direction: 'forward' | 'bidirectional', lbr = 0) {
    const r = rng(21);
    const G = op === 'LSTM' ? 4 : 3;
    const D = direction === 'bidirectional' ? 2 : 1;
    const inits = [
      floatTensor('W', uniform(r, D * G * H * I, -0.8, 0.8), [D, G * H, I]),
      floatTensor('R', uniform(r, D * G * H * H, -0.8, 0.8), [D, G * H, H]),
      floatTensor('Wh', uniform(r, D * H * 2, -1, 1), [D * H, 2]),
      int64Tensor('shape', [B, D * H], [2]),
    ];
    const outs = op === 'LSTM' ? ['Y', 'Yh', ''] : ['Y', 'Yh'];
    const nodes = [
      makeNode(op, ['x', 'W', 'R'], outs, 'cell', { hidden_size: { int: H }, direction: { string: direction }, ...(op === 'GRU' ? { linear_before_reset: { int: lbr } } : {}) }),
      makeNode('Transpose', ['Yh'], ['hT'], 'tr', { perm: { ints: [1, 0, 2] } }),
      makeNode('Reshape', ['hT', 'shape'], ['hf'], 'flat'),
      makeNode('MatMul', ['hf', 'Wh'], ['y'], 'head'),
    ];
    return buildModel({ nodes, initializers: inits, inputs: [valueInfo('x', [T, B, I])], outputs: [valueInfo('y', [B, 2])], opset: 14 });
  }

  it.each([
    ['LSTM', 'forward', 0], ['LSTM', 'bidirectional', 0], ['GRU', 'forward', 0], ['GRU', 'bidirectional', 1],
  ] as const)('%s %s (linear_before_reset %i): input relevance sums to the score within 1 %%, and the gates get none', async (op, direction, lbr) => {
    const model = headModel(op, direction, lbr);
    const x = uniform(rng(8), T * B * I, -1, 1);
    const seed = oneHot(B, 2, 1);
    for (const composite of ['epsilon-plus', 'epsilon-plus-flat', 'epsilon-gamma-box', 'attnlrp']) {
      const ex = compileExplainer(model, { method: 'lrp', composite: namedComposite(composite, composite === 'epsilon-gamma-box' ? { low: -1, high: 1 } : {}) });
      const gates = [...ex.appliedRules].filter(([u]) => u.kind === 'gate');
      expect(gates.length).toBeGreaterThan(0);
      expect(gates.every(([, a]) => a.rule.name === 'signal-take-all')).toBe(true);
      const out = await runModel(ex.bytes(), { x: { data: x, dims: [T, B, I] }, [ex.seedName]: { data: seed, dims: [B, 2] } });
      const R = out[ex.attributionNames.x!]!.data;
      const scores = out[ex.scoresName]!.data;
      for (let b = 0; b < B; b++) {
        let s = 0;
        for (let t = 0; t < T; t++) for (let i = 0; i < I; i++) s += R[(t * B + b) * I + i]!;
        const score = scores[b * 2 + 1]!;
        // Flat and the box rule redistribute but conserve too.
        expect(Math.abs(s - score), `${composite} batch ${b}: ${s} vs ${score}`).toBeLessThanOrEqual(0.01 * Math.abs(score) + 1e-6);
      }
    }
  });

  it('the plain gradient ⊙ input does not conserve (the gates take their share): the rules matter', async () => {
    const model = headModel('LSTM', 'forward');
    const ex = compileExplainer(model, { method: 'gradient' });
    const x = uniform(rng(8), T * B * I, -1, 1);
    const out = await runModel(ex.bytes(), { x: { data: x, dims: [T, B, I] }, [ex.seedName]: { data: oneHot(B, 2, 1), dims: [B, 2] } });
    const g = out[ex.attributionNames.x!]!.data;
    let s = 0;
    for (let i = 0; i < B * T * I; i++) if (Math.floor(i / I) % B === 0) s += g[i]! * x[i]!;
    expect(Math.abs(s - out[ex.scoresName]!.data[1]!)).toBeGreaterThan(0.01 * Math.abs(out[ex.scoresName]!.data[1]!));
  });

  it('inspect shows the unrolled cell: dense projections, gate units with signal-take-all, nothing unsupported', () => {
    const bytes = new Uint8Array(readFileSync(join(DIR, 'lstm-bi.onnx')));
    const r = inspectModel(parseModel(bytes), 'epsilon-plus-flat');
    expect(r.unsupported).toEqual([]);
    expect(r.canonicalization.filter((c) => c.canonicalizer === 'recurrent')).toHaveLength(2);
    expect(r.units.some((u) => u.kind === 'gate' && u.rule === 'signal-take-all')).toBe(true);
    expect(r.units.filter((u) => u.kind === 'dense').length).toBeGreaterThan(4);
  });

  it('a sequence length unknown at compile time is reported by inspect and refused by compile, with the reason', () => {
    const model = headModel('LSTM', 'forward');
    model.graph!.input[0] = valueInfo('x', ['T', B, I]);
    const r = inspectModel(model, 'epsilon-plus');
    expect(r.unsupported.map((u) => u.op)).toEqual(['LSTM']);
    expect(r.unsupported[0]!.hint).toMatch(/sequence length/);
    expect(r.canonicalization.find((c) => c.canonicalizer === 'recurrent')!.detail).toMatch(/not unrolled: its sequence length is not known/);
    expect(() => compileExplainer(model, { method: 'gradient' })).toThrow(/LSTM/);
  });
});
