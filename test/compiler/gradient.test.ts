/**
 * The compiled gradient (method 'gradient') of small models, one op family each, against central finite
 * differences of the forward model run by ONNX Runtime: for a random seed w on the output,
 * ∂(Σ w·y)/∂x_i ≈ Σ w·(y(x + h·e_i) − y(x − h·e_i)) / 2h. Inputs are chosen away from kinks and ties.
 */
import * as ort from 'onnxruntime-node';
import type { ModelProto, NodeProto, TensorProto } from 'onnx-buf';
import { describe, expect, it } from 'vitest';
import { compileExplainer } from '../../src/compiler/compile.js';
import { serializeModel } from '../../src/onnx/model.js';
import { buildModel, floatTensor, int64Tensor, makeNode, rng, runModel, uniform, valueInfo } from '../helpers/onnx.js';

interface GradCase {
  name: string;
  nodes: NodeProto[];
  inits?: TensorProto[];
  inDims: number[];
  outDims: number[];
  /** Input values (default: uniform in [-1, 1]). */
  x?: (r: () => number, n: number) => Float32Array;
  h?: number;
}

function modelOf(c: GradCase): ModelProto {
  return buildModel({ nodes: c.nodes, initializers: c.inits ?? [], inputs: [valueInfo('x', c.inDims)], outputs: [valueInfo('y', c.outDims)] });
}

const numel = (d: number[]) => d.reduce((a, b) => a * b, 1);

/** Values in ±[0.2, 1] spread so that no two are within `gap` of each other (no max-pool ties, no kinks at 0). */
function spread(r: () => number, n: number): Float32Array {
  const base = Array.from({ length: n }, (_, i) => 0.2 + (0.8 * (i + 0.5)) / n);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [base[i], base[j]] = [base[j]!, base[i]!];
  }
  return Float32Array.from(base, (v) => (r() < 0.5 ? -v : v));
}

async function checkGradient(c: GradCase, seedNo: number): Promise<{ checked: number; maxGrad: number }> {
  const r = rng(seedNo);
  const model = modelOf(c);
  const n = numel(c.inDims);
  const x = c.x ? c.x(r, n) : uniform(r, n);
  const w = uniform(r, numel(c.outDims));
  const compiled = compileExplainer(model, { method: 'gradient' });
  const out = await runModel(compiled.bytes(), { x: { data: x, dims: c.inDims }, [compiled.seedName]: { data: w, dims: c.outDims } });
  const grad = out[compiled.attributionNames.x!]!.data;
  expect(Array.from(out[compiled.attributionNames.x!]!.dims)).toEqual(c.inDims);

  const session = await ort.InferenceSession.create(serializeModel(model), { graphOptimizationLevel: 'disabled' });
  const f = async (v: Float32Array): Promise<number> => {
    const y = (await session.run({ x: new ort.Tensor('float32', v, c.inDims) })).y!.data as Float32Array;
    expect(y.length).toBe(w.length);
    let s = 0;
    for (let i = 0; i < y.length; i++) s += w[i]! * y[i]!;
    return s;
  };
  // The compiled model's scores must be the forward model's output.
  const y0 = out[compiled.scoresName]!.data;
  const yRef = (await session.run({ x: new ort.Tensor('float32', x, c.inDims) })).y!.data as Float32Array;
  expect(Array.from(y0)).toEqual(Array.from(yRef));

  const h = c.h ?? 1e-3;
  // Every coordinate of small inputs, otherwise 24 spread over the input.
  const coords = n <= 96 ? Array.from({ length: n }, (_, i) => i) : Array.from({ length: 24 }, (_, k) => Math.floor((k * n) / 24 + r() * (n / 24)));
  let maxGrad = 0;
  for (const i of coords) {
    const xp = Float32Array.from(x);
    const xm = Float32Array.from(x);
    xp[i]! += h;
    xm[i]! -= h;
    // The step actually taken in float32.
    const fd = ((await f(xp)) - (await f(xm))) / (xp[i]! - xm[i]!);
    const g = grad[i]!;
    maxGrad = Math.max(maxGrad, Math.abs(g));
    expect(Math.abs(g - fd), `${c.name}: coordinate ${i}: gradient ${g} vs finite difference ${fd}`).toBeLessThan(2e-3 + 5e-3 * Math.abs(fd));
  }
  await session.release();
  return { checked: coords.length, maxGrad };
}

const r0 = rng(1234);
const W = (name: string, dims: number[], lo = -1, hi = 1) => floatTensor(name, uniform(r0, numel(dims), lo, hi), dims);
const f32 = (name: string, values: number[], dims: number[] = []) => floatTensor(name, Float32Array.from(values), dims);

