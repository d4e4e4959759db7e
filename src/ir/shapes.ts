import type { NodeProto } from 'onnx-buf';
import { attrInt, attrInts, getAttr } from '../onnx/attributes.js';
import { constInts, constNumbers, decodeTensor } from '../onnx/tensor.js';
import { LimitExceededError } from '../errors.js';
import { MODEL_LIMITS } from '../onnx/limits.js';
import type { Graph } from './graph.js';

/** A dimension: a number when known, a symbol (e.g. 'batch') when symbolic, null when unknown. */
export type Dim = number | string | null;
export interface ValueInfo {
  /** ONNX TensorProto.DataType; 1 = float, 7 = int64, 9 = bool. 0 when unknown. */
  elemType: number;
  /** undefined when even the rank is unknown. */
  shape?: Dim[];
}

/**
 * Static shape and type inference for the operators xsys handles. It is deliberately partial: what it cannot prove
 * is left unknown, and the compiler then emits shape-agnostic (dynamic) backward ops instead.
 */
export function inferShapes(g: Graph): Map<string, ValueInfo> {
  const info = new Map<string, ValueInfo>();
  for (const i of g.proto.input) info.set(i.name, fromValueInfo(i.type));
  for (const t of g.proto.initializer) info.set(t.name, { elemType: t.dataType, shape: validDims(t.dims.map(Number)) });
  for (const v of g.proto.valueInfo) if (!info.has(v.name)) info.set(v.name, fromValueInfo(v.type));
  const values = new Map<string, Dim[]>();
  for (const n of g.nodes) {
    let out: ValueInfo[];
    try {
      out = inferNode(g, n, info, values);
      propagateValue(g, n, info, values);
    } catch (e) {
      // Inference is partial by design (what it cannot prove stays unknown), but a size over the limits is refused.
      if (e instanceof LimitExceededError) throw e;
      out = [];
    }
    out = out.map((o) => ({ ...o, shape: validDims(o.shape) }));
    for (const o of out) checkInferred(n, o.shape);
    n.output.forEach((o, k) => {
      if (!o) return;
      const inferred = out[k] ?? { elemType: 0 };
      const declared = info.get(o);
      // Exporters' value_info can be more precise than what we infer (or vice versa): keep the more informative.
      if (!declared || (inferred.shape && (!declared.shape || declared.shape.some((d) => d === null)))) {
        info.set(o, { elemType: inferred.elemType || declared?.elemType || 0, shape: inferred.shape ?? declared?.shape });
      }
    });
  }
  for (const o of g.proto.output) {
    const declared = fromValueInfo(o.type);
    const have = info.get(o.name);
    if (have && !have.shape && declared.shape) info.set(o.name, { elemType: have.elemType, shape: declared.shape });
  }
  return info;
}

/**
 * A dimension is a non-negative integer. An inferred or declared one that is not (a Split of 7 into 2, a Reshape
 * whose sizes do not divide, a negative declared dim) comes from an invalid model or from a case inference does
 * not model; it becomes unknown, so no array is sized and no int64 attribute is written from it.
 */
function validDims(shape: Dim[] | undefined): Dim[] | undefined {
  return shape?.map((d) => (typeof d === 'number' && !(Number.isSafeInteger(d) && d >= 0) ? null : d));
}

function fromValueInfo(type: { value: { case?: string; value?: unknown } } | undefined): ValueInfo {
  if (type?.value.case !== 'tensorType') return { elemType: 0 };
  const tt = type.value.value as { elemType: number; shape?: { dim: { value: { case?: string; value?: unknown } }[] } };
  const shape = tt.shape?.dim.map((d): Dim => {
    if (d.value.case === 'dimValue') return Number(d.value.value as bigint);
    if (d.value.case === 'dimParam') return d.value.value as string;
    return null;
  });
  return { elemType: tt.elemType, shape: validDims(shape) };
}

const SAME_AS_INPUT = new Set([
  'Relu', 'LeakyRelu', 'Sigmoid', 'Tanh', 'HardSigmoid', 'HardSwish', 'Elu', 'Selu', 'Celu', 'Softplus', 'Softsign',
  'Clip', 'Erf', 'Exp', 'Log', 'Neg', 'Abs', 'Sqrt', 'Reciprocal', 'Identity', 'Dropout', 'Softmax', 'LogSoftmax',
  'BatchNormalization', 'InstanceNormalization', 'LayerNormalization', 'Gelu', 'Mish', 'Floor', 'Ceil', 'Round',
  'Sign', 'Not', 'PRelu', 'LRN', 'Sin', 'Cos', 'ThresholdedRelu', 'CumSum', 'Trilu', 'IsNaN', 'IsInf',
]);
const BROADCAST = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Sum', 'Mean', 'Where', 'And', 'Or', 'Equal', 'Greater', 'Less', 'GreaterOrEqual', 'LessOrEqual', 'Mod']);
const BOOL_OUT = new Set(['Equal', 'Greater', 'Less', 'GreaterOrEqual', 'LessOrEqual', 'And', 'Or', 'Not', 'IsNaN', 'IsInf']);

