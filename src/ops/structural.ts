import { attrInt, attrInts, attrString, getAttr } from '../onnx/attributes.js';
import { constInts, constNumbers, int64Tensor } from '../onnx/tensor.js';
import { broadcastShapes, normAxis, rankOf, type Dim } from '../ir/shapes.js';
import { reshapeLike, shapeOf, unbroadcast, unsupported, type Vjp, type VjpContext } from './context.js';
import { allInputs, dataInput, dynamicInputs, passValue, sameAsInput, type NonNegRule, type OpSpec, type ShapeRule, type UnitRule, type ValueRule } from './op.js';
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

/** Constant-mode Pad: its transpose crops the padding away again; reflect/edge/wrap scatter back (see below). */
const pad: Vjp = (ctx, node, [g]) => {
  const { em, g: graph } = ctx;
  if (!g) return node.input.map(() => undefined);
  const mode = attrString(node, 'mode', 'constant');
  if (mode === 'reflect' || mode === 'edge' || mode === 'wrap') {
    // Every output element is a copy of one input element: the same Pad applied to a tensor of flat indices says
    // which, and the cotangent is scatter-added back (a reflected element receives from each of its copies).
    const x = node.input[0]!;
    const idx = em.op('Pad', [flatIndexTensor(ctx, x), ...node.input.slice(1, 2), '', ...node.input.slice(3)].filter((v, k) => k < 3 || v), { mode: { string: mode } });
    return [scatterAddInto(ctx, x, idx, g, true), undefined, undefined, undefined];
  }
  if (mode !== 'constant') unsupported(node, `Pad mode '${mode}' is not differentiated`, "modes 'constant', 'reflect', 'edge' and 'wrap' are");
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

// --- the structural family (reshuffles, slices, reductions) in the op registry -------------------------------------

const flattenShape: ShapeRule = ({ inp }, n) => {
  const { elemType: t, shape: s } = inp(0);
  if (!s) return [{ elemType: t }];
  const axis = normAxis(attrInt(n, 'axis', 1), s.length);
  const prod = (ds: Dim[]): Dim => (ds.every((d) => typeof d === 'number') ? (ds as number[]).reduce((a, b) => a * b, 1) : null);
  return [{ elemType: t, shape: [prod(s.slice(0, axis)), prod(s.slice(axis))] }];
};

const reshapeShape: ShapeRule = ({ inp, dims }, n) => {
  const { elemType: t, shape: s } = inp(0);
  const target = dims(1);
  if (!target) {
    // The target's length is the output rank even when its values are unknown.
    const len = inp(1).shape;
    return [{ elemType: t, shape: len && len.length === 1 && typeof len[0] === 'number' ? new Array<Dim>(rankOf(n, len[0])).fill(null) : undefined }];
  }
  const allowZero = attrInt(n, 'allowzero', 0) === 1;
  const out: Dim[] = target.map((d, i) => (d === 0 && !allowZero ? (s?.[i] ?? null) : d === -1 ? null : d));
  const minus = target.indexOf(-1);
  if (minus >= 0 && s && !s.every((d) => typeof d === 'number')) {
    // Symbolic dims that reappear in the target cancel out ('batch' stays 'batch'), leaving a numeric quotient.
    const rest = out.filter((_, i) => i !== minus);
    const syms = s.filter((d) => typeof d !== 'number');
    const restSyms = rest.filter((d) => typeof d !== 'number');
    const same = syms.every((d) => typeof d === 'string') && syms.length === restSyms.length && syms.every((d) => restSyms.includes(d));
    if (same) {
      const num = (ds: Dim[]) => ds.reduce<number>((a, d) => a * (typeof d === 'number' ? d : 1), 1);
      const q = num(s) / num(rest);
      out[minus] = Number.isInteger(q) && q > 0 ? q : null;
    }
  } else if (minus >= 0 && s && s.every((d) => typeof d === 'number')) {
    const total = (s as number[]).reduce((a, b) => a * b, 1);
    const known = out.reduce<number>((a, d, i) => (i === minus ? a : a * (typeof d === 'number' ? d : NaN)), 1);
    out[minus] = Number.isFinite(known) && known > 0 ? total / known : null;
  } else if (minus >= 0 && s && typeof s[0] === 'string' && target.length >= 1 && minus === 0) {
    out[0] = s[0];
  }
  return [{ elemType: t, shape: out }];
};

const transposeShape: ShapeRule = ({ inp }, n) => {
  const { elemType: t, shape: s } = inp(0);
  if (!s) return [{ elemType: t }];
  const perm = attrInts(n, 'perm') ?? s.map((_, i) => s.length - 1 - i);
  return [{ elemType: t, shape: perm.map((p) => s[p]!) }];
};

const squeezeShape: ShapeRule = ({ inp, cnum }, n) => {
  const { elemType: t, shape: s } = inp(0);
  if (!s) return [{ elemType: t }];
  const axes = (attrInts(n, 'axes') ?? cnum(1))?.map((a) => normAxis(a, s.length));
  return [{ elemType: t, shape: axes ? s.filter((_, i) => !axes.includes(i)) : s.filter((d) => d !== 1) }];
};

const unsqueezeShape: ShapeRule = ({ inp, cnum }, n) => {
  const { elemType: t, shape: s } = inp(0);
  const axes = attrInts(n, 'axes') ?? cnum(1);
  if (!s || !axes) return [{ elemType: t }];
  const rank = s.length + axes.length;
  const norm = axes.map((a) => normAxis(a, rank));
  const out: Dim[] = [];
  let j = 0;
  for (let i = 0; i < rank; i++) out.push(norm.includes(i) ? 1 : s[j++]!);
  return [{ elemType: t, shape: out }];
};

const concatShape: ShapeRule = ({ inp }, n) => {
  const t = inp(0).elemType;
  const shapes = n.input.map((_, k) => inp(k).shape);
  const known = shapes.find((x2) => x2);
  if (shapes.some((x2) => !x2)) return [{ elemType: t, shape: known ? known.map(() => null) : undefined }];
  const axis = normAxis(attrInt(n, 'axis', 0), shapes[0]!.length);
  const out = [...shapes[0]!];
  out[axis] = shapes.reduce<Dim>((a, sh) => (typeof a === 'number' && typeof sh![axis] === 'number' ? a + (sh![axis] as number) : null), 0);
  return [{ elemType: t, shape: out }];
};

const splitShape: ShapeRule = ({ inp, cnum }, n) => {
  const { elemType: t, shape: s } = inp(0);
  if (!s) return n.output.map(() => ({ elemType: t }));
  const axis = normAxis(attrInt(n, 'axis', 0), s.length);
  const sizes = attrInts(n, 'split') ?? cnum(1);
  return n.output.map((_, k) => {
    const out = [...s];
    const d = s[axis];
    out[axis] = sizes ? sizes[k]! : typeof d === 'number' ? d / n.output.length : null;
    return { elemType: t, shape: out };
  });
};

const sliceShape: ShapeRule = ({ inp, cnum }) => {
  const { elemType: t, shape: s } = inp(0);
  if (!s) return [{ elemType: t }];
  const starts = cnum(1);
  const ends = cnum(2);
  const axes = cnum(3) ?? starts?.map((_, i) => i);
  const steps = cnum(4) ?? starts?.map(() => 1);
  if (!starts || !ends || !axes || !steps) return [{ elemType: t, shape: s.map(() => null) }];
  const out = [...s];
  axes.forEach((a0, i) => {
    const a = normAxis(a0, s.length);
    const d = s[a];
    if (typeof d !== 'number') {
      out[a] = null;
      return;
    }
    const step = steps[i]!;
    const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
    let st = starts[i]! < 0 ? starts[i]! + d : starts[i]!;
    let en = ends[i]! < 0 ? ends[i]! + d : ends[i]!;
    if (step > 0) {
      st = clamp(st, 0, d);
      en = clamp(en, 0, d);
      out[a] = Math.max(0, Math.ceil((en - st) / step));
    } else {
      st = clamp(st, -1, d - 1);
      en = clamp(en, -1, d - 1);
      out[a] = Math.max(0, Math.ceil((st - en) / -step));
    }
  });
  return [{ elemType: t, shape: out }];
};

const padShape: ShapeRule = ({ inp, cnum }, n) => {
  const { elemType: t, shape: s } = inp(0);
  const pads = attrInts(n, 'pads') ?? cnum(1);
  if (!s || !pads) return [{ elemType: t, shape: s?.map(() => null) }];
  const axes = cnum(3)?.map((a) => normAxis(a, s.length)) ?? s.map((_, i) => i);
  const out = [...s];
  axes.forEach((a, i) => {
    const d = s[a];
    out[a] = typeof d === 'number' ? d + pads[i]! + pads[i + axes.length]! : null;
  });
  return [{ elemType: t, shape: out }];
};

const gatherShape: ShapeRule = ({ inp }, n) => {
  const { elemType: t, shape: s } = inp(0);
  const idx = inp(1).shape;
  if (!s || !idx) return [{ elemType: t }];
  const axis = normAxis(attrInt(n, 'axis', 0), s.length);
  return [{ elemType: t, shape: [...s.slice(0, axis), ...idx, ...s.slice(axis + 1)] }];
};

const expandShape: ShapeRule = ({ inp, dims }, n) => {
  const { elemType: t, shape: s } = inp(0);
  const shp = dims(1);
  if (!shp) {
    // Unknown target values but a known target length: the rank is still known.
    const len = inp(1).shape;
    if (s && len && len.length === 1 && typeof len[0] === 'number') return [{ elemType: t, shape: new Array<Dim>(rankOf(n, Math.max(s.length, len[0]))).fill(null) }];
  }
  return [{ elemType: t, shape: shp ? broadcastShapes([s, shp]) : undefined }];
};

/** Reductions over axes (kept as 1 with keepdims); ArgMax/ArgMin reduce one axis to int64 indices. */
const reduceShape: ShapeRule = ({ inp, cnum }, n) => {
  const op = n.opType;
  const { elemType: t, shape: s } = inp(0);
  const et = op.startsWith('Arg') ? 7 : t;
  if (!s) return [{ elemType: et }];
  const keep = attrInt(n, 'keepdims', 1) === 1;
  const axesList = op.startsWith('Arg') ? [attrInt(n, 'axis', 0)] : attrInts(n, 'axes') ?? cnum(1);
  const axes = (axesList ?? s.map((_, i) => i)).map((a) => normAxis(a, s.length));
  const out: Dim[] = [];
  s.forEach((d, i) => {
    if (axes.includes(i)) {
      if (keep) out.push(1);
    } else out.push(d);
  });
  return [{ elemType: et, shape: out }];
};

const gatherValue: ValueRule = ({ val }, n) => {
  const x = val(n.input[0]);
  const idx = val(n.input[1]);
  if (!x || !idx || attrInt(n, 'axis', 0) !== 0) return undefined;
  return idx.map((i) => (typeof i === 'number' ? (x[i < 0 ? i + x.length : i] ?? null) : null));
};

const concatValue: ValueRule = ({ val }, n) => {
  const parts = n.input.map((i) => val(i));
  if (parts.some((p) => !p)) return undefined;
  return parts.flat() as Dim[];
};

const sliceValue: ValueRule = ({ val }, n) => {
  const x = val(n.input[0]);
  const st = val(n.input[1]);
  const en = val(n.input[2]);
  if (!x || !st || !en || typeof st[0] !== 'number' || typeof en[0] !== 'number') return undefined;
  const clamp = (v: number) => Math.max(0, Math.min(x.length, v < 0 ? v + x.length : v));
  return x.slice(clamp(st[0]), clamp(en[0]));
};

/** Pad keeps the sign when the data and the (constant) pad value are non-negative. */
const padNonNeg: NonNegRule = ({ g, check }, p) => {
  const v = p.input[2] ? g.constant(p.input[2]) : undefined;
  return check(p.input[0]!) && (!p.input[2] || (v !== undefined && constNumbers(v).every((x) => x >= 0)));
};

/** ReduceSum/ReduceMean of one non-constant tensor sums (or averages) over axes, like pooling: a 'reduce' unit. */
const reduceUnit: UnitRule = (g, n) => ({ kind: !g.isConstant(n.input[0]!) && dynamicInputs(g, n).length === 1 ? 'reduce' : 'other' });

const reshuffle = (vjp: Vjp | undefined, shape: ShapeRule | undefined, extra: Partial<OpSpec> = {}): OpSpec => ({ kind: 'shape-only', vjp, shape, ...extra });

export const structuralOps: Record<string, OpSpec> = {
  Reshape: reshuffle(reshapeBack, reshapeShape, { value: passValue, nonNegative: dataInput }),
  Flatten: reshuffle(reshapeBack, flattenShape, { value: passValue, nonNegative: allInputs }),
  Squeeze: reshuffle(reshapeBack, squeezeShape, { value: passValue, nonNegative: dataInput }),
  Unsqueeze: reshuffle(reshapeBack, unsqueezeShape, { value: passValue, nonNegative: dataInput }),
  Transpose: reshuffle(transpose, transposeShape, { nonNegative: allInputs }),
  Concat: reshuffle(concat, concatShape, { value: concatValue, nonNegative: allInputs }),
  Split: reshuffle(split, splitShape, { nonNegative: dataInput }),
  Slice: reshuffle(slice, sliceShape, { value: sliceValue, nonNegative: dataInput }),
  Gather: reshuffle(gather, gatherShape, { value: gatherValue, nonNegative: dataInput }),
  Pad: reshuffle(pad, padShape, { nonNegative: padNonNeg }),
  Expand: reshuffle(expand, expandShape, { nonNegative: dataInput }),
  Tile: reshuffle(undefined, undefined, { nonNegative: dataInput }),
  DepthToSpace: reshuffle(undefined, undefined, { nonNegative: allInputs }),
  SpaceToDepth: reshuffle(undefined, undefined, { nonNegative: allInputs }),
  ReduceSum: { kind: 'reduction', vjp: reduceSumMean, shape: reduceShape, nonNegative: dataInput, unit: reduceUnit },
  ReduceMean: { kind: 'reduction', vjp: reduceSumMean, shape: reduceShape, nonNegative: dataInput, unit: reduceUnit },
  ReduceMax: { kind: 'reduction', shape: reduceShape, nonNegative: dataInput },
  ReduceMin: { kind: 'reduction', shape: reduceShape, nonNegative: dataInput },
  ReduceProd: { kind: 'reduction', shape: reduceShape },
  ReduceL2: { kind: 'reduction', shape: reduceShape },
  CumSum: { kind: 'reduction', shape: sameAsInput },
  ArgMax: { kind: 'source', differentiable: false, shape: reduceShape },
  ArgMin: { kind: 'source', differentiable: false, shape: reduceShape },
  TopK: { kind: 'source', differentiable: false },
};
