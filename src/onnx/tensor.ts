import { create } from '@bufbuild/protobuf';
import { TensorProtoSchema, TensorProto_DataType as DT, type TensorProto } from 'onnx-buf';

import { FileFormatError, UnsupportedModelError } from '../errors.js';
import { checkedDims } from './validate.js';

export { TensorProto_DataType as DataType } from 'onnx-buf';

export type TypedData = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;

/** A constant tensor decoded from an initializer or a Constant node. */
export interface ConstTensor {
  dataType: DT;
  dims: number[];
  data: TypedData;
}

export function numel(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/**
 * The raw bytes as an ArrayBuffer + offset at which `bytesPerElement`-sized elements can be viewed. Aligned raw_data
 * (the usual case: it is a view into the model file) is viewed in place, without a copy — multi-hundred-MB weights
 * would otherwise be duplicated; unaligned raw_data is copied first.
 */
function viewable(raw: Uint8Array, bytesPerElement: number): [ArrayBuffer, number] {
  if (raw.byteOffset % bytesPerElement === 0) return [raw.buffer as ArrayBuffer, raw.byteOffset];
  return [new Uint8Array(raw).buffer, 0];
}

const DECODABLE = new Set<number>([DT.FLOAT, DT.DOUBLE, DT.INT64, DT.INT32, DT.BOOL, DT.UINT8]);

/**
 * Decodes a tensor's values. The values are decoded on first access of `data` — asking whether a tensor is a
 * constant, or for its dims, must not copy hundreds of MB of weights. They may share memory with the TensorProto:
 * treat them as read-only.
 */
export function decodeTensor(t: TensorProto): ConstTensor {
  if (!DECODABLE.has(t.dataType)) throw unsupportedType(t);
  const dims = checkedDims(t.dims, `tensor '${t.name}'`);
  let data: TypedData | undefined;
  return {
    dataType: t.dataType,
    dims,
    get data(): TypedData {
      data ??= decodeData(t, dims).data;
      return data;
    },
  };
}

/** Constants of other types (FLOAT16, BFLOAT16, INT8, STRING …) are refused with a reason, not a RangeError. */
function unsupportedType(t: TensorProto): UnsupportedModelError {
  const type = DT[t.dataType] ?? `type ${t.dataType}`;
  return new UnsupportedModelError(
    `tensor '${t.name}': constants of data type ${type} are not supported (xsys computes constants as FLOAT, DOUBLE, INT64, INT32, BOOL or UINT8)`,
    t.dataType === DT.FLOAT16 || t.dataType === DT.BFLOAT16 ? 'export the model in float32' : 'export the model with float32 weights and int64 shapes',
  );
}

const BYTES_PER: Partial<Record<number, number>> = { [DT.FLOAT]: 4, [DT.DOUBLE]: 8, [DT.INT64]: 8, [DT.INT32]: 4, [DT.BOOL]: 1, [DT.UINT8]: 1 };

function decodeData(t: TensorProto, dims: number[]): ConstTensor {
  const n = numel(dims);
  const raw = t.rawData.length > 0 ? t.rawData : undefined;
  // parseModel checked this for tensors read from a file; tensors built in memory are checked here.
  const have = raw ? raw.length / BYTES_PER[t.dataType]! : t.dataType === DT.FLOAT ? t.floatData.length : t.dataType === DT.DOUBLE ? t.doubleData.length : t.dataType === DT.INT64 ? t.int64Data.length : t.int32Data.length;
  if (have !== n) throw new FileFormatError(`tensor '${t.name}'`, `carries ${have} values, but dims [${dims.join(', ')}] need ${n}`, 'the model file is damaged; export it again');
  switch (t.dataType) {
    case DT.FLOAT:
      return { dataType: DT.FLOAT, dims, data: raw ? new Float32Array(...viewable(raw, 4), n) : Float32Array.from(t.floatData) };
    case DT.DOUBLE:
      return { dataType: DT.DOUBLE, dims, data: raw ? new Float64Array(...viewable(raw, 8), n) : Float64Array.from(t.doubleData) };
    case DT.INT64:
      return { dataType: DT.INT64, dims, data: raw ? new BigInt64Array(...viewable(raw, 8), n) : BigInt64Array.from(t.int64Data) };
    case DT.INT32:
      return { dataType: DT.INT32, dims, data: raw ? new Int32Array(...viewable(raw, 4), n) : Int32Array.from(t.int32Data) };
    case DT.BOOL:
    case DT.UINT8:
      return { dataType: t.dataType, dims, data: raw ? new Uint8Array(...viewable(raw, 1), n) : Uint8Array.from(t.int32Data) };
    default:
      throw unsupportedType(t);
  }
}

/** Numbers of a constant as JS numbers (int64 converted; fine for shapes, axes and pads). */
export function constNumbers(c: ConstTensor): number[] {
  return Array.from(c.data as ArrayLike<number | bigint>, (v) => Number(v));
}

/** ONNX integer element types (INT8…INT64, UINT8…UINT64). */
const INTEGER_TYPES = new Set([2, 3, 4, 5, 6, 7, 12, 13]);

/**
 * The values of a constant that ONNX requires to be integers — axes, shapes, pads, sizes, split lengths — or
 * undefined when it is not an integer tensor (or holds values beyond 2⁵³). A model that feeds floats there is
 * invalid; reading them as numbers would put fractions into int64 tensors of the compiled graph.
 */
export function constInts(c: ConstTensor): number[] | undefined {
  if (!INTEGER_TYPES.has(c.dataType)) return undefined;
  const v = constNumbers(c);
  return v.every(Number.isSafeInteger) ? v : undefined;
}

/**
 * A float32 initializer. `copy: false` lets the tensor keep `data`'s memory (for arrays made for it, which nothing
 * writes to afterwards): large derived weights are then not held twice during compilation.
 */
export function floatTensor(name: string, data: Float32Array, dims: readonly number[], copy = true): TensorProto {
  const bytes = new Uint8Array(data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
  return create(TensorProtoSchema, {
    name,
    dataType: DT.FLOAT,
    dims: dims.map((d) => BigInt(d)),
    rawData: copy ? bytes.slice() : bytes,
  });
}

export function int64Tensor(name: string, values: readonly (number | bigint)[], dims?: readonly number[]): TensorProto {
  const data = BigInt64Array.from(values, (v) => BigInt(v));
  return create(TensorProtoSchema, {
    name,
    dataType: DT.INT64,
    dims: (dims ?? [values.length]).map((d) => BigInt(d)),
    rawData: new Uint8Array(data.buffer).slice(),
  });
}

export function asFloat32(c: ConstTensor): Float32Array {
  if (c.data instanceof Float32Array) return c.data;
  return Float32Array.from(c.data as ArrayLike<number | bigint>, (v) => Number(v));
}
