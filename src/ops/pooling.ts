import type { NodeProto } from 'onnx-buf';
import { LimitExceededError } from '../errors.js';
import { attrInt, attrInts, getAttr } from '../onnx/attributes.js';
import { MODEL_LIMITS } from '../onnx/limits.js';
import { convTransposeOf } from './linear.js';
import { spatialOut } from '../ir/shapes.js';
import { unsupported, type Vjp, type VjpContext } from './context.js';
import { allInputs, type OpSpec, type ShapeRule } from './op.js';

/** A zero-filled flat tensor with as many elements as x. */
function zerosFlat(ctx: VjpContext, x: string): string {
  const { em } = ctx;
  return em.op('ConstantOfShape', [em.op('Reshape', [em.op('Size', [x]), em.ints([1])])], {}, 'zeros');
}

/** Adds the flat cotangent `g` at the flat positions `indices` of a zero tensor shaped like x. */
export function scatterAddInto(ctx: VjpContext, x: string, indices: string, g: string, duplicates: boolean): string {
  const { em } = ctx;
  const flat = em.op('ScatterElements', [zerosFlat(ctx, x), em.op('Reshape', [indices, em.ints([-1])]), em.op('Reshape', [g, em.ints([-1])])], duplicates ? { axis: { int: 0 }, reduction: { string: 'add' } } : { axis: { int: 0 } }, 'scatter');
  return em.op('Reshape', [flat, em.shapeOf(x)]);
}

/**
 * Max pooling routes the cotangent to the arg-max of each window — the first maximum in row-major window order, as
 * PyTorch and ONNX Runtime pick it — and overlapping windows add up.
 *
 * 'indices' (default): the forward MaxPool's `Indices` output is added (its first output is unchanged) and the
 * cotangent is scattered there. On ONNX Runtime's CPU provider this is about twice as fast as the comparison
 * (VGG16's first pool: 7 ms against 16 ms; ResNet50's stem pool: 4.5 ms against 8.5 ms).
 */
const maxPool: Vjp = (ctx, node, gOut, needs) => {
  if (ctx.maxPoolRouting === 'compare') return maxPoolByComparison(ctx, node, gOut, needs);
  const [g] = gOut;
  if (!g) return [undefined];
  checkMaxPool(node);
  let indices = node.output[1];
  if (!indices) {
    indices = ctx.g.fresh(`${node.output[0]}_indices`);
    node.output.push(indices);
    ctx.g.reindex();
  }
  const x = node.input[0]!;
  // Windows that cannot overlap (kernel ≤ stride on every axis) send each input element at most one cotangent, so
  // the scatter needs no accumulation: ONNX's MaxUnpool is that scatter, and ORT's kernel for it is faster than
  // ScatterElements with reduction 'add' (2×2/2 on [8, 288, 6, 24]: about 2.5 against 3.6 ms).
  const kernel = poolKernel(node);
  const strides = attrInts(node, 'strides') ?? kernel.map(() => 1);
  // ceil_mode's partial last window makes MaxUnpool infer a larger output than x, which ORT refuses.
  if (kernel.every((k, i) => k <= strides[i]!) && attrInt(node, 'ceil_mode', 0) === 0 && !node.attribute.some((a) => a.name === 'auto_pad' && new TextDecoder().decode(a.s) !== 'NOTSET')) {
    const pads = attrInts(node, 'pads');
    return [ctx.em.op('MaxUnpool', [g, indices, ctx.em.shapeOf(x)], { kernel_shape: { ints: kernel }, strides: { ints: strides }, ...(pads ? { pads: { ints: pads } } : {}) }, 'maxpool_grad')];
  }
  return [scatterAddInto(ctx, x, indices, g, true)];
};

function checkMaxPool(node: NodeProto): void {
  if (attrInt(node, 'storage_order', 0) !== 0) unsupported(node, 'storage_order=1 is not supported', 'export with the default row-major storage order');
  const dil = attrInts(node, 'dilations');
  if (dil && dil.some((d) => d !== 1)) unsupported(node, 'dilated max pooling is not supported', undefined);
}

