/**
 * The backward pass of MaxPool routes each window's cotangent to its first maximum in row-major window order (ties
 * included: after a ReLU many windows are all zeros) and adds overlapping windows up — PyTorch's and Zennit's
 * semantics — both from the forward node's Indices and by comparison (no Indices). Checked against a direct JS
 * loop over windows for 1-D, 2-D and 3-D pools (by Indices: MaxUnpool where windows cannot overlap, an adding
 * ScatterElements where they can): overlapping and non-overlapping windows, kernel smaller than the
 * stride, asymmetric pads, ceil_mode, inputs full of ties.
 */
import type { NodeProto } from 'onnx-buf';
import { describe, expect, it } from 'vitest';
import { compileExplainer } from '../../src/compiler/compile.js';
import { buildModel, makeNode, rng, runModel, uniform, valueInfo } from '../helpers/onnx.js';

interface PoolCase {
  name: string;
  kernel: number[];
  strides?: number[];
  pads?: number[];
  ceil?: boolean;
  dims: number[];
  /** 'ties': values from {0, 0.5, 1} (many equal maxima); 'relu': half of them exactly 0. */
  values: 'ties' | 'relu' | 'random';
}

/** Row-major index tuples of a box. */
function box(sizes: readonly number[]): number[][] {
  let out: number[][] = [[]];
  for (const n of sizes) out = out.flatMap((t) => Array.from({ length: n }, (_, i) => [...t, i]));
  return out;
}

/** dL/dx by looping over windows: the first maximum (row-major) of each window gets the window's cotangent. */
function referenceGrad(x: Float32Array, dims: number[], outDims: number[], c: PoolCase, g: Float32Array): Float32Array {
  const k = c.kernel.length;
  const strides = c.strides ?? c.kernel.map(() => 1);
  const pads = c.pads ?? new Array<number>(2 * k).fill(0);
  const spatial = dims.slice(2);
  const outSpatial = outDims.slice(2);
  const plane = spatial.reduce((a, b) => a * b, 1);
  const outPlane = outSpatial.reduce((a, b) => a * b, 1);
  const flat = (pos: number[], sizes: number[]) => pos.reduce((a, p, i) => a * sizes[i]! + p, 0);
  const dx = new Float32Array(x.length);
  for (let nc = 0; nc < dims[0]! * dims[1]!; nc++) {
    for (const o of box(outSpatial)) {
      let best = -Infinity;
      let arg = -1;
      for (const w of box(c.kernel)) {
        const pos = o.map((oi, i) => oi * strides[i]! + w[i]! - pads[i]!);
        if (pos.some((p, i) => p < 0 || p >= spatial[i]!)) continue;
        const v = x[nc * plane + flat(pos, spatial)]!;
        if (v > best) {
          best = v;
          arg = flat(pos, spatial);
        }
      }
      dx[nc * plane + arg]! += g[nc * outPlane + flat(o, outSpatial)]!;
    }
  }
  return dx;
}

const CASES: PoolCase[] = [
  { name: '2-D 3x3/2 pad 1 (ResNet stem), ties', kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], dims: [2, 3, 9, 8], values: 'ties' },
  { name: '2-D 3x3/2 pad 1, ReLU zeros', kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], dims: [1, 2, 10, 10], values: 'relu' },
  { name: '2-D 2x2/2 (VGG), ties', kernel: [2, 2], strides: [2, 2], dims: [2, 2, 6, 7], values: 'ties' },
  { name: '2-D 3x3/1 pad 1 (stride 1, every offset overlaps)', kernel: [3, 3], pads: [1, 1, 1, 1], dims: [1, 2, 5, 6], values: 'ties' },
  { name: '2-D 2x2/2 ceil_mode on 5x5', kernel: [2, 2], strides: [2, 2], ceil: true, dims: [1, 2, 5, 5], values: 'random' },
  { name: '2-D 3x3/2 ceil_mode, pad 1, on 8x7', kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceil: true, dims: [1, 1, 8, 7], values: 'ties' },
  { name: '2-D kernel 1x1 stride 2 (kernel smaller than the stride)', kernel: [1, 1], strides: [2, 2], dims: [1, 2, 5, 6], values: 'random' },
  { name: '2-D 3x2 kernel, strides 2x3, asymmetric pads', kernel: [3, 2], strides: [2, 3], pads: [0, 1, 2, 0], dims: [1, 2, 7, 8], values: 'relu' },
  { name: '1-D 3/2 pad 1', kernel: [3], strides: [2], pads: [1, 1], dims: [2, 3, 11], values: 'ties' },
  { name: '3-D 2x2x2/2', kernel: [2, 2, 2], strides: [2, 2, 2], dims: [1, 2, 4, 4, 5], values: 'ties' },
];

