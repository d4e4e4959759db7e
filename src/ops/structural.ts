import { attrInt, attrInts, attrString, getAttr } from '../onnx/attributes.js';
import { constInts, constNumbers, int64Tensor } from '../onnx/tensor.js';
import { reshapeLike, shapeOf, unbroadcast, unsupported, type Vjp, type VjpContext } from './context.js';
import { scatterAddInto } from './pooling.js';

const reshapeBack: Vjp = (ctx, node, [g]) => [g ? reshapeLike(ctx, g, node.input[0]!) : undefined, undefined];

const transpose: Vjp = (ctx, node, [g]) => {
  if (!g) return [undefined];
  let perm = attrInts(node, 'perm');
  if (!perm) {
    const rank = shapeOf(ctx, node.input[0]!)?.length;
    if (rank === undefined) unsupported(node, 'Transpose without perm on a tensor of unknown rank');
    perm = Array.from({ length: rank }, (_, i) => rank - 1 - i);
  }
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return [ctx.em.op('Transpose', [g], { perm: { ints: inv } })];
};

function axisOf(ctx: VjpContext, node: Parameters<Vjp>[1], fallback: number): number {
  const axis = attrInt(node, 'axis', fallback);
  if (axis >= 0) return axis;
  const rank = shapeOf(ctx, node.input[0]!)?.length ?? shapeOf(ctx, node.output[0]!)?.length;
  if (rank === undefined) unsupported(node, 'negative axis on a tensor of unknown rank');
  return axis + rank;
}

/** Concat: each input receives its slice of the cotangent; offsets are computed from the inputs' run-time shapes. */
const concat: Vjp = (ctx, node, [g], needs) => {
  const { em } = ctx;
  if (!g) return node.input.map(() => undefined);
  const axis = axisOf(ctx, node, 0);
  const axes = em.ints([axis]);
  let offset = em.ints([0]);
  return node.input.map((x, k) => {
    const size = em.op('Shape', [x], { start: { int: axis }, end: { int: axis + 1 } });
    const end = em.add(offset, size);
    const out = needs[k] ? em.op('Slice', [g, offset, end, axes], {}, 'concat_grad') : undefined;
    offset = end;
    return out;
  });
};

const split: Vjp = (ctx, node, gOut) => {
  const { em } = ctx;
  if (gOut.every((g) => !g)) return node.input.map(() => undefined);
  const axis = axisOf(ctx, node, 0);
  const parts = node.output.map((o, k) => gOut[k] ?? em.constLike(o, 0));
  return [em.op('Concat', parts, { axis: { int: axis } }), undefined];
};

/**
 * Slice and Gather select elements of x. Their transpose scatters the cotangent back; which flat positions were
 * selected is found by applying the same op to a tensor of flat indices — exact for any starts/steps/axes.
 */
function flatIndexTensor(ctx: VjpContext, x: string): string {
  const { em } = ctx;
  const n = em.op('Size', [x]);
  const range = em.op('Range', [em.op('Cast', [em.scalar(0)], { to: { int: 7 } }), n, em.op('Cast', [em.scalar(1)], { to: { int: 7 } })]);
  return em.op('Reshape', [range, em.shapeOf(x)]);
}

const slice: Vjp = (ctx, node, [g]) => {
  if (!g) return node.input.map(() => undefined);
  const x = node.input[0]!;
  const idx = ctx.em.op('Slice', [flatIndexTensor(ctx, x), ...node.input.slice(1)]);
  return [scatterAddInto(ctx, x, idx, g, false), undefined, undefined, undefined, undefined];
};

const gather: Vjp = (ctx, node, [g], needs) => {
  if (!g) return [undefined, undefined];
  if (!needs[0]) return [undefined, undefined];
  const x = node.input[0]!;
  const idx = ctx.em.op('Gather', [flatIndexTensor(ctx, x), node.input[1]!], { axis: { int: attrInt(node, 'axis', 0) } });
  return [scatterAddInto(ctx, x, idx, g, true), undefined];
};