/**
 * 'compare': the same routing from element-wise ops, for runtimes whose MaxPool has no `Indices` output (ONNX
 * Runtime's WebGPU provider). For each window offset the strided slice of the −∞-padded input is compared with the
 * pooled output, the first offset that matches takes the cotangent, and the per-offset cotangents are put back on
 * the input grid by offset class (position mod stride: Pad to shift within a class, one interleave for all).
 */
const maxPoolByComparison: Vjp = (ctx, node, [g]) => {
  const { em } = ctx;
  if (!g) return [undefined];
  checkMaxPool(node);
  const autoPad = getAttr(node, 'auto_pad')?.s;
  if (autoPad && new TextDecoder().decode(autoPad) !== 'NOTSET') unsupported(node, 'MaxPool with auto_pad is not supported by the backward pass', 'export with explicit pads');
  const kernel = poolKernel(node);
  const k = kernel.length;
  const strides = attrInts(node, 'strides') ?? kernel.map(() => 1);
  const pads = attrInts(node, 'pads') ?? new Array<number>(2 * k).fill(0);
  const x = node.input[0]!;
  const y = node.output[0]!;
  const spatialAxes = kernel.map((_, i) => i + 2);
  // -inf padding never wins a window; the extra stride at the end covers ceil_mode's partial last window.
  const padded = em.op('Pad', [x, em.ints([0, 0, ...pads.slice(0, k), 0, 0, ...pads.slice(k).map((p, i) => p + strides[i]!)]), em.scalar(-Infinity)], { mode: { string: 'constant' } }, 'maxpool_pad');
  // Offset o's window elements: padded[o + s·j] for j < output size, i.e. the slice [o, o + (out − 1)·s + 1) step s.
  const outSpatial = em.op('Shape', [y], { start: { int: 2 } });
  const span = em.op('Add', [em.op('Mul', [em.op('Sub', [outSpatial, em.ints(kernel.map(() => 1))]), em.ints(strides)]), em.ints(kernel.map(() => 1))]);
  const offsets = cartesian(kernel);
  const quotient = kernel.map((kk, i) => Math.floor((kk - 1) / strides[i]!));
  const classes = new Map<string, string[]>();
  let taken: string | undefined;
  for (const o of offsets) {
    const window = em.op('Slice', [padded, em.ints(o), em.op('Add', [span, em.ints(o)]), em.ints(spatialAxes), em.ints(strides)], {}, 'maxpool_window');
    const match = em.op('Equal', [window, y]);
    const first = taken ? em.op('And', [match, em.op('Not', [taken])]) : match;
    taken = taken ? em.op('Or', [taken, match]) : match;
    const routed = em.op('Where', [first, g, em.scalar(0)], {}, 'maxpool_route');
    // Within its class (o mod s) the offset shifts by q = o div s output positions.
    const q = o.map((oi, i) => Math.floor(oi / strides[i]!));
    const shifted = quotient.every((qq) => qq === 0) ? routed : em.op('Pad', [routed, em.ints([0, 0, ...q, 0, 0, ...q.map((qi, i) => quotient[i]! - qi)])], { mode: { string: 'constant' } });
    const key = o.map((oi, i) => oi % strides[i]!).join(',');
    classes.set(key, [...(classes.get(key) ?? []), shifted]);
  }
  const residues = cartesian(strides);
  let grid: string;
  if (residues.length === 1) grid = em.sum(classes.get(residues[0]!.join(','))!);
  else if (k === 2 && strides[0] === strides[1]) {
    // DepthToSpace (DCR) interleaves channel block r1·s + r2 to positions (l1·s + r1, l2·s + r2): ten times faster
    // in ONNX Runtime than the 6-D Transpose below (1.5 ms against 15 ms on 64 × 57 × 57 × 4).
    const any = em.sum(classes.values().next().value!);
    const parts = residues.map((r) => {
      const c = classes.get(r.join(','));
      return c ? em.sum(c) : em.mul(any, em.scalar(0));
    });
    grid = em.op('DepthToSpace', [em.op('Concat', parts, { axis: { int: 1 } })], { blocksize: { int: strides[0]! }, mode: { string: 'DCR' } });
  } else {
    // Classes absent from the kernel (kernel < stride) receive nothing.
    const any = em.sum(classes.values().next().value!);
    const parts = residues.map((r) => {
      const c = classes.get(r.join(','));
      return em.op('Unsqueeze', [c ? em.sum(c) : em.mul(any, em.scalar(0)), em.ints([2])]);
    });
    const stacked = em.op('Concat', parts, { axis: { int: 2 } });
    const lengths = em.op('Shape', [any], { start: { int: 2 } });
    const nc = em.op('Shape', [x], { end: { int: 2 } });
    const split = em.op('Reshape', [stacked, em.op('Concat', [nc, em.ints(strides), lengths], { axis: { int: 0 } })]);
    // [N, C, s1..sk, L1..Lk] → [N, C, L1, s1, …, Lk, sk] → [N, C, L1·s1, …]: position l·s + r.
    const perm = [0, 1, ...kernel.flatMap((_, i) => [2 + k + i, 2 + i])];
    grid = em.op('Reshape', [em.op('Transpose', [split], { perm: { ints: perm } }), em.op('Concat', [nc, em.op('Mul', [lengths, em.ints(strides)])], { axis: { int: 0 } })]);
  }
  // The grid starts at the padded origin and may stop short of the input's last rows (floor mode leaves them out).
  const extended = em.op('Pad', [grid, em.ints([0, 0, ...kernel.map(() => 0), 0, 0, ...kernel.map((kk, i) => pads[i]! + kk + strides[i]!)])], { mode: { string: 'constant' } });
  const begin = em.ints(pads.slice(0, k));
  const end = em.op('Add', [em.op('Shape', [x], { start: { int: 2 } }), begin]);
  return [em.op('Slice', [extended, begin, end, em.ints(spatialAxes)], {}, 'maxpool_grad')];
};