const CASES: GradCase[] = [
  {
    name: 'MaxPool 3x3/2 pad 1 (overlapping windows), batch 2',
    nodes: [makeNode('MaxPool', ['x'], ['y'], 'mp', { kernel_shape: { ints: [3, 3] }, strides: { ints: [2, 2] }, pads: { ints: [1, 1, 1, 1] } })],
    inDims: [2, 2, 6, 6],
    outDims: [2, 2, 3, 3],
    x: spread,
  },
  {
    name: 'MaxPool 2x2/2 ceil_mode=1 on 5x5',
    nodes: [makeNode('MaxPool', ['x'], ['y'], 'mp', { kernel_shape: { ints: [2, 2] }, strides: { ints: [2, 2] }, ceil_mode: { int: 1 } })],
    inDims: [1, 2, 5, 5],
    outDims: [1, 2, 3, 3],
    x: spread,
  },
  {
    name: 'AveragePool 3x3/2 pads 1 count_include_pad=0, batch 2',
    nodes: [makeNode('AveragePool', ['x'], ['y'], 'ap', { kernel_shape: { ints: [3, 3] }, strides: { ints: [2, 2] }, pads: { ints: [1, 1, 1, 1] }, count_include_pad: { int: 0 } })],
    inDims: [2, 2, 5, 5],
    outDims: [2, 2, 3, 3],
  },
  {
    name: 'AveragePool 2x2/2 ceil_mode=1 pads 1 count_include_pad=0',
    nodes: [makeNode('AveragePool', ['x'], ['y'], 'ap', { kernel_shape: { ints: [2, 2] }, strides: { ints: [2, 2] }, pads: { ints: [1, 1, 0, 0] }, ceil_mode: { int: 1 }, count_include_pad: { int: 0 } })],
    inDims: [1, 1, 5, 5],
    outDims: [1, 1, 3, 3],
  },
  {
    name: 'Slice, Pad, Transpose, Concat, Reshape',
    nodes: [
      makeNode('Slice', ['x', 'starts', 'ends', 'axes', 'steps'], ['s'], 'slice'),
      makeNode('Pad', ['s', 'pads', 'padval'], ['p'], 'pad', { mode: { string: 'constant' } }),
      makeNode('Transpose', ['p'], ['t'], 'tr', { perm: { ints: [0, 2, 3, 1] } }),
      makeNode('Tanh', ['t'], ['tt'], 'tanh'),
      makeNode('Concat', ['t', 'tt'], ['c'], 'cat', { axis: { int: 3 } }),
      makeNode('Reshape', ['c', 'shape'], ['y'], 'reshape'),
    ],
    inits: [
      int64Tensor('starts', [1, 0]),
      int64Tensor('ends', [4, 3]),
      int64Tensor('axes', [3, 2]),
      int64Tensor('steps', [1, 1]),
      int64Tensor('pads', [0, 0, 1, 0, 0, 0, 0, 2]),
      f32('padval', [0.5]),
      int64Tensor('shape', [1, -1]),
    ],
    inDims: [1, 2, 3, 4],
    // slice → [1,2,3,3], pad → [1,2,4,5], transpose → [1,4,5,2], concat → [1,4,5,4], reshape → [1,80]
    outDims: [1, 80],
  },
  {
    name: 'Sigmoid, Tanh, LeakyRelu, Clip, HardSigmoid (parallel, concatenated)',
    nodes: [
      makeNode('Sigmoid', ['x'], ['a'], 'sig'),
      makeNode('Tanh', ['x'], ['b'], 'tanh'),
      makeNode('LeakyRelu', ['x'], ['c'], 'lrelu', { alpha: { float: 0.1 } }),
      makeNode('Clip', ['x', 'lo', 'hi'], ['d'], 'clip'),
      makeNode('HardSigmoid', ['x'], ['e'], 'hsig', { alpha: { float: 0.4 }, beta: { float: 0.5 } }),
      makeNode('Concat', ['a', 'b', 'c', 'd', 'e'], ['y'], 'cat', { axis: { int: 1 } }),
    ],
    inits: [f32('lo', [-0.5]), f32('hi', [0.5])],
    inDims: [1, 10],
    outDims: [1, 50],
    // Away from 0 (LeakyRelu), ±0.5 (Clip) and ±1.25 (HardSigmoid's ends at α=0.4, β=0.5); some outside the clip.
    x: () => Float32Array.of(-1.6, -0.9, -0.7, -0.3, -0.1, 0.15, 0.35, 0.65, 0.95, 1.5),
  },
  {
    name: 'Softmax (not terminal) followed by MatMul',
    nodes: [makeNode('Softmax', ['x'], ['s'], 'softmax', { axis: { int: -1 } }), makeNode('MatMul', ['s', 'Wm'], ['y'], 'mm')],
    inits: [W('Wm', [5, 3])],
    inDims: [2, 5],
    outDims: [2, 3],
  },
  {
    name: 'Mul of two activations, Div by a constant',
    nodes: [
      makeNode('Tanh', ['x'], ['a'], 'tanh'),
      makeNode('Gemm', ['x', 'Wg', 'bg'], ['h'], 'dense', { transB: { int: 1 } }),
      makeNode('Sigmoid', ['h'], ['b'], 'sig'),
      makeNode('Mul', ['a', 'b'], ['m'], 'mul'),
      makeNode('Div', ['m', 'dc'], ['y'], 'div'),
    ],
    inits: [W('Wg', [4, 4]), W('bg', [4]), f32('dc', [0.5, 2, -1.5, 4], [1, 4])],
    inDims: [1, 4],
    outDims: [1, 4],
  },
  {
    name: 'GlobalMaxPool',
    nodes: [makeNode('GlobalMaxPool', ['x'], ['y'], 'gmp')],
    inDims: [2, 3, 4, 4],
    outDims: [2, 3, 1, 1],
    x: spread,
  },
  {
    name: 'ConvTranspose 2→3, 3x3, stride 2, pads 1, output_padding 1, bias',
    nodes: [makeNode('ConvTranspose', ['x', 'Wt', 'bt'], ['y'], 'convT', { kernel_shape: { ints: [3, 3] }, strides: { ints: [2, 2] }, pads: { ints: [1, 1, 1, 1] }, output_padding: { ints: [1, 1] } })],
    inits: [W('Wt', [2, 3, 3, 3]), W('bt', [3])],
    inDims: [1, 2, 3, 3],
    outDims: [1, 3, 6, 6],
  },
  {
    name: 'depthwise Conv (group = C = 3), dilation 2, stride 2, pads 1',
    nodes: [makeNode('Conv', ['x', 'Wd', 'bd'], ['y'], 'dw', { group: { int: 3 }, kernel_shape: { ints: [3, 3] }, dilations: { ints: [2, 2] }, strides: { ints: [2, 2] }, pads: { ints: [1, 1, 1, 1] } })],
    inits: [W('Wd', [3, 1, 3, 3]), W('bd', [3])],
    inDims: [1, 3, 7, 7],
    // (7 + 2 − 5) / 2 + 1 = 3
    outDims: [1, 3, 3, 3],
  },
  {
    name: 'depthwise Conv (group = C = 2), dilation 2, stride 2, no padding, even size (a row/column left over)',
    nodes: [makeNode('Conv', ['x', 'Wd'], ['y'], 'dw', { group: { int: 2 }, kernel_shape: { ints: [3, 3] }, dilations: { ints: [2, 2] }, strides: { ints: [2, 2] } })],
    inits: [W('Wd', [2, 1, 3, 3])],
    inDims: [1, 2, 8, 8],
    // (8 − 5) / 2 + 1 = 2 (floor): the last input row/column is not covered
    outDims: [1, 2, 2, 2],
  },
  // Stride-1 convolutions: their transpose is compiled as a Conv with the flipped, channel-transposed kernel.
  {
    name: 'stride-1 grouped Conv (4→6, group 2), dilation 2, asymmetric pads, bias',
    nodes: [makeNode('Conv', ['x', 'Wg', 'bg'], ['y'], 'gconv', { group: { int: 2 }, kernel_shape: { ints: [3, 2] }, dilations: { ints: [2, 1] }, pads: { ints: [0, 1, 2, 0] } })],
    inits: [W('Wg', [6, 2, 3, 2]), W('bg', [6])],
    inDims: [1, 4, 6, 5],
    // H: 6 + 0 + 2 − 5 + 1 = 4; W: 5 + 1 + 0 − 2 + 1 = 5
    outDims: [1, 6, 4, 5],
  },
  {
    name: 'stride-1 Conv 3→2, 3x3, pads 1, batch 2',
    nodes: [makeNode('Conv', ['x', 'Wc'], ['y'], 'conv', { kernel_shape: { ints: [3, 3] }, pads: { ints: [1, 1, 1, 1] } })],
    inits: [W('Wc', [2, 3, 3, 3])],
    inDims: [2, 3, 4, 4],
    outDims: [2, 2, 4, 4],
  },
  {
    name: 'stride-1 Conv whose weight is a Constant node (as Paddle2ONNX exports it), bias',
    nodes: [
      makeNode('Constant', [], ['Wk'], 'wk', { value: { tensor: W('Wk', [3, 2, 1, 1]) } }),
      makeNode('Conv', ['x', 'Wk', 'bk'], ['y'], 'convk', { kernel_shape: { ints: [1, 1] } }),
    ],
    inits: [W('bk', [3])],
    inDims: [2, 2, 3, 3],
    outDims: [2, 3, 3, 3],
  },
  {
    name: 'stride-1 Conv1d with pads larger than the kernel reach (transpose stays a ConvTranspose)',
    nodes: [makeNode('Conv', ['x', 'W1'], ['y'], 'conv1d', { kernel_shape: { ints: [2] }, pads: { ints: [2, 0] } })],
    inits: [W('W1', [2, 2, 2])],
    inDims: [1, 2, 5],
    outDims: [1, 2, 6],
  },
  {
    name: 'LayerNormalization op (axis −1, scale and bias): the exact gradient through the statistics',
    nodes: [makeNode('LayerNormalization', ['x', 'ln_w', 'ln_b'], ['y'], 'ln', { axis: { int: -1 }, epsilon: { float: 1e-5 } })],
    inits: [W('ln_w', [6], 0.5, 1.5), W('ln_b', [6])],
    inDims: [2, 3, 6],
    outDims: [2, 3, 6],
  },
  {
    name: 'LayerNormalization op over the last two axes (axis 1 of a 3-D tensor, no bias)',
    nodes: [makeNode('LayerNormalization', ['x', 'ln_w2'], ['y'], 'ln', { axis: { int: 1 } })],
    inits: [W('ln_w2', [3, 4], 0.5, 1.5)],
    inDims: [2, 3, 4],
    outDims: [2, 3, 4],
  },
  {
    name: 'Softmax over axis 1 of a 3-D tensor, then Trilu and a two-operand Einsum (x·xᵀ per batch)',
    nodes: [
      makeNode('Softmax', ['x'], ['s'], 'sm', { axis: { int: 1 } }),
      makeNode('Trilu', ['s'], ['t'], 'tri', { upper: { int: 0 } }),
      makeNode('Einsum', ['t', 'x'], ['y'], 'ein', { equation: { string: 'bij,bkj->bik' } }),
    ],
    inDims: [2, 3, 3],
    outDims: [2, 3, 3],
  },
];

