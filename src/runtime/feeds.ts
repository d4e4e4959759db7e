/** Model inputs of any dtype: declarations, conversion and checks (runtime-independent; runtime/node.ts runs them). */
import type { ValueInfoProto } from 'onnx-buf';
import { InputDataError } from '../errors.js';
import type { NdArray } from '../io/npy.js';
import type { Dim } from '../ir/shapes.js';
import type { Tensor } from './tensor.js';
import { firstNonFinite } from './tensor.js';

/** A model input of any of the dtypes transformer exports take: float32 pixels/embeddings, int64/int32 ids and masks, bool masks. */
export type FeedDtype = 'float32' | 'int64' | 'int32' | 'bool';
export interface Feed {
  dtype: FeedDtype;
  data: Float32Array | BigInt64Array | Int32Array | Uint8Array;
  dims: number[];
}

const ELEM_TYPES: Record<number, FeedDtype> = { 1: 'float32', 7: 'int64', 6: 'int32', 9: 'bool' };

export interface DeclaredInput {
  name: string;
  dtype: FeedDtype | undefined;
  elemType: number;
  shape?: Dim[];
}

export function declaredInputs(inputs: readonly ValueInfoProto[]): DeclaredInput[] {
  return inputs.map((i) => {
    const tt = i.type?.value.case === 'tensorType' ? i.type.value.value : undefined;
    const shape = tt?.shape?.dim.map((d): Dim => (d.value.case === 'dimValue' ? Number(d.value.value) : d.value.case === 'dimParam' ? d.value.value : null));
    return { name: i.name, elemType: tt?.elemType ?? 0, dtype: ELEM_TYPES[tt?.elemType ?? 0], shape };
  });
}

/**
 * Converts a loaded array to the dtype the model declares for that input. Integers are accepted for integer inputs
 * of another width (int32 ids for an int64 input); floats are never silently truncated into ids.
 */
export function feedFromArray(name: string, a: NdArray, want: DeclaredInput): Feed {
  const dims = [...a.shape];
  const src = a.data;
  const isInt = src instanceof BigInt64Array || src instanceof Int32Array || (src instanceof Uint8Array && a.dtype !== 'bool');
  switch (want.dtype) {
    case 'float32':
      if (src instanceof BigInt64Array) throw new InputDataError(`input '${name}': the model takes float32, but the file holds int64`, 'pass float values (e.g. pixels) for this input');
      return { dtype: 'float32', data: Float32Array.from(src as Float32Array), dims };
    case 'int64':
    case 'int32': {
      if (!isInt && a.dtype !== 'bool') throw new InputDataError(`input '${name}': the model takes ${want.dtype} (token ids or a mask), but the file holds ${a.dtype}`, `save it as an integer array (numpy: .astype(np.${want.dtype}))`);
      const values = Array.from(src as ArrayLike<number | bigint>, (v) => BigInt(v));
      return want.dtype === 'int64' ? { dtype: 'int64', data: BigInt64Array.from(values), dims } : { dtype: 'int32', data: Int32Array.from(values, Number), dims };
    }
    case 'bool':
      return { dtype: 'bool', data: Uint8Array.from(src as ArrayLike<number | bigint>, (v) => (Number(v) ? 1 : 0)), dims };
    default:
      throw new InputDataError(`input '${name}': the model declares element type ${want.elemType}, which xsys cannot feed`, 'inputs must be float32, int64, int32 or bool');
  }
}

/** Inputs a text model usually has besides the ids, filled the way tokenizers fill them when not given. */
export function defaultFeed(want: DeclaredInput, batch: number, tokens: number): Feed | undefined {
  const n = batch * tokens;
  let values: number[] | undefined;
  if (/attention_?mask/i.test(want.name)) values = new Array<number>(n).fill(1);
  else if (/token_?type/i.test(want.name)) values = new Array<number>(n).fill(0);
  else if (/position_?ids/i.test(want.name)) values = Array.from({ length: n }, (_, i) => i % tokens);
  if (!values) return undefined;
  const dims = [batch, tokens];
  if (want.dtype === 'int64') return { dtype: 'int64', data: BigInt64Array.from(values, (v) => BigInt(v)), dims };
  if (want.dtype === 'int32') return { dtype: 'int32', data: Int32Array.from(values), dims };
  if (want.dtype === 'float32') return { dtype: 'float32', data: Float32Array.from(values), dims };
  if (want.dtype === 'bool') return { dtype: 'bool', data: Uint8Array.from(values), dims };
  return undefined;
}

/** Checks one feed against the model's declaration: dtype, rank, static dims, finite values. */
export function validateFeed(name: string, feed: Feed, want: DeclaredInput): void {
  if (want.dtype && feed.dtype !== want.dtype) throw new InputDataError(`input '${name}' is ${feed.dtype}, but the model expects ${want.dtype}`);
  const n = feed.dims.reduce((a, b) => a * b, 1);
  if (feed.data.length !== n) throw new InputDataError(`input '${name}': ${feed.data.length} values do not fill shape [${feed.dims.join(', ')}]`);
  if (want.shape) {
    const ok = want.shape.length === feed.dims.length && want.shape.every((d, i) => typeof d !== 'number' || d === feed.dims[i]);
    if (!ok) throw new InputDataError(`input '${name}' has shape [${feed.dims.join(', ')}], but the model expects [${want.shape.map((d) => d ?? '?').join(', ')}]`);
  }
  if (feed.data instanceof Float32Array) {
    const bad = firstNonFinite(feed.data);
    if (bad >= 0) throw new InputDataError(`input '${name}' contains a non-finite value (${feed.data[bad]}) at flat index ${bad}`);
  }
}
