import { TensorProto_DataType as DT, type TensorProto } from 'onnx-buf';
import { FileFormatError } from '../errors.js';
import { checkedDims } from './validate.js';

const INTEGER: Partial<Record<number, { bytes: number; read: (v: DataView, at: number) => number }>> = {
  [DT.INT8]: { bytes: 1, read: (v, at) => v.getInt8(at) },
  [DT.UINT8]: { bytes: 1, read: (v, at) => v.getUint8(at) },
  [DT.INT16]: { bytes: 2, read: (v, at) => v.getInt16(at, true) },
  [DT.UINT16]: { bytes: 2, read: (v, at) => v.getUint16(at, true) },
  [DT.INT32]: { bytes: 4, read: (v, at) => v.getInt32(at, true) },
};

/**
 * The values of an integer tensor of a quantised model (INT8, UINT8, INT16, UINT16, INT32: weights, zero points,
 * int32 biases) as float64, which holds every one of them exactly; undefined for other types. raw_data is read with a
 * DataView, so its alignment in the file does not matter; without raw_data ONNX stores these types in int32_data.
 */
export function quantizedValues(t: TensorProto): { dims: number[]; values: Float64Array } | undefined {
  const kind = INTEGER[t.dataType];
  if (!kind) return undefined;
  const dims = checkedDims(t.dims, `tensor '${t.name}'`);
  const n = dims.reduce((a, b) => a * b, 1);
  if (t.rawData.length > 0) {
    if (t.rawData.length !== n * kind.bytes) throw new FileFormatError(`tensor '${t.name}'`, `carries ${t.rawData.length} bytes, but dims [${dims.join(', ')}] of ${DT[t.dataType]} need ${n * kind.bytes}`, 'the model file is damaged; export it again');
    const view = new DataView(t.rawData.buffer, t.rawData.byteOffset, t.rawData.byteLength);
    const values = new Float64Array(n);
    for (let i = 0; i < n; i++) values[i] = kind.read(view, i * kind.bytes);
    return { dims, values };
  }
  if (t.int32Data.length !== n) throw new FileFormatError(`tensor '${t.name}'`, `carries ${t.int32Data.length} values, but dims [${dims.join(', ')}] need ${n}`, 'the model file is damaged; export it again');
  return { dims, values: Float64Array.from(t.int32Data) };
}

const QUANTISED_OPS = ['DynamicQuantizeLinear', 'ConvInteger', 'MatMulInteger', 'QLinearConv', 'QLinearMatMul', 'QuantizeLinear', 'DequantizeLinear'];

/**
 * Says that a model is quantised and is explained in float32 (the dequantize canonicaliser rewrites its integer
 * arithmetic to float), counting its quantisation ops; undefined for a float model.
 */
export function quantisationNote(model: { graph?: { node: readonly { opType: string; domain: string }[] } }): string | undefined {
  const counts = new Map<string, number>();
  for (const n of model.graph?.node ?? []) if ((n.domain === '' || n.domain === 'ai.onnx') && QUANTISED_OPS.includes(n.opType)) counts.set(n.opType, (counts.get(n.opType) ?? 0) + 1);
  if (counts.size === 0) return undefined;
  return `quantised (${[...counts].map(([op, c]) => `${c} ${op}`).join(', ')}): dequantised for the explanation, which runs in float32`;
}