/** All index tuples of a box, row-major (the last axis fastest). */
function cartesian(sizes: readonly number[]): number[][] {
  let out: number[][] = [[]];
  for (const n of sizes) out = out.flatMap((t) => Array.from({ length: n }, (_, i) => [...t, i]));
  return out;
}

/**
 * The kernel, checked: the backward passes emit one op per window offset (MaxPool) or a ones kernel of the window's
 * size (AveragePool), so window and stride products are bounded by MODEL_LIMITS.maxPoolWindow.
 */
function poolKernel(node: NodeProto): number[] {
  const k = attrInts(node, 'kernel_shape');
  if (!k) unsupported(node, 'pooling without kernel_shape');
  const strides = attrInts(node, 'strides') ?? [];
  for (const [what, v] of [['kernel_shape', k], ['strides', strides]] as const) {
    if (v.some((d) => !Number.isInteger(d) || d < 1)) unsupported(node, `${what} [${v.join(', ')}] must hold positive integers`);
    const prod = v.reduce((a, b) => a * b, 1);
    if (prod > MODEL_LIMITS.maxPoolWindow) throw new LimitExceededError(`node '${node.name || node.opType}' (${node.opType}): ${what} product`, prod, MODEL_LIMITS.maxPoolWindow);
  }
  return k;
}

/**
 * Average pooling's transpose: ConvTranspose with a ones kernel on each channel separately (channels folded into
 * the batch axis, so the channel count need not be known statically), after dividing by the window size.
 */