/** Constant-mode Pad: its transpose crops the padding away again. */
const pad: Vjp = (ctx, node, [g]) => {
  const { em, g: graph } = ctx;
  if (!g) return node.input.map(() => undefined);
  const mode = attrString(node, 'mode', 'constant');
  if (mode !== 'constant') unsupported(node, `Pad mode '${mode}' is not differentiated`, "only mode 'constant' is supported; reflect/edge padding would need a scatter rule");
  const padsC = !getAttr(node, 'pads') && node.input[1] ? graph.constant(node.input[1]) : undefined;
  const padsConst = getAttr(node, 'pads') ? attrInts(node, 'pads') : padsC ? integers(node, padsC, 'pads') : undefined;
  if (!padsConst) unsupported(node, 'pads are computed at run time', 'export with constant pads');
  const axesC = node.input[3] ? graph.constant(node.input[3]) : undefined;
  const half = padsConst.length / 2;
  const axes = axesC ? integers(node, axesC, 'axes') : Array.from({ length: half }, (_, i) => i);
  if (padsConst.some((p) => p < 0)) unsupported(node, 'negative pads (cropping) are not differentiated');
  const starts = padsConst.slice(0, half);
  const ends = padsConst.slice(half).map((p) => (p === 0 ? Number.MAX_SAFE_INTEGER : -p));
  return [em.op('Slice', [g, em.ints(starts), em.ints(ends), em.ints(axes)], {}, 'pad_grad'), undefined, undefined, undefined];
};

const expand: Vjp = (ctx, node, [g]) => [g ? unbroadcast(ctx, g, node.input[0]!, node.output[0]!) : undefined, undefined];

function reduceAxes(ctx: VjpContext, node: Parameters<Vjp>[1]): number[] | undefined {
  const a = attrInts(node, 'axes');
  if (a) return a;
  const c = node.input[1] ? ctx.g.constant(node.input[1]) : undefined;
  return c ? integers(node, c, 'axes') : undefined;
}

/** A constant input ONNX requires to hold integers; anything else makes the model invalid. */
function integers(node: Parameters<Vjp>[1], c: Parameters<typeof constInts>[0], what: string): number[] {
  const v = constInts(c);
  if (!v) unsupported(node, `its ${what} input is not an integer tensor (element type ${c.dataType})`, 'the model is invalid ONNX; export it again');
  return v;
}

const reduceSumMean: Vjp = (ctx, node, [g]) => {
  const { em } = ctx;
  if (!g) return node.input.map(() => undefined);
  const x = node.input[0]!;
  const axes = reduceAxes(ctx, node);
  let gk = g;
  if (attrInt(node, 'keepdims', 1) === 0) {
    if (!axes) gk = em.op('Reshape', [g, em.op('ConstantOfShape', [em.op('Shape', [em.shapeOf(x)])], { value: { tensor: int64Tensor('one', [1], [1]) } })]);
    else gk = em.op('Unsqueeze', [g, em.ints(axes)]);
  }
  let out = em.op('Expand', [gk, em.shapeOf(x)]);
  if (node.opType === 'ReduceMean') {
    const count = em.div(em.op('Cast', [em.op('Size', [x])], { to: { int: 1 } }), em.op('Cast', [em.op('Size', [node.output[0]!])], { to: { int: 1 } }));
    out = em.div(out, count);
  }
  return [out, undefined];
};


/** BatchNormalization in inference mode is a per-channel affine map: the cotangent is scaled by γ/√(σ²+ε). */
const batchNorm: Vjp = (ctx, node, [g]) => {
  const { em, g: graph } = ctx;
  if (!g) return node.input.map(() => undefined);
  const scale = graph.constant(node.input[1]!);
  const variance = graph.constant(node.input[4]!);
  if (!scale || !variance) unsupported(node, 'BatchNormalization with non-constant statistics', 'export the model in eval mode');
  const eps = getAttr(node, 'epsilon')?.f ?? 1e-5;
  const s = constNumbers(scale);
  const v = constNumbers(variance);
  const rank = shapeOf(ctx, node.input[0]!)?.length ?? 4;
  const factor = Float32Array.from(s, (sc, i) => sc / Math.sqrt(v[i]! + eps));
  const f = em.floats('bn_factor', factor, [factor.length, ...new Array<number>(Math.max(0, rank - 2)).fill(1)]);
  return [em.mul(g, f), undefined, undefined, undefined, undefined];
};

export const structuralVjps: Record<string, Vjp> = {
  Reshape: reshapeBack,
  Flatten: reshapeBack,
  Squeeze: reshapeBack,
  Unsqueeze: reshapeBack,
  Transpose: transpose,
  Concat: concat,
  Split: split,
  Slice: slice,
  Gather: gather,
  Pad: pad,
  Expand: expand,
  ReduceSum: reduceSumMean,
  ReduceMean: reduceSumMean,
  BatchNormalization: batchNorm,
};
