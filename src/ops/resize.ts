import type { NodeProto } from 'onnx-buf';
import { attrFloat, attrInt, attrInts, attrString } from '../onnx/attributes.js';
import { constNumbers, floatTensor, int64Tensor } from '../onnx/tensor.js';
import type { Emitter } from '../ir/emitter.js';
import { shapeOf, unsupported, type Vjp, type VjpContext } from './context.js';
import { dataInput, type OpSpec } from './op.js';

/**
 * Resize (and Upsample, which opset upgrading turns into Resize) is linear in x for given sizes, and separable: along
 * each resized axis d, y = A_d x with an out_d × in_d interpolation matrix whose rows hold the taps of one output
 * position (1 for nearest, 2 for linear, 4 for cubic). The cotangent is x̄ = A_dᵀ ȳ, axis by axis.
 *
 * A_d is built in the graph at run time from the sizes (models such as text detectors take any image size):
 * output positions o = 0 … out_d − 1 are mapped to input coordinates by the node's coordinate transformation, taps and
 * weights follow from the mode, and A_d = Σ_taps weight · OneHot(index). Indices outside the input are clamped to the
 * edge, as ONNX Runtime does; `exclude_outside` drops those taps and renormalises; `tf_crop_and_resize` gives outputs
 * outside the region no taps (they hold the constant extrapolation value).
 */
export interface ResizeSpec {
  mode: 'nearest' | 'linear' | 'cubic';
  coord: string;
  nearestMode: string;
  cubicA: number;
  excludeOutside: boolean;
}

const COORD_MODES = new Set(['half_pixel', 'half_pixel_symmetric', 'pytorch_half_pixel', 'align_corners', 'asymmetric', 'tf_crop_and_resize']);
const NEAREST_MODES = new Set(['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil']);

export function resizeSpec(node: NodeProto): ResizeSpec {
  const mode = attrString(node, 'mode', 'nearest');
  if (mode !== 'nearest' && mode !== 'linear' && mode !== 'cubic') unsupported(node, `Resize mode '${mode}' is not supported`, 'modes: nearest, linear, cubic');
  const coord = attrString(node, 'coordinate_transformation_mode', 'half_pixel');
  if (!COORD_MODES.has(coord)) unsupported(node, `coordinate_transformation_mode '${coord}' is not supported`, [...COORD_MODES].join(', '));
  const nearestMode = attrString(node, 'nearest_mode', 'round_prefer_floor');
  if (!NEAREST_MODES.has(nearestMode)) unsupported(node, `nearest_mode '${nearestMode}' is not supported`, [...NEAREST_MODES].join(', '));
  if (attrInt(node, 'antialias', 0) !== 0 && mode !== 'nearest') unsupported(node, 'Resize with antialias=1 (a widened kernel when downsampling) has no backward pass yet', 'export with antialias=False');
  const policy = attrString(node, 'keep_aspect_ratio_policy', 'stretch');
  if (policy !== 'stretch' && node.input[3]) unsupported(node, `keep_aspect_ratio_policy '${policy}' is not supported`, "export with sizes for every axis (policy 'stretch')");
  return { mode, coord, nearestMode, cubicA: attrFloat(node, 'cubic_coeff_a', -0.75), excludeOutside: attrInt(node, 'exclude_outside', 0) === 1 };
}

interface Axis {
  /** Axis of x. */
  d: number;
  /** Position of d in the scales/sizes/roi tensors. */
  k: number;
  /** Number of entries in scales/sizes (for roi's end half). */
  n: number;
}

/** The axes Resize may change, and which of them certainly stay as they are (scale exactly 1 and no crop). */
function resizedAxes(ctx: VjpContext, node: NodeProto, spec: ResizeSpec): { rank: number; axes: Axis[] } {
  const { g } = ctx;
  const x = node.input[0]!;
  const scales = node.input[2] ? g.constant(node.input[2]) : undefined;
  const sizes = node.input[3] ? g.constant(node.input[3]) : undefined;
  const scaleValues = scales && scales.data.length ? constNumbers(scales) : undefined;
  const sizeValues = sizes && sizes.data.length ? constNumbers(sizes) : undefined;
  const rank = shapeOf(ctx, x)?.length ?? scaleValues?.length ?? sizeValues?.length;
  const axesAttr = attrInts(node, 'axes');
  if (rank === undefined) unsupported(node, 'the rank of the resized tensor is unknown', 'give the model input a fixed rank');
  const axes = (axesAttr ?? Array.from({ length: rank }, (_, i) => i)).map((a) => (a < 0 ? a + rank : a));
  const inShape = shapeOf(ctx, x);
  const out: Axis[] = [];
  axes.forEach((d, k) => {
    if (spec.coord !== 'tf_crop_and_resize') {
      if (scaleValues && scaleValues[k] === 1) return;
      if (sizeValues && typeof inShape?.[d] === 'number' && inShape[d] === sizeValues[k]) return;
    }
    out.push({ d, k, n: axes.length });
  });
  return { rank, axes: out };
}