export function broadcastShapes(shapes: (Dim[] | undefined)[]): Dim[] | undefined {
  if (shapes.some((s) => !s)) return undefined;
  const rank = Math.max(...shapes.map((s) => s!.length));
  const out: Dim[] = [];
  for (let k = 0; k < rank; k++) {
    let d: Dim = 1;
    for (const s of shapes) {
      const sd = s![s!.length - rank + k];
      if (sd === undefined || sd === 1) continue;
      if (d === 1) d = sd;
      else if (d !== sd) d = typeof d === 'number' && typeof sd === 'number' ? Math.max(d, sd) : typeof d === 'number' ? d : sd;
    }
    out.push(d);
  }
  return out;
}

function spatialOut(n: NodeProto, inDims: Dim[], kernel: number[], isConvTranspose = false): Dim[] {
  const k = kernel.length;
  const strides = attrInts(n, 'strides') ?? new Array<number>(k).fill(1);
  const dil = attrInts(n, 'dilations') ?? new Array<number>(k).fill(1);
  const pads = attrInts(n, 'pads') ?? new Array<number>(2 * k).fill(0);
  const autoPad = getAttr(n, 'auto_pad') ? new TextDecoder().decode(getAttr(n, 'auto_pad')!.s) : 'NOTSET';
  const ceil = attrInt(n, 'ceil_mode', 0) === 1;
  const outPad = attrInts(n, 'output_padding') ?? new Array<number>(k).fill(0);
  return inDims.map((d, i) => {
    if (typeof d !== 'number') return null;
    const s = strides[i]!;
    const eff = (kernel[i]! - 1) * dil[i]! + 1;
    if (isConvTranspose) {
      if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') return d * s;
      return s * (d - 1) + outPad[i]! + eff - pads[i]! - pads[i + k]!;
    }
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') return Math.ceil(d / s);
    if (autoPad === 'VALID') return Math.floor((d - eff) / s) + 1;
    const num = d + pads[i]! + pads[i + k]! - eff;
    let o = (ceil ? Math.ceil(num / s) : Math.floor(num / s)) + 1;
    // PyTorch/ONNX: with ceil_mode the last window must start inside the (left-padded) input.
    if (ceil && (o - 1) * s >= d + pads[i]!) o -= 1;
    return o;
  });
}

function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

/**
 * Values of small integer tensors that describe shapes (Shape → Gather → Unsqueeze → Concat …), with symbolic dims
 * kept as symbols, so a Reshape to a run-time computed shape still gets a known rank and most of its dims — what
 * PyTorch exports of attention heads look like.
 */
