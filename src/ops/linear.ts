import type { NodeProto } from 'onnx-buf';
import { attrInt, attrInts, getAttr } from '../onnx/attributes.js';
import type { AttrValue } from "../onnx/attributes.js";
import { broadcastShapes, spatialOut } from '../ir/shapes.js';
import { staticShape, unbroadcast, unsupported, shapeOf, type Vjp, type VjpContext } from './context.js';
import type { OpSpec, ShapeRule, UnitRule } from './op.js';
import { productKind } from './attention.js';

/** Convolution geometry with explicit pads (the explicit-pads canonicaliser resolves auto_pad beforehand). */
export function convGeometry(node: NodeProto, kernel: number[]) {
  const k = kernel.length;
  const autoPad = getAttr(node, 'auto_pad');
  const ap = autoPad ? new TextDecoder().decode(autoPad.s) : 'NOTSET';
  if (ap !== 'NOTSET' && ap !== 'VALID') {
    unsupported(node, `auto_pad=${ap} with input sizes that are not known statically`, 'give the model static spatial input dims, or export it with explicit pads');
  }
  return {
    strides: attrInts(node, 'strides') ?? new Array<number>(k).fill(1),
    dilations: attrInts(node, 'dilations') ?? new Array<number>(k).fill(1),
    pads: ap === 'VALID' ? new Array<number>(2 * k).fill(0) : (attrInts(node, 'pads') ?? new Array<number>(2 * k).fill(0)),
    group: attrInt(node, 'group', 1),
    kernel,
  };
}

/**
 * ∂Conv/∂x applied to s: ConvTranspose with the forward kernel. The transposed conv can come out smaller than x when
 * the forward conv dropped trailing rows; output_padding (static shapes) or a run-time Pad (symbolic shapes) restores it.
 */
export function convTransposeOf(ctx: VjpContext, node: NodeProto, s: string, w: string, kernel: number[], x: string): string {
  const { em } = ctx;
  const geo = convGeometry(node, kernel);
  const attrs: Record<string, AttrValue> = {
    strides: { ints: geo.strides },
    dilations: { ints: geo.dilations },
    pads: { ints: geo.pads },
    group: { int: geo.group },
    kernel_shape: { ints: kernel },
  };
  if (geo.strides.every((st) => st === 1)) {
    const asConv = stride1TransposeAsConv(ctx, s, w, geo, kernel);
    if (asConv) return asConv;
  }
  const xs = shapeOf(ctx, x)?.slice(2);
  const ys = shapeOf(ctx, node.output[0]!)?.slice(2);
  const k = kernel.length;
  if (xs && ys && xs.length === k && ys.length === k && [...xs, ...ys].every((d) => typeof d === 'number')) {
    const outPad = kernel.map((_, i) => {
      const eff = (kernel[i]! - 1) * geo.dilations[i]! + 1;
      return (xs[i] as number) + geo.pads[i]! + geo.pads[i + k]! - (((ys[i] as number) - 1) * geo.strides[i]! + eff);
    });
    if (outPad.every((p, i) => p >= 0 && p < Math.max(geo.strides[i]!, geo.dilations[i]!))) {
      if (outPad.some((p) => p > 0)) attrs.output_padding = { ints: outPad };
      return em.op('ConvTranspose', [s, w], attrs, 'conv_T');
    }
  }
  // Sizes unknown at compile time: the largest legal output_padding (stride − 1) always covers x, then crop to x.
  if (geo.strides.some((st) => st > 1)) attrs.output_padding = { ints: geo.strides.map((st) => st - 1) };
  const y = em.op('ConvTranspose', [s, w], attrs, 'conv_T');
  const axes = em.ints(Array.from({ length: k }, (_, i) => i + 2));
  return em.op('Slice', [y, em.ints(new Array<number>(k).fill(0)), em.op('Shape', [x], { start: { int: 2 } }), axes], {}, 'conv_T_crop');
}

/**
 * At stride 1 the transpose of a convolution is itself a convolution, with the kernel W [Cout, Cin/g, k…] turned
 * into W' [Cin, Cout/g, k…] (channels swapped within each group) and every spatial axis reversed, and pads
 * (eff − 1 − p). ONNX Runtime's Conv is much faster than its ConvTranspose (it gets the NCHWc kernels), so the
 * backward pass uses it whenever the kernel is a constant and the pads allow. Exact: the same products, summed in
 * another order. W' is computed by graph ops on the constant kernel, which ONNX Runtime folds into an initializer
 * when it creates the session (C++, once) — the compiled model does not carry a second copy of the weights.
 */
