import { create } from '@bufbuild/protobuf';
import { StringStringEntryProtoSchema, TensorProto_DataType as DT, type GraphProto, type ModelProto, type TensorProto, type TypeProto } from 'onnx-buf';
import { floatTensor } from './tensor.js';

/** Metadata key under which the model records that xsys converted it to float32 (read by reports). */
export const PRECISION_KEY = 'xsys.precision';

const LOW = new Set<number>([DT.FLOAT16, DT.BFLOAT16]);

/** IEEE 754 half → float. */
function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? Number.NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

/** The 16-bit payloads of a FLOAT16/BFLOAT16 tensor (raw little-endian bytes, or int32_data holding one each). */
function halves(t: TensorProto): Uint16Array {
  if (t.rawData.length) {
    const n = t.rawData.length >> 1;
    const out = new Uint16Array(n);
    for (let i = 0; i < n; i++) out[i] = t.rawData[2 * i]! | (t.rawData[2 * i + 1]! << 8);
    return out;
  }
  return Uint16Array.from(t.int32Data);
}

/** A FLOAT16 or BFLOAT16 tensor as float32 (exact: every half and bfloat16 value is a float32 value). */
export function lowPrecisionToFloat32(t: TensorProto): TensorProto {
  const h = halves(t);
  const data = new Float32Array(h.length);
  if (t.dataType === DT.BFLOAT16) {
    const bits = new Uint32Array(data.buffer);
    for (let i = 0; i < h.length; i++) bits[i] = h[i]! << 16;
  } else {
    for (let i = 0; i < h.length; i++) data[i] = halfToFloat(h[i]!);
  }
  const out = floatTensor(t.name, data, t.dims.map(Number), false);
  out.docString = t.docString;
  return out;
}

interface Counts {
  tensors: number;
  casts: number;
  values: number;
}

function convertType(tp: TypeProto | undefined, counts: Counts): void {
  const v = tp?.value;
  if (!v) return;
  if (v.case === 'tensorType' && LOW.has(v.value.elemType)) {
    v.value.elemType = DT.FLOAT;
    counts.values++;
  } else if (v.case === 'sequenceType' || v.case === 'optionalType') convertType(v.value.elemType, counts);
}

function convertGraph(g: GraphProto, counts: Counts): void {
  g.initializer = g.initializer.map((t) => {
    if (!LOW.has(t.dataType)) return t;
    counts.tensors++;
    return lowPrecisionToFloat32(t);
  });
  for (const vi of [...g.input, ...g.output, ...g.valueInfo]) convertType(vi.type, counts);
  for (const n of g.node) {
    for (const a of n.attribute) {
      if (a.t && LOW.has(a.t.dataType)) {
        a.t = lowPrecisionToFloat32(a.t);
        counts.tensors++;
      }
      a.tensors = a.tensors.map((t) => (LOW.has(t.dataType) ? (counts.tensors++, lowPrecisionToFloat32(t)) : t));
      // Cast(to), EyeLike/RandomNormal…(dtype): the target type becomes float32.
      if ((a.name === 'to' || a.name === 'dtype') && LOW.has(Number(a.i))) {
        a.i = BigInt(DT.FLOAT);
        counts.casts++;
      }
      if (a.g) convertGraph(a.g, counts);
      for (const sub of a.graphs) convertGraph(sub, counts);
    }
  }
}

/**
 * Converts a model computing in FLOAT16/BFLOAT16 (weights, activations, or both) to float32 in place: weights and
 * constants are widened exactly, Casts to half precision become Casts to float32, declared types follow. The
 * explanation then runs in float32 — more precise than the model's own arithmetic, so scores can differ from a
 * half-precision run in the last digits. Returns a sentence for reports, or undefined when nothing was converted;
 * the sentence is also kept in the model's metadata under PRECISION_KEY.
 */
export function convertToFloat32(model: ModelProto): string | undefined {
  if (!model.graph) return undefined;
  const counts: Counts = { tensors: 0, casts: 0, values: 0 };
  convertGraph(model.graph, counts);
  if (!counts.tensors && !counts.casts && !counts.values) return undefined;
  const note = `converted from float16/bfloat16 to float32 (${counts.tensors} constant tensors, ${counts.casts} casts, ${counts.values} declared types): the explanation runs in float32`;
  model.metadataProps = model.metadataProps.filter((p) => p.key !== PRECISION_KEY);
  model.metadataProps.push(create(StringStringEntryProtoSchema, { key: PRECISION_KEY, value: note }));
  return note;
}

/** The conversion note recorded by convertToFloat32, if any. */
export function precisionNote(model: ModelProto): string | undefined {
  return model.metadataProps.find((p) => p.key === PRECISION_KEY)?.value;
}