function propagateValue(g: Graph, n: NodeProto, info: Map<string, ValueInfo>, values: Map<string, Dim[]>): void {
  const val = (t: string | undefined): Dim[] | undefined => {
    if (!t) return undefined;
    const v = values.get(t);
    if (v) return v;
    const c = g.constant(t);
    return c && c.dims.length <= 1 && c.data.length <= 16 ? constInts(c) : undefined;
  };
  const out = n.output[0];
  if (!out) return;
  const x = val(n.input[0]);
  let r: Dim[] | undefined;
  switch (n.opType) {
    case 'Shape': {
      const s = info.get(n.input[0]!)?.shape;
      if (!s) return;
      const start = normAxis(attrInt(n, 'start', 0), s.length);
      const end = getAttr(n, 'end') ? normAxis(attrInt(n, 'end', s.length), s.length) : s.length;
      r = s.slice(start, end);
      break;
    }
    case 'Gather': {
      const idx = val(n.input[1]);
      if (!x || !idx || attrInt(n, 'axis', 0) !== 0) return;
      r = idx.map((i) => (typeof i === 'number' ? (x[i < 0 ? i + x.length : i] ?? null) : null));
      break;
    }
    case 'Unsqueeze':
    case 'Squeeze':
    case 'Cast':
    case 'Identity':
    case 'Reshape':
    case 'Flatten':
      // Shape vectors only: reshaping a 1-D value (or a scalar) keeps its values in order.
      if (x && (info.get(out)?.shape?.length ?? 1) <= 1) r = x;
      break;
    case 'ConstantOfShape': {
      const shp = val(n.input[0]);
      const v = getAttr(n, 'value')?.t;
      if (!shp || shp.length !== 1 || typeof shp[0] !== 'number' || shp[0] < 0 || shp[0] > MODEL_LIMITS.maxShapeValues) return;
      const fill = v ? constNumbers({ dataType: v.dataType, dims: [], data: decodeValue(v) })[0] ?? 0 : 0;
      r = new Array<Dim>(shp[0]).fill(fill);
      break;
    }
    case 'Equal': {
      const y = val(n.input[1]);
      if (!x || !y) return;
      const len = Math.max(x.length, y.length);
      r = Array.from({ length: len }, (_, i) => {
        const a = x[x.length === 1 ? 0 : i] ?? null;
        const b = y[y.length === 1 ? 0 : i] ?? null;
        if (typeof a === 'number' && typeof b === 'number') return a === b ? 1 : 0;
        // A symbolic dim is a size ≥ 1: never equal to a non-positive constant.
        if (typeof a === 'string' && typeof b === 'number' && b <= 0) return 0;
        if (typeof b === 'string' && typeof a === 'number' && a <= 0) return 0;
        return a !== null && a === b ? 1 : null;
      });
      break;
    }
    case 'Where': {
      const c = val(n.input[0]);
      const a = val(n.input[1]);
      const b = val(n.input[2]);
      if (!c || !a || !b) return;
      const len = Math.max(c.length, a.length, b.length);
      r = Array.from({ length: len }, (_, i) => {
        const ci = c[c.length === 1 ? 0 : i];
        if (typeof ci !== 'number') return null;
        return (ci ? a[a.length === 1 ? 0 : i] : b[b.length === 1 ? 0 : i]) ?? null;
      });
      break;
    }
    case 'Concat': {
      const parts = n.input.map((i) => val(i));
      if (parts.some((p) => !p)) return;
      r = parts.flat() as Dim[];
      break;
    }
    case 'Slice': {
      const st = val(n.input[1]);
      const en = val(n.input[2]);
      if (!x || !st || !en || typeof st[0] !== 'number' || typeof en[0] !== 'number') return;
      const clamp = (v: number) => Math.max(0, Math.min(x.length, v < 0 ? v + x.length : v));
      r = x.slice(clamp(st[0]), clamp(en[0]));
      break;
    }
    case 'Add':
    case 'Sub':
    case 'Mul':
    case 'Div': {
      const y = val(n.input[1]);
      if (!x || !y) return;
      const len = Math.max(x.length, y.length);
      const f = (a: Dim, b: Dim): Dim => {
        if (typeof a !== 'number' || typeof b !== 'number') return null;
        return n.opType === 'Add' ? a + b : n.opType === 'Sub' ? a - b : n.opType === 'Mul' ? a * b : Math.trunc(a / b);
      };
      r = Array.from({ length: len }, (_, i) => f(x[x.length === 1 ? 0 : i] ?? null, y[y.length === 1 ? 0 : i] ?? null));
      break;
    }
    default:
      return;
  }
  // Shape vectors are short; longer values are not tracked (their consumers' shapes then stay unknown).
  if (r && r.length <= MODEL_LIMITS.maxShapeValues) values.set(out, r);
}

/** A rank computed from the model's data (the length of a shape tensor), checked before an array of it is made. */
function rankOf(n: NodeProto, len: number): number {
  if (!Number.isInteger(len) || len < 0) throw new Error('unknown rank');
  if (len > MODEL_LIMITS.maxRank) throw new LimitExceededError(`node '${n.name || n.opType}' (${n.opType}): output rank`, len, MODEL_LIMITS.maxRank);
  return len;
}

/** An inferred output shape within MODEL_LIMITS (it may size arrays and constants of the compiled graph). */
function checkInferred(n: NodeProto, shape: Dim[] | undefined): void {
  if (!shape) return;
  const what = `node '${n.name || n.opType}' (${n.opType}): output`;
  if (shape.length > MODEL_LIMITS.maxRank) throw new LimitExceededError(`${what} rank`, shape.length, MODEL_LIMITS.maxRank);
  let count = 1;
  for (const d of shape) {
    if (typeof d !== 'number') continue;
    if (d > MODEL_LIMITS.maxDim) throw new LimitExceededError(`${what} dimension`, d, MODEL_LIMITS.maxDim);
    count *= Math.max(d, 0);
  }
  if (count > MODEL_LIMITS.maxElements) throw new LimitExceededError(`${what} element count`, count, MODEL_LIMITS.maxElements, 'the model computes a tensor too large to explain');
}