function stride1TransposeAsConv(ctx: VjpContext, s: string, w: string, geo: ReturnType<typeof convGeometry>, kernel: number[]): string | undefined {
  const { em } = ctx;
  const k = kernel.length;
  const pads = [...geo.pads];
  for (let i = 0; i < k; i++) {
    const eff = (kernel[i]! - 1) * geo.dilations[i]! + 1;
    pads[i] = eff - 1 - geo.pads[i]!;
    pads[i + k] = eff - 1 - geo.pads[i + k]!;
  }
  if (pads.some((p) => p < 0)) return undefined;
  const dims = em.constDims(w);
  if (!dims || dims.length !== k + 2 || dims[0]! % geo.group !== 0) return undefined;
  const flipped = em.derived(`flipT|${w}|${geo.group}`, () => flippedTransposedKernel(ctx, w, dims, geo.group));
  return em.op('Conv', [s, flipped], {
    dilations: { ints: geo.dilations },
    pads: { ints: pads },
    group: { int: geo.group },
    kernel_shape: { ints: kernel },
  }, 'conv_T');
}

/** W [Cout, Cin/g, k…] → W' [Cin, Cout/g, k…], spatial axes reversed, as constant-foldable graph ops. */
function flippedTransposedKernel(ctx: VjpContext, w: string, dims: readonly number[], group: number): string {
  const { em } = ctx;
  const [cout, cinG, ...ks] = dims as [number, number, ...number[]];
  const spatial = ks.map((_, i) => i + 2);
  let t: string;
  if (group === 1) t = em.op('Transpose', [w], { perm: { ints: [1, 0, ...spatial] } }, 'kernel_T');
  else {
    const grouped = em.op('Reshape', [w, em.ints([group, cout / group, cinG, ...ks])], {}, 'kernel_groups');
    const swapped = em.op('Transpose', [grouped], { perm: { ints: [0, 2, 1, ...spatial.map((a) => a + 1)] } }, 'kernel_T');
    t = em.op('Reshape', [swapped, em.ints([cinG * group, cout / group, ...ks])], {}, 'kernel_T');
  }
  // Slice with step −1 from the last element to before the first reverses an axis.
  const out = em.op('Slice', [t, em.ints(ks.map(() => -1)), em.ints(ks.map(() => Number.MIN_SAFE_INTEGER)), em.ints(spatial), em.ints(ks.map(() => -1))], {}, 'kernel_flipT');
  em.setConstDims(out, [cinG * group, cout / group, ...ks]);
  return out;
}

/** ∂ConvTranspose/∂x applied to s: a Conv with the same kernel (its weight layout already maps out→in channels). */
export function convOfTranspose(ctx: VjpContext, node: NodeProto, s: string, w: string, kernel: number[]): string {
  if (getAttr(node, 'output_shape')) unsupported(node, 'ConvTranspose with output_shape is not supported', 'export with explicit pads/output_padding');
  const geo = convGeometry(node, kernel);
  return ctx.em.op('Conv', [s, w], {
    strides: { ints: geo.strides },
    dilations: { ints: geo.dilations },
    pads: { ints: geo.pads },
    group: { int: geo.group },
    kernel_shape: { ints: kernel },
  }, 'convT_T');
}

export function kernelOf(ctx: VjpContext, node: NodeProto): number[] {
  const ks = attrInts(node, 'kernel_shape');
  if (ks) return ks;
  const w = staticShape(ctx, node.input[1]!);
  if (!w) unsupported(node, 'kernel shape unknown (weight shape is not static)', 'export the model with constant weights');
  return w.slice(2);
}

const conv: Vjp = (ctx, node, [g], needs) => {
  if (!g) return node.input.map(() => undefined);
  if (needs[1] || needs[2]) unsupported(node, 'convolution weights depend on the input', 'only convolutions with constant weights are differentiated');
  return [convTransposeOf(ctx, node, g, node.input[1]!, kernelOf(ctx, node), node.input[0]!), undefined, undefined];
};

const convTranspose: Vjp = (ctx, node, [g], needs) => {
  if (!g) return node.input.map(() => undefined);
  if (needs[1] || needs[2]) unsupported(node, 'weights depend on the input', 'only constant weights are differentiated');
  return [convOfTranspose(ctx, node, g, node.input[1]!, kernelOf(ctx, node)), undefined, undefined];
};