function inputValues(c: PoolCase, n: number, r: () => number): Float32Array {
  if (c.values === 'ties') return Float32Array.from({ length: n }, () => [0, 0.5, 1][Math.floor(r() * 3)]!);
  const u = uniform(r, n);
  return c.values === 'relu' ? u.map((v) => Math.max(v, 0)) : u;
}

describe.each(['compare', 'indices'] as const)('MaxPool backward, routing by %s', (routing) => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_n, c) => {
    const k = c.kernel.length;
    const attrs: Parameters<typeof makeNode>[4] = { kernel_shape: { ints: c.kernel } };
    if (c.strides) attrs.strides = { ints: c.strides };
    if (c.pads) attrs.pads = { ints: c.pads };
    if (c.ceil) attrs.ceil_mode = { int: 1 };
    const node: NodeProto = makeNode('MaxPool', ['x'], ['y'], 'pool', attrs);
    const model = buildModel({ nodes: [node], initializers: [], inputs: [valueInfo('x', c.dims)], outputs: [valueInfo('y')] });
    const compiled = compileExplainer(model, { method: 'gradient', maxPoolRouting: routing });
    // By comparison the forward MaxPool keeps its single output (no Indices, which WebGPU lacks).
    for (const n of compiled.model.graph!.node) if (n.opType === 'MaxPool') expect(n.output.filter(Boolean)).toHaveLength(routing === 'compare' ? 1 : 2);
    if (routing === 'indices') {
      // Windows that cannot overlap scatter through MaxUnpool (no accumulation needed); the others add up.
      const disjoint = c.kernel.every((kk, i) => kk <= (c.strides ?? c.kernel.map(() => 1))[i]!) && !c.ceil;
      const ops = compiled.model.graph!.node.map((nd) => nd.opType);
      expect(ops.includes('MaxUnpool'), 'MaxUnpool').toBe(disjoint);
      expect(ops.includes('ScatterElements'), 'ScatterElements').toBe(!disjoint);
    }
    const r = rng(31 + k);
    const n = c.dims.reduce((a, b) => a * b, 1);
    const x = inputValues(c, n, r);
    const outDims = outShape(c);
    const g = uniform(r, outDims.reduce((a, b) => a * b, 1), 0.5, 1.5);
    const out = await runModel(compiled.bytes(), { x: { data: x, dims: c.dims }, [compiled.seedName]: { data: g, dims: outDims } });
    const got = out[compiled.attributionNames.x!]!.data;
    const want = referenceGrad(x, c.dims, outDims, c, g);
    expect(Array.from(out[compiled.scoresName]!.dims)).toEqual(outDims);
    expect(Array.from(out[compiled.attributionNames.x!]!.dims)).toEqual(c.dims);
    for (let i = 0; i < n; i++) expect(got[i], `element ${i}`).toBeCloseTo(want[i]!, 5);
    // The cotangent is conserved: every window passes all of it to exactly one input.
    const sum = (a: ArrayLike<number>) => Array.from(a).reduce((s, v) => s + v, 0);
    expect(sum(got)).toBeCloseTo(sum(g), 3);
  });
});

/** Output shape by ONNX's formula (ceil mode drops a last window that starts in the right padding). */
function outShape(c: PoolCase): number[] {
  const k = c.kernel.length;
  const strides = c.strides ?? c.kernel.map(() => 1);
  const pads = c.pads ?? new Array<number>(2 * k).fill(0);
  const out = c.dims.slice(2).map((d, i) => {
    const span = d + pads[i]! + pads[i + k]! - c.kernel[i]!;
    let o = (c.ceil ? Math.ceil(span / strides[i]!) : Math.floor(span / strides[i]!)) + 1;
    if (c.ceil && (o - 1) * strides[i]! >= d + pads[i]!) o--;
    return o;
  });
  return [...c.dims.slice(0, 2), ...out];
}