const averagePool: Vjp = (ctx, node, [g]) => {
  const { em } = ctx;
  if (!g) return [undefined];
  const x = node.input[0]!;
  const kernel = poolKernel(node);
  const kprod = kernel.reduce((a, b) => a * b, 1);
  const pads = attrInts(node, 'pads') ?? [];
  const countPad = attrInt(node, 'count_include_pad', 0) === 1;
  let s: string;
  if (countPad || pads.every((p) => p === 0)) s = em.mul(g, em.scalar(1 / kprod));
  else {
    // Windows that overlap the padding average over fewer elements: count them with the same pooling on ones.
    const counted = em.op('AveragePool', [em.constLike(x, 1)], {
      kernel_shape: { ints: kernel },
      strides: { ints: attrInts(node, 'strides') ?? kernel.map(() => 1) },
      pads: { ints: pads },
      count_include_pad: { int: 1 },
      ceil_mode: { int: attrInt(node, 'ceil_mode', 0) },
    });
    s = em.div(g, em.mul(counted, em.scalar(kprod)));
  }
  const folded = em.op('Reshape', [s, em.op('Concat', [em.ints([-1, 1]), em.op('Shape', [s], { start: { int: 2 } })], { axis: { int: 0 } })]);
  const xFolded = em.op('Reshape', [x, em.op('Concat', [em.ints([-1, 1]), em.op('Shape', [x], { start: { int: 2 } })], { axis: { int: 0 } })]);
  const ones = em.floats('avgpool_ones', new Float32Array(kprod).fill(1), [1, 1, ...kernel]);
  // Reuse the conv transpose logic (output padding / run-time fix-up) with a synthetic conv node.
  const pseudo = { ...node, opType: 'Conv', input: [xFolded, ones], output: [folded] } as NodeProto;
  const pseudoCtx: VjpContext = { ...ctx, info: new Map() };
  const up = convTransposeOf(pseudoCtx, pseudo, folded, ones, kernel, xFolded);
  return [em.op('Reshape', [up, em.shapeOf(x)])];
};

const globalAveragePool: Vjp = (ctx, node, [g]) => {
  const { em } = ctx;
  if (!g) return [undefined];
  const x = node.input[0]!;
  const area = em.op('Cast', [em.op('ReduceProd', [em.op('Shape', [x], { start: { int: 2 } })], { keepdims: { int: 0 } })], { to: { int: 1 } });
  return [em.op('Expand', [em.div(g, area), em.shapeOf(x)], {}, 'gap_grad')];
};

const globalMaxPool: Vjp = (ctx, node, [g]) => {
  const { em } = ctx;
  if (!g) return [undefined];
  const x = node.input[0]!;
  const nc = em.op('Shape', [x], { end: { int: 2 } });
  const flat = em.op('Reshape', [x, em.op('Concat', [nc, em.ints([-1])], { axis: { int: 0 } })]);
  const arg = em.op('ArgMax', [flat], { axis: { int: 2 }, keepdims: { int: 1 } });
  const gFlat = em.op('Reshape', [g, em.op('Concat', [nc, em.ints([1])], { axis: { int: 0 } })]);
  const zeros = em.op('ConstantOfShape', [em.shapeOf(flat)]);
  const scattered = em.op('ScatterElements', [zeros, arg, gFlat], { axis: { int: 2 } });
  return [em.op('Reshape', [scattered, em.shapeOf(x)])];
};

// --- the pooling family in the op registry -------------------------------------------------------------------------

/** Windowed pooling: the window geometry of the spatial dims; MaxPool's optional second output holds int64 indices. */
const poolShape: ShapeRule = ({ inp }, n) => {
  const { elemType: t, shape: s } = inp(0);
  if (!s) return [{ elemType: t }, { elemType: 7 }];
  const kernel = attrInts(n, 'kernel_shape')!;
  const shape = [s[0]!, s[1]!, ...spatialOut(n, s.slice(2), kernel)];
  return [{ elemType: t, shape }, { elemType: 7, shape }];
};

const globalPoolShape: ShapeRule = ({ inp }) => {
  const { elemType: t, shape: s } = inp(0);
  return [{ elemType: t, shape: s ? [s[0]!, s[1]!, ...s.slice(2).map(() => 1)] : undefined }];
};

export const poolingOps: Record<string, OpSpec> = {
  MaxPool: { kind: 'pooling', vjp: maxPool, shape: poolShape, nonNegative: allInputs },
  AveragePool: { kind: 'pooling', vjp: averagePool, shape: poolShape, nonNegative: allInputs, unit: () => ({ kind: 'avgpool' }) },
  GlobalAveragePool: { kind: 'pooling', vjp: globalAveragePool, shape: globalPoolShape, nonNegative: allInputs, unit: () => ({ kind: 'avgpool' }) },
  GlobalMaxPool: { kind: 'pooling', vjp: globalMaxPool, shape: globalPoolShape, nonNegative: allInputs },
  LpPool: { kind: 'pooling', shape: poolShape },
};