const gemm: Vjp = (ctx, node, [g], needs) => {
  const { em } = ctx;
  if (!g) return node.input.map(() => undefined);
  const [a, b, c] = node.input as [string, string, string | undefined];
  const tA = attrInt(node, 'transA', 0);
  const tB = attrInt(node, 'transB', 0);
  const alpha = getAttr(node, 'alpha')?.f ?? 1;
  const beta = getAttr(node, 'beta')?.f ?? 1;
  const al: Record<string, AttrValue> = alpha === 1 ? {} : { alpha: { float: alpha } };
  let dA: string | undefined;
  let dB: string | undefined;
  if (needs[0]) {
    // Y = op(A)·op(B): d op(A) = g·op(B)ᵀ
    dA = tA === 0 ? em.op('Gemm', [g, b], { ...al, transB: { int: 1 - tB } }, 'gemm_dA') : em.op('Gemm', [b, g], { ...al, transA: { int: tB }, transB: { int: 1 } }, 'gemm_dA');
  }
  if (needs[1]) {
    dB = tB === 0 ? em.op('Gemm', [a, g], { ...al, transA: { int: 1 - tA } }, 'gemm_dB') : em.op('Gemm', [g, a], { ...al, transA: { int: 1 }, transB: { int: tA } }, 'gemm_dB');
  }
  const dC = needs[2] && c ? unbroadcast(ctx, beta === 1 ? g : em.mul(g, em.scalar(beta)), c, node.output[0]!) : undefined;
  return [dA, dB, dC];
};

function transposeLast2(ctx: VjpContext, t: string, node: NodeProto): string {
  const { em } = ctx;
  // For a constant weight this Transpose is folded into an initializer by ONNX Runtime at session creation.
  const rank = em.constDims(t)?.length ?? shapeOf(ctx, t)?.length;
  if (rank === undefined) unsupported(node, `rank of '${t}' unknown`, 'export the model with static ranks');
  if (rank < 2) unsupported(node, 'MatMul with a 1-D operand that needs a gradient', 'reshape the operand to 2-D');
  const perm = Array.from({ length: rank }, (_, i) => i);
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1]!, perm[rank - 2]!];
  return em.op('Transpose', [t], { perm: { ints: perm } });
}

/**
 * g·Wᵀ for a 2-D constant W [K, N] and g [..., N], shaped like x [..., K]: a `Gemm` with transB on W itself, so the
 * backward reads the same initializer as the forward. A `Transpose(W)` would be folded into a second copy of every
 * linear weight (and, with prepacking, each copy packed once more): for ViT-B/16 that is 330 MB.
 */
export function matmulByConstT(ctx: VjpContext, g: string, w: string, n: number, x: string): string {
  const { em } = ctx;
  const rank = shapeOf(ctx, g)?.length ?? shapeOf(ctx, x)?.length;
  if (rank === 2) return em.op('Gemm', [g, w], { transB: { int: 1 } }, 'matmul_dA');
  const flat = em.op('Reshape', [g, em.ints([-1, n])]);
  return em.op('Reshape', [em.op('Gemm', [flat, w], { transB: { int: 1 } }, 'matmul_dA'), em.shapeOf(x)]);
}

const matmul: Vjp = (ctx, node, [g], needs) => {
  const { em } = ctx;
  if (!g) return [undefined, undefined];
  const [a, b] = node.input as [string, string];
  const y = node.output[0]!;
  const bDims = em.constDims(b);
  const constB = bDims?.length === 2 && (shapeOf(ctx, a)?.length ?? 0) >= 2;
  const dA = !needs[0] ? undefined : constB ? matmulByConstT(ctx, g, b, bDims[1]!, a) : unbroadcast(ctx, em.op('MatMul', [g, transposeLast2(ctx, b, node)], {}, 'matmul_dA'), a, y);
  const dB = needs[1] ? unbroadcast(ctx, em.op('MatMul', [transposeLast2(ctx, a, node), g], {}, 'matmul_dB'), b, y) : undefined;
  return [dA, dB];
};



// --- the linear family in the op registry --------------------------------------------------------------------------

