/**
 * Resize's backward pass against finite differences of ONNX Runtime's own forward Resize, accumulated in float64:
 * Resize is linear in x, so the central difference (f(x + h·e_i) − f(x − h·e_i)) / 2h is column i of its Jacobian up to
 * float32 rounding, and Σ_o ȳ_o·J[o, i] is the exact gradient. Every mode, coordinate transformation and nearest
 * rounding, scales and sizes, up- and downsampling.
 */
import { describe, expect, it } from 'vitest';
import type { NodeProto, TensorProto } from 'onnx-buf';
import { compileExplainer } from '../../src/compiler/compile.js';
import { namedComposite } from '../../src/composites/named.js';
import { buildModel, floatTensor, int64Tensor, makeNode, rng, runModel, uniform, valueInfo } from '../helpers/onnx.js';
import type { AttrValue } from '../../src/onnx/attributes.js';

const X_DIMS = [1, 2, 4, 5];
const N = X_DIMS.reduce((a, b) => a * b, 1);

interface Case {
  mode: 'nearest' | 'linear' | 'cubic';
  coord?: string;
  nearest?: string;
  scales?: number[];
  sizes?: number[];
  roi?: number[];
  cubicA?: number;
  excludeOutside?: number;
  opset?: number;
  /** Written as the deprecated Upsample (opset 9, or 7 with scales as an attribute). */
  upsample?: boolean;
}

function resizeModel(c: Case) {
  const attrs: Record<string, AttrValue> = { mode: { string: c.mode } };
  if (c.coord) attrs.coordinate_transformation_mode = { string: c.coord };
  if (c.nearest) attrs.nearest_mode = { string: c.nearest };
  if (c.cubicA !== undefined) attrs.cubic_coeff_a = { float: c.cubicA };
  if (c.excludeOutside !== undefined) attrs.exclude_outside = { int: c.excludeOutside };
  const inits: TensorProto[] = [];
  const inputs = ['x', c.roi ? 'roi' : '', c.scales ? 'scales' : '', c.sizes ? 'sizes' : ''];
  if (c.roi) inits.push(floatTensor('roi', Float32Array.from(c.roi), [c.roi.length]));
  if (c.scales) inits.push(floatTensor('scales', Float32Array.from(c.scales), [4]));
  if (c.sizes) inits.push(int64Tensor('sizes', c.sizes, [4]));
  while (inputs[inputs.length - 1] === '') inputs.pop();
  const resize = c.upsample
    ? c.opset === 7
      ? makeNode('Upsample', ['x'], ['r'], 'upsample', { mode: { string: c.mode }, scales: { floats: c.scales! } })
      : makeNode('Upsample', ['x', 'scales'], ['r'], 'upsample', { mode: { string: c.mode } })
    : c.opset === 10
      ? makeNode('Resize', ['x', 'scales'], ['r'], 'resize', { mode: { string: c.mode } })
      : makeNode('Resize', inputs, ['r'], 'resize', attrs);
  if (c.upsample && c.opset === 7) inits.length = 0;
  const nodes: NodeProto[] = [resize, makeNode('Mul', ['r', 'w'], ['y'], 'weigh')];
  return { nodes, inits, opset: c.opset ?? 17 };
}

/** y = Resize(x) ⊙ w (a fixed weighting, so the cotangent is not uniform), output shape found by running it. */
async function build(c: Case) {
  const { nodes, inits, opset } = resizeModel(c);
  const probe = buildModel({ nodes: [nodes[0]!], initializers: inits, inputs: [valueInfo('x', X_DIMS)], outputs: [valueInfo('r')], opset });
  const rDims = (await runModel(probe, { x: { data: new Float32Array(N), dims: X_DIMS } })).r!.dims;
  const M = rDims.reduce((a, b) => a * b, 1);
  const w = floatTensor('w', uniform(rng(9), M, -1, 1), rDims);
  const model = buildModel({ nodes, initializers: [...inits, w], inputs: [valueInfo('x', X_DIMS)], outputs: [valueInfo('y')], opset });
  return { model, forward: probe, rDims, M };
}

async function check(c: Case) {
  const { model, forward, rDims, M } = await build(c);
  const x = uniform(rng(4), N, -1, 1);
  const gy = uniform(rng(5), M, -1, 1);
  // The explained model multiplies by w: the cotangent at Resize's output is gy ⊙ w.
  const w = model.graph!.initializer.find((t) => t.name === 'w')!;
  const wv = new Float32Array(w.rawData.buffer.slice(w.rawData.byteOffset, w.rawData.byteOffset + w.rawData.byteLength));
  const gr = Float64Array.from(gy, (v, o) => v * (wv.length ? wv[o]! : w.floatData[o]!));
  const h = 0.5;
  const ref = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    const xp = Float32Array.from(x);
    const xm = Float32Array.from(x);
    xp[i]! += h;
    xm[i]! -= h;
    const yp = (await runModel(forward, { x: { data: xp, dims: X_DIMS } })).r!.data;
    const ym = (await runModel(forward, { x: { data: xm, dims: X_DIMS } })).r!.data;
    let s = 0;
    for (let o = 0; o < M; o++) s += gr[o]! * ((yp[o]! - ym[o]!) / (2 * h));
    ref[i] = s;
  }
  const compiled = compileExplainer(model, { method: 'gradient' });
  const out = await runModel(compiled.bytes(), { x: { data: x, dims: X_DIMS }, [compiled.seedName]: { data: gy, dims: rDims } });
  const got = out[compiled.attributionNames.x!]!.data;
  const scale = Math.max(...Array.from(ref, Math.abs));
  let err = 0;
  for (let i = 0; i < N; i++) err = Math.max(err, Math.abs(got[i]! - ref[i]!));
  expect(scale).toBeGreaterThan(0.05);
  expect(err / scale, `gradient vs finite differences (rel. L∞) for ${JSON.stringify(c)}`).toBeLessThan(2e-5);
}