function decodeValue(t: Parameters<typeof decodeTensor>[0]) {
  return decodeTensor(t).data;
}

function inferNode(g: Graph, n: NodeProto, info: Map<string, ValueInfo>, values: Map<string, Dim[]> = new Map()): ValueInfo[] {
  const inp = (k: number): ValueInfo => info.get(n.input[k] ?? '') ?? { elemType: 0 };
  const x = inp(0);
  const s = x.shape;
  const t = x.elemType;
  const cnum = (k: number): number[] | undefined => {
    const c = g.constant(n.input[k] ?? '');
    // Shape-describing inputs (shapes, axes, pads, starts, splits) are integer tensors; anything else stays unknown.
    return c ? constInts(c) : undefined;
  };
  /** A shape-describing input: a constant, or a propagated value (may hold symbols and unknowns). */
  const dims = (k: number): Dim[] | undefined => cnum(k) ?? values.get(n.input[k] ?? '');
  const op = n.opType;
  if (SAME_AS_INPUT.has(op)) {
    const out: ValueInfo[] = [{ elemType: t, shape: s }];
    if (op === 'Dropout') out.push({ elemType: 9, shape: s });
    return out;
  }
  if (BROADCAST.has(op)) {
    const shapes = n.input.map((_, k) => inp(k).shape);
    const et = BOOL_OUT.has(op) ? 9 : op === 'Where' ? inp(1).elemType : n.input.map((_, k) => inp(k).elemType).find((e) => e) ?? 0;
    return [{ elemType: et, shape: broadcastShapes(shapes) }];
  }
  switch (op) {
    case 'Constant': {
      const c = g.constant(n.output[0]!);
      return [{ elemType: c?.dataType ?? 0, shape: c?.dims }];
    }
    case 'Conv':
    case 'ConvTranspose': {
      const w = inp(1).shape;
      if (!s || !w) return [{ elemType: t }];
      const kernel = (attrInts(n, 'kernel_shape') ?? (w.slice(2) as number[])).map(Number);
      const group = attrInt(n, 'group', 1);
      const explicitOut = attrInts(n, 'output_shape');
      const spatial = op === 'ConvTranspose' && explicitOut ? explicitOut : spatialOut(n, s.slice(2), kernel, op === 'ConvTranspose');
      const ch = op === 'Conv' ? w[0]! : typeof w[1] === 'number' ? w[1] * group : null;
      return [{ elemType: t, shape: [s[0]!, ch, ...spatial] }];
    }
    case 'MaxPool':
    case 'AveragePool':
    case 'LpPool': {
      if (!s) return [{ elemType: t }, { elemType: 7 }];
      const kernel = attrInts(n, 'kernel_shape')!;
      const shape = [s[0]!, s[1]!, ...spatialOut(n, s.slice(2), kernel)];
      return [{ elemType: t, shape }, { elemType: 7, shape }];
    }
    case 'GlobalAveragePool':
    case 'GlobalMaxPool':
      return [{ elemType: t, shape: s ? [s[0]!, s[1]!, ...s.slice(2).map(() => 1)] : undefined }];
    case 'Gemm': {
      const b = inp(1).shape;
      if (!s || !b) return [{ elemType: t }];
      const m = attrInt(n, 'transA', 0) ? s[1]! : s[0]!;
      const nn = attrInt(n, 'transB', 0) ? b[0]! : b[1]!;
      return [{ elemType: t, shape: [m, nn] }];
    }
    case 'MatMul': {
      const b = inp(1).shape;
      if (!s || !b) return [{ elemType: t }];
      const a2 = s.length === 1 ? [1, s[0]!] : s;
      const b2 = b.length === 1 ? [b[0]!, 1] : b;
      const batch = broadcastShapes([a2.slice(0, -2), b2.slice(0, -2)]) ?? [];
      const out = [...batch, a2[a2.length - 2]!, b2[b2.length - 1]!];
      if (s.length === 1) out.splice(out.length - 2, 1);
      if (b.length === 1) out.splice(out.length - 1, 1);
      return [{ elemType: t, shape: out }];
    }
    case 'Flatten': {
      if (!s) return [{ elemType: t }];
      const axis = normAxis(attrInt(n, 'axis', 1), s.length);
      const prod = (ds: Dim[]): Dim => (ds.every((d) => typeof d === 'number') ? (ds as number[]).reduce((a, b) => a * b, 1) : null);
      return [{ elemType: t, shape: [prod(s.slice(0, axis)), prod(s.slice(axis))] }];
    }
    case 'Reshape': {
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
    }
    case 'Transpose': {
      if (!s) return [{ elemType: t }];
      const perm = attrInts(n, 'perm') ?? s.map((_, i) => s.length - 1 - i);
      return [{ elemType: t, shape: perm.map((p) => s[p]!) }];
    }
    case 'Squeeze': {
      if (!s) return [{ elemType: t }];
      const axes = (attrInts(n, 'axes') ?? cnum(1))?.map((a) => normAxis(a, s.length));
      return [{ elemType: t, shape: axes ? s.filter((_, i) => !axes.includes(i)) : s.filter((d) => d !== 1) }];
    }
    case 'Unsqueeze': {
      const axes = attrInts(n, 'axes') ?? cnum(1);
      if (!s || !axes) return [{ elemType: t }];
      const rank = s.length + axes.length;
      const norm = axes.map((a) => normAxis(a, rank));
      const out: Dim[] = [];
      let j = 0;
      for (let i = 0; i < rank; i++) out.push(norm.includes(i) ? 1 : s[j++]!);
      return [{ elemType: t, shape: out }];
    }
    case 'Concat': {
      const shapes = n.input.map((_, k) => inp(k).shape);
      const known = shapes.find((x2) => x2);
      if (shapes.some((x2) => !x2)) return [{ elemType: t, shape: known ? known.map(() => null) : undefined }];
      const axis = normAxis(attrInt(n, 'axis', 0), shapes[0]!.length);
      const out = [...shapes[0]!];
      out[axis] = shapes.reduce<Dim>((a, sh) => (typeof a === 'number' && typeof sh![axis] === 'number' ? a + (sh![axis] as number) : null), 0);
      return [{ elemType: t, shape: out }];
    }
    case 'Split': {
      if (!s) return n.output.map(() => ({ elemType: t }));
      const axis = normAxis(attrInt(n, 'axis', 0), s.length);
      const sizes = attrInts(n, 'split') ?? cnum(1);
      return n.output.map((_, k) => {
        const out = [...s];
        const d = s[axis];
        out[axis] = sizes ? sizes[k]! : typeof d === 'number' ? d / n.output.length : null;
        return { elemType: t, shape: out };
      });
    }
    case 'Slice': {
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
    }
    case 'Pad': {
      const pads = attrInts(n, 'pads') ?? cnum(1);
      if (!s || !pads) return [{ elemType: t, shape: s?.map(() => null) }];
      const axes = cnum(3)?.map((a) => normAxis(a, s.length)) ?? s.map((_, i) => i);
      const out = [...s];
      axes.forEach((a, i) => {
        const d = s[a];
        out[a] = typeof d === 'number' ? d + pads[i]! + pads[i + axes.length]! : null;
      });
      return [{ elemType: t, shape: out }];
    }
    case 'Gather': {
      const idx = inp(1).shape;
      if (!s || !idx) return [{ elemType: t }];
      const axis = normAxis(attrInt(n, 'axis', 0), s.length);
      return [{ elemType: t, shape: [...s.slice(0, axis), ...idx, ...s.slice(axis + 1)] }];
    }
    case 'Shape': {
      if (!s) return [{ elemType: 7 }];
      const start = normAxis(attrInt(n, 'start', 0), s.length);
      const endA = getAttr(n, 'end') ? normAxis(attrInt(n, 'end', s.length), s.length) : s.length;
      return [{ elemType: 7, shape: [Math.max(0, endA - start)] }];
    }
    case 'Size':
      return [{ elemType: 7, shape: [] }];
    case 'Cast':
      return [{ elemType: attrInt(n, 'to', 1), shape: s }];
    case 'CastLike':
      return [{ elemType: inp(1).elemType, shape: s }];
    case 'ArgMax':
    case 'ArgMin':
    case 'ReduceSum':
    case 'ReduceMean':
    case 'ReduceMax':
    case 'ReduceMin':
    case 'ReduceProd':
    case 'ReduceL2': {
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
    }
    case 'ConstantOfShape': {
      const shp = dims(0);
      const v = getAttr(n, 'value')?.t;
      return [{ elemType: v?.dataType ?? 1, shape: shp }];
    }
    case 'Expand': {
      const shp = dims(1);
      if (!shp) {
        // Unknown target values but a known target length: the rank is still known.
        const len = inp(1).shape;
        if (s && len && len.length === 1 && typeof len[0] === 'number') return [{ elemType: t, shape: new Array<Dim>(rankOf(n, Math.max(s.length, len[0]))).fill(null) }];
      }
      return [{ elemType: t, shape: shp ? broadcastShapes([s, shp]) : undefined }];
    }
    case 'Range':
      return [{ elemType: t, shape: [null] }];
    default:
      return [];
  }
}