const convShape: ShapeRule = ({ inp }, n) => {
  const op = n.opType;
  const { elemType: t, shape: s } = inp(0);
  const w = inp(1).shape;
  if (!s || !w) return [{ elemType: t }];
  const kernel = (attrInts(n, 'kernel_shape') ?? (w.slice(2) as number[])).map(Number);
  const group = attrInt(n, 'group', 1);
  const explicitOut = attrInts(n, 'output_shape');
  const spatial = op === 'ConvTranspose' && explicitOut ? explicitOut : spatialOut(n, s.slice(2), kernel, op === 'ConvTranspose');
  const ch = op === 'Conv' ? w[0]! : typeof w[1] === 'number' ? w[1] * group : null;
  return [{ elemType: t, shape: [s[0]!, ch, ...spatial] }];
};

const gemmShape: ShapeRule = ({ inp }, n) => {
  const { elemType: t, shape: s } = inp(0);
  const b = inp(1).shape;
  if (!s || !b) return [{ elemType: t }];
  const m = attrInt(n, 'transA', 0) ? s[1]! : s[0]!;
  const nn = attrInt(n, 'transB', 0) ? b[0]! : b[1]!;
  return [{ elemType: t, shape: [m, nn] }];
};

const matmulShape: ShapeRule = ({ inp }) => {
  const { elemType: t, shape: s } = inp(0);
  const b = inp(1).shape;
  if (!s || !b) return [{ elemType: t }];
  const a2 = s.length === 1 ? [1, s[0]!] : s;
  const b2 = b.length === 1 ? [b[0]!, 1] : b;
  const batch = broadcastShapes([a2.slice(0, -2), b2.slice(0, -2)]) ?? [];
  const out = [...batch, a2[a2.length - 2]!, b2[b2.length - 1]!];
  if (s.length === 1) out.splice(out.length - 2, 1);
  if (b.length === 1) out.splice(out.length - 1, 1);
  return [{ elemType: t, shape: out }];
};

/** A convolution with constant kernel (and bias) of a non-constant input is a 'conv' layer. */
const convUnit: UnitRule = (g, n) => {
  const w = g.constant(n.input[1]!);
  const b = n.input[2] ? g.constant(n.input[2]) : undefined;
  if (w && (!n.input[2] || b) && !g.isConstant(n.input[0]!)) {
    return { kind: 'conv', linear: { x: n.input[0]!, weight: w, weightName: n.input[1]!, bias: b, biasName: n.input[2] || undefined, node: n } };
  }
  return { kind: 'other' };
};

/** Gemm with a constant weight (and bias), A not transposed, is a 'dense' layer. */
const gemmUnit: UnitRule = (g, n) => {
  const w = g.constant(n.input[1]!);
  const b = n.input[2] ? g.constant(n.input[2]) : undefined;
  if (w && attrInt(n, 'transA', 0) === 0 && (!n.input[2] || b) && !g.isConstant(n.input[0]!)) {
    return { kind: 'dense', linear: { x: n.input[0]!, weight: w, weightName: n.input[1]!, bias: b, biasName: n.input[2] || undefined, node: n } };
  }
  return { kind: 'other' };
};

/**
 * MatMul with a constant 2-D weight is a 'dense' layer; the recognised pattern MatMul + Add(bias) is one dense layer
 * (nn.Linear on 3-D inputs exports this way). A product of two non-constant tensors is a product/scores unit.
 */
const matmulUnit: UnitRule = (g, n) => {
  const w = g.constant(n.input[1]!);
  if (!w || w.dims.length !== 2 || g.isConstant(n.input[0]!)) return { kind: productKind(g, n) };
  const cons = g.consumers(n.output[0]!);
  const add = cons.length === 1 && cons[0]!.opType === 'Add' && !g.isGraphOutput(n.output[0]!) ? cons[0]! : undefined;
  const biasName = add?.input.find((i) => i !== n.output[0]);
  const bias = biasName ? g.constant(biasName) : undefined;
  if (add && bias && bias.data.length === w.dims[1]) {
    return { kind: 'dense', absorb: add, linear: { x: n.input[0]!, weight: w, weightName: n.input[1]!, bias, biasName, node: n } };
  }
  return { kind: 'dense', linear: { x: n.input[0]!, weight: w, weightName: n.input[1]!, node: n } };
};

export const linearOps: Record<string, OpSpec> = {
  Conv: { kind: 'linear', vjp: conv, shape: convShape, unit: convUnit },
  ConvTranspose: { kind: 'linear', vjp: convTranspose, shape: convShape, unit: convUnit },
  Gemm: { kind: 'linear', vjp: gemm, shape: gemmShape, unit: gemmUnit },
  MatMul: { kind: 'linear', vjp: matmul, shape: matmulShape, unit: matmulUnit },
};
