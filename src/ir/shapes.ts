import type { NodeProto } from 'onnx-buf';
import { attrInt, attrInts, getAttr } from '../onnx/attributes.js';
import { decodeTensor } from '../onnx/tensor.js';
import { LimitExceededError } from '../errors.js';
import { MODEL_LIMITS } from '../onnx/limits.js';

/** A dimension: a number when known, a symbol (e.g. 'batch') when symbolic, null when unknown. */
export type Dim = number | string | null;
export interface ValueInfo {
  /** ONNX TensorProto.DataType; 1 = float, 7 = int64, 9 = bool. 0 when unknown. */
  elemType: number;
  /** undefined when even the rank is unknown. */
  shape?: Dim[];
}

/*
 * The vocabulary of shapes: dims, value infos and the arithmetic the ops' shape rules share (broadcasting, spatial
 * windows, axes). The rules themselves live with their ops (ops/<family>.ts); the pass that applies them is
 * ops/shapes.ts (inferShapes).
 */

/** Numpy-style broadcast of several shapes; symbolic dims win over 1, unknown shapes make the result unknown. */
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

/** Output sizes of a convolution/pooling window over the spatial dims (pads, strides, dilations, auto_pad, ceil_mode). */
export function spatialOut(n: NodeProto, inDims: Dim[], kernel: number[], isConvTranspose = false): Dim[] {
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

export function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

/** A rank computed from the model's data (the length of a shape tensor), checked before an array of it is made. */
export function rankOf(n: NodeProto, len: number): number {
  if (!Number.isInteger(len) || len < 0) throw new Error('unknown rank');
  if (len > MODEL_LIMITS.maxRank) throw new LimitExceededError(`node '${n.name || n.opType}' (${n.opType}): output rank`, len, MODEL_LIMITS.maxRank);
  return len;
}

/** An inferred output shape within MODEL_LIMITS (it may size arrays and constants of the compiled graph). */
export function checkInferred(n: NodeProto, shape: Dim[] | undefined): void {
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

/** The numbers of a tensor attribute (ConstantOfShape's value). */
export function decodeValue(t: Parameters<typeof decodeTensor>[0]) {
  return decodeTensor(t).data;
}