/** A 0-D / [1] float of one dim of a shape tensor. */
function dimOf(em: Emitter, shape: string, d: number): string {
  return em.op('Cast', [em.op('Gather', [shape, em.ints([d])], { axis: { int: 0 } })], { to: { int: 1 } }, 'resize_dim');
}

/**
 * Input coordinates of output positions o ([out] float), per ONNX's coordinate transformations. `scale` is the node's
 * scale for the axis (out/in when only sizes are given), inF/outF the sizes as floats ([1]).
 */
function inputCoordinates(em: Emitter, node: NodeProto, spec: ResizeSpec, o: string, scale: string, inF: string, outF: string, axis: Axis): string {
  const half = em.scalar(0.5);
  const one = em.scalar(1);
  const halfPixel = () => em.sub(em.div(em.add(o, half), scale), half);
  switch (spec.coord) {
    case 'asymmetric':
      return em.div(o, scale);
    case 'half_pixel':
      return halfPixel();
    case 'pytorch_half_pixel':
      return em.op('Where', [em.op('Greater', [outF, one]), halfPixel(), em.mul(o, em.scalar(0))]);
    case 'align_corners': {
      const ratio = em.div(em.sub(inF, one), em.op('Max', [em.sub(outF, one), one]));
      return em.op('Where', [em.op('Greater', [outF, one]), em.mul(o, ratio), em.mul(o, em.scalar(0))]);
    }
    case 'half_pixel_symmetric': {
      // adjustment = out / (scale·in); offset = in/2 · (1 − adjustment)
      const adjustment = em.div(outF, em.mul(scale, inF));
      const offset = em.mul(em.mul(inF, half), em.sub(one, adjustment));
      return em.add(offset, halfPixel());
    }
    default: {
      // tf_crop_and_resize: x = start·(in−1) + o·(end − start)·(in−1)/(out−1); out = 1: (start + end)/2·(in−1)
      const roi = node.input[1];
      if (!roi) unsupported(node, 'tf_crop_and_resize without roi', 'give the roi input');
      const start = em.op('Cast', [em.op('Gather', [roi, em.ints([axis.k])], { axis: { int: 0 } })], { to: { int: 1 } });
      const end = em.op('Cast', [em.op('Gather', [roi, em.ints([axis.k + axis.n])], { axis: { int: 0 } })], { to: { int: 1 } });
      const inM1 = em.sub(inF, one);
      const many = em.add(em.mul(start, inM1), em.div(em.mul(em.mul(o, em.sub(end, start)), inM1), em.op('Max', [em.sub(outF, one), one])));
      const single = em.mul(em.mul(em.add(start, end), half), inM1);
      return em.op('Where', [em.op('Greater', [outF, one]), many, em.add(single, em.mul(o, em.scalar(0)))]);
    }
  }
}

/** Taps (float index, weight), each [out], of one axis. */
function taps(em: Emitter, spec: ResizeSpec, xo: string): { index: string; weight: string }[] {
  if (spec.mode === 'nearest') {
    const half = em.scalar(0.5);
    const index =
      spec.nearestMode === 'floor' ? em.op('Floor', [xo])
      : spec.nearestMode === 'ceil' ? em.op('Ceil', [xo])
      : spec.nearestMode === 'round_prefer_ceil' ? em.op('Floor', [em.add(xo, half)])
      : em.op('Ceil', [em.sub(xo, half)]);
    return [{ index, weight: em.op('Expand', [em.scalar(1), em.op('Shape', [xo])]) }];
  }
  const x0 = em.op('Floor', [xo]);
  const r = em.sub(xo, x0);
  const one = em.scalar(1);
  if (spec.mode === 'linear') return [{ index: x0, weight: em.sub(one, r) }, { index: em.add(x0, one), weight: r }];
  // Keys' cubic convolution with coefficient A, for the distances 1 + r, r, 1 − r, 2 − r.
  const A = spec.cubicA;
  const far = (t: string) => em.sub(em.mul(em.add(em.mul(em.sub(em.mul(em.scalar(A), t), em.scalar(5 * A)), t), em.scalar(8 * A)), t), em.scalar(4 * A));
  const near = (t: string) => em.add(em.mul(em.mul(em.sub(em.mul(em.scalar(A + 2), t), em.scalar(A + 3)), t), t), one);
  const rm = em.sub(one, r);
  return [
    { index: em.sub(x0, one), weight: far(em.add(r, one)) },
    { index: x0, weight: near(r) },
    { index: em.add(x0, one), weight: near(rm) },
    { index: em.add(x0, em.scalar(2)), weight: far(em.add(rm, one)) },
  ];
}