describe('compiled gradient vs finite differences', () => {
  it.each(CASES.map((c, k) => [c.name, c, k] as const))('%s', async (_name, c, k) => {
    const { checked, maxGrad } = await checkGradient(c, 100 + k);
    expect(checked).toBeGreaterThan(0);
    expect(maxGrad).toBeGreaterThan(1e-2);
  });

  it('compiles the transpose of a stride-1 Conv as a Conv (no ConvTranspose), of a strided one as a ConvTranspose', () => {
    const ops = (prefix: string) => {
      const c = CASES.find((cc) => cc.name.startsWith(prefix))!;
      return compileExplainer(modelOf(c), { method: 'gradient' }).model.graph!.node.map((n) => n.opType);
    };
    for (const prefix of ['stride-1 grouped Conv', 'stride-1 Conv 3→2', 'stride-1 Conv whose weight is a Constant']) {
      const o = ops(prefix);
      expect(o.filter((t) => t === 'Conv')).toHaveLength(2);
      expect(o).not.toContain('ConvTranspose');
    }
    expect(ops('stride-1 Conv1d with pads larger')).toContain('ConvTranspose');
    expect(ops('depthwise Conv (group = C = 3)')).toContain('ConvTranspose');
  });

  it('returns an exact zero gradient for an input the output does not depend on, through Slice', async () => {
    const c = CASES.find((cc) => cc.name.startsWith('Slice'))!;
    const compiled = compileExplainer(modelOf(c), { method: 'gradient' });
    const x = uniform(rng(9), 24);
    const out = await runModel(compiled.bytes(), { x: { data: x, dims: c.inDims }, [compiled.seedName]: { data: new Float32Array(80).fill(1), dims: c.outDims } });
    const g = out[compiled.attributionNames.x!]!.data;
    // Column 0 (axis 3) is sliced away: its gradient is 0.
    for (let ch = 0; ch < 2; ch++) for (let row = 0; row < 3; row++) expect(g[ch * 12 + row * 4]).toBe(0);
  });
});