const UP = [1, 1, 2, 1.5];
const DOWN = [1, 1, 0.75, 0.6];

describe('Resize backward pass vs finite differences of ONNX Runtime\'s forward (float64 accumulation)', () => {
  it.each([
    ...['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil'].flatMap((nearest) =>
      ['half_pixel', 'asymmetric', 'align_corners', 'pytorch_half_pixel'].map((coord): Case => ({ mode: 'nearest', nearest, coord, scales: UP })),
    ),
    { mode: 'nearest', scales: DOWN },
    { mode: 'nearest', coord: 'asymmetric', nearest: 'floor', scales: [1, 1, 2, 2] },
    { mode: 'nearest', sizes: [1, 2, 7, 3] },
    ...['half_pixel', 'pytorch_half_pixel', 'align_corners', 'asymmetric'].flatMap((coord): Case[] => [
      { mode: 'linear', coord, scales: UP },
      { mode: 'linear', coord, scales: DOWN },
      { mode: 'cubic', coord, scales: UP },
    ]),
    { mode: 'linear', sizes: [1, 2, 9, 2] },
    { mode: 'linear', coord: 'half_pixel_symmetric', scales: [1, 1, 1.7, 0.8], opset: 19 },
    { mode: 'linear', coord: 'tf_crop_and_resize', roi: [0, 0, 0.1, 0.2, 1, 1, 0.8, 1.1], scales: UP },
    { mode: 'cubic', scales: DOWN },
    { mode: 'cubic', cubicA: -0.5, excludeOutside: 1, scales: UP },
    { mode: 'cubic', coord: 'align_corners', excludeOutside: 1, sizes: [1, 2, 6, 8] },
    // Deprecated Upsample (and Resize-10) are carried into opset 17 as asymmetric Resize with floor rounding.
    { mode: 'nearest', upsample: true, opset: 9, scales: UP },
    { mode: 'linear', upsample: true, opset: 9, scales: UP },
    { mode: 'nearest', upsample: true, opset: 7, scales: [1, 1, 2, 3] },
    { mode: 'linear', opset: 10, scales: UP },
    { mode: 'nearest', opset: 10, scales: UP },
  ] as Case[])('%j', async (c) => {
    await check(c);
  });

  it('LRP gives linear Resize the Norm rule: R_i = x_i·(Aᵀ(R/stab(Ax)))_i, relevance conserved', async () => {
    const { model, forward, rDims, M } = await build({ mode: 'linear', scales: UP });
    const x = uniform(rng(6), N, 0.2, 1);
    const R = uniform(rng(7), M, 0, 1);
    const c = compileExplainer(model, { method: 'lrp', seedMode: 'direct', composite: namedComposite('epsilon-plus'), relevanceAt: ['r'] });
    const out = await runModel(c.bytes(), { x: { data: x, dims: X_DIMS }, [c.seedName]: { data: R, dims: rDims } });
    const got = out[c.attributionNames.x!]!.data;
    const atR = out[c.relevanceAtNames.r!]!.data;
    const y = (await runModel(forward, { x: { data: x, dims: X_DIMS } })).r!.data;
    // Columns of A from ORT's forward on basis vectors (linear, so exact up to float32 rounding).
    const want = new Float64Array(N);
    for (let i = 0; i < N; i++) {
      const e = new Float32Array(N);
      e[i] = 1;
      const col = (await runModel(forward, { x: { data: e, dims: X_DIMS } })).r!.data;
      let s = 0;
      for (let o = 0; o < M; o++) s += (col[o]! * atR[o]!) / (y[o]! + 1e-6);
      want[i] = x[i]! * s;
    }
    for (let i = 0; i < N; i++) expect(got[i]).toBeCloseTo(want[i]!, 4);
    const total = (a: ArrayLike<number>) => Array.from(a).reduce((p, v) => p + v, 0);
    expect(Math.abs(total(got) - total(atR))).toBeLessThan(1e-4 * total(atR));
  });

  it('LRP gives Resize the Norm rule: nearest upsampling sums the relevance of the copies back (conserved)', async () => {
    const { model, rDims, M } = await build({ mode: 'nearest', coord: 'asymmetric', nearest: 'floor', scales: [1, 1, 2, 2] });
    const x = uniform(rng(6), N, 0.2, 1);
    const R = uniform(rng(7), M, 0, 1);
    const c = compileExplainer(model, { method: 'lrp', seedMode: 'direct', composite: namedComposite('epsilon-plus'), relevanceAt: ['r'] });
    const out = await runModel(c.bytes(), { x: { data: x, dims: X_DIMS }, [c.seedName]: { data: R, dims: rDims } });
    const got = out[c.attributionNames.x!]!.data;
    const atR = out[c.relevanceAtNames.r!]!.data;
    // Each input pixel (h, w) has the four copies (2h + a, 2w + b); its relevance is the sum of theirs.
    const W2 = rDims[3]!;
    for (let ch = 0; ch < 2; ch++) {
      for (let hh = 0; hh < 4; hh++) {
        for (let ww = 0; ww < 5; ww++) {
          let want = 0;
          for (const a of [0, 1]) for (const b of [0, 1]) want += atR[ch * 8 * W2 + (2 * hh + a) * W2 + 2 * ww + b]!;
          expect(got[ch * 20 + hh * 5 + ww]).toBeCloseTo(want, 5);
        }
      }
    }
  });
});