/** A_d, [out, in]: the interpolation matrix of one axis. */
function interpolationMatrix(ctx: VjpContext, node: NodeProto, spec: ResizeSpec, axis: Axis, g: string): string {
  const { em } = ctx;
  const x = node.input[0]!;
  const inD = em.op('Gather', [em.shapeOf(x), em.ints([axis.d])], { axis: { int: 0 } }, 'resize_in');
  const outD = em.op('Shape', [g], { start: { int: axis.d }, end: { int: axis.d + 1 } }, 'resize_out');
  const inF = dimOf(em, em.shapeOf(x), axis.d);
  const outF = em.op('Cast', [outD], { to: { int: 1 } });
  const scalesInput = node.input[2] && !(ctx.g.constant(node.input[2])?.data.length === 0) ? node.input[2] : undefined;
  const scale = scalesInput ? em.op('Cast', [em.op('Gather', [scalesInput, em.ints([axis.k])], { axis: { int: 0 } })], { to: { int: 1 } }) : em.div(outF, inF);
  // o = 0 … out−1 as float: a running sum of ones (Range would need 0-D sizes).
  const ones = em.op('ConstantOfShape', [outD], { value: { tensor: floatTensor('one', Float32Array.of(1), [1]) } });
  const axis0 = em.derived('int64 scalar 0', () => ctx.g.addInitializer(int64Tensor(ctx.g.fresh(`${em.prefix}/i0_scalar`), [0], [])));
  const o = em.sub(em.op('CumSum', [ones, axis0]), em.scalar(1));
  const xo = inputCoordinates(em, node, spec, o, scale, inF, outF, axis);
  const zero = em.scalar(0);
  const last = em.sub(inF, em.scalar(1));
  let list = taps(em, spec, xo);
  if (spec.mode === 'cubic' && spec.excludeOutside) {
    // Taps outside [0, in−1] get weight 0 and the rest is renormalised to sum 1.
    list = list.map((t) => ({ index: t.index, weight: em.mul(t.weight, em.op('Cast', [em.op('And', [em.op('GreaterOrEqual', [t.index, zero]), em.op('LessOrEqual', [t.index, last])])], { to: { int: 1 } })) }));
    const total = em.sum(list.map((t) => t.weight));
    list = list.map((t) => ({ index: t.index, weight: em.div(t.weight, total) }));
  }
  if (spec.coord === 'tf_crop_and_resize') {
    // Outputs whose coordinate falls outside the input take the extrapolation value: no taps.
    const inside = em.op('Cast', [em.op('And', [em.op('GreaterOrEqual', [xo, zero]), em.op('LessOrEqual', [xo, last])])], { to: { int: 1 } });
    list = list.map((t) => ({ index: t.index, weight: em.mul(t.weight, inside) }));
  }
  const onehotValues = em.floats('resize_onehot', Float32Array.of(0, 1), [2]);
  const parts = list.map((t) => {
    const index = em.op('Cast', [em.op('Min', [em.op('Max', [t.index, zero]), last])], { to: { int: 7 } });
    const hot = em.op('OneHot', [index, inD, onehotValues], { axis: { int: -1 } });
    return em.mul(hot, em.op('Unsqueeze', [t.weight, em.ints([1])]));
  });
  return em.sum(parts);
}

/** x̄ = A_dᵀ ȳ along each resized axis: the axis moved last, a MatMul with A_d, moved back. */
export function resizeTranspose(ctx: VjpContext, node: NodeProto, g: string): string {
  const { em } = ctx;
  const spec = resizeSpec(node);
  const { rank, axes } = resizedAxes(ctx, node, spec);
  let cur = g;
  for (const axis of axes) {
    const A = interpolationMatrix(ctx, node, spec, axis, cur);
    const last = rank - 1;
    if (axis.d === last) {
      cur = em.op('MatMul', [cur, A], {}, 'resize_back');
    } else {
      const perm = Array.from({ length: rank }, (_, i) => i);
      perm[axis.d] = last;
      perm[last] = axis.d;
      const moved = em.op('Transpose', [cur], { perm: { ints: perm } });
      cur = em.op('Transpose', [em.op('MatMul', [moved, A], {}, 'resize_back')], { perm: { ints: perm } });
    }
  }
  return cur;
}

const resize: Vjp = (ctx, node, [g], needs) => {
  // roi, scales and sizes are sizes, not signal: nothing flows into them.
  if (!g || !needs[0]) return node.input.map(() => undefined);
  return [resizeTranspose(ctx, node, g), ...node.input.slice(1).map(() => undefined)];
};

// --- Resize in the op registry ---------------------------------------------------------------------------------------

export const resizeOps: Record<string, OpSpec> = {
  // Interpolation of a constant (a positional table) is not a layer; of a signal, a 'resize' unit.
  Resize: { kind: 'linear', vjp: resize, nonNegative: dataInput, unit: (g, n) => ({ kind: g.isConstant(n.input[0]!) ? 'other' : 'resize' }) },
  // Opset upgrading turns Upsample into Resize; the sign analysis may still see it in an old graph.
  Upsample: { kind: 'linear', nonNegative: dataInput },
};
