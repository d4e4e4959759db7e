/**
 * Seeded mutations of ONNX models for the reader/compiler fuzz test: byte-level (bit flips, overwrites, splices,
 * truncation) and protobuf-structure mutations (dims, data types, raw data, op types, attributes, wiring, constants,
 * opsets, declared shapes) that keep the file parseable so the compiler, not only the parser, gets exercised.
 */
import { clone, create, fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  AttributeProtoSchema,
  AttributeProto_AttributeType as AT,
  ModelProtoSchema,
  NodeProtoSchema,
  TensorProtoSchema,
  type ModelProto,
  type NodeProto,
  type TensorProto,
} from 'onnx-buf';

export type Rng = () => number;

const int = (r: Rng, n: number): number => Math.floor(r() * n);
const pick = <T>(r: Rng, xs: readonly T[]): T => xs[int(r, xs.length)]!;

/** Numbers that break assumptions: zero, negatives, huge, 2^31, non-integers where ints are expected. */
const NASTY = [0, 1, -1, 2, 3, 7, 64, 255, 1000, 65535, 2 ** 31 - 1, 2 ** 31, 2 ** 32, -(2 ** 31), 1e9, 1e12, 2 ** 53, -2, -7] as const;
const OPS = [
  'Conv', 'Gemm', 'MatMul', 'Relu', 'Add', 'Mul', 'Reshape', 'Flatten', 'MaxPool', 'AveragePool', 'GlobalAveragePool', 'Softmax',
  'Concat', 'Split', 'Slice', 'Gather', 'Transpose', 'Squeeze', 'Unsqueeze', 'BatchNormalization', 'LayerNormalization', 'Pad',
  'ReduceSum', 'ReduceMean', 'Expand', 'Tile', 'Shape', 'ConstantOfShape', 'Cast', 'Where', 'Equal', 'Sigmoid', 'Tanh', 'Identity',
  'LSTM', 'GRU', 'If', 'Loop', 'Resize', 'QuantizeLinear', 'DequantizeLinear', 'Einsum', 'TopK', 'NonZero', 'Range', 'CumSum',
  'Constant', 'Dropout', 'Sub', 'Div', 'Pow', 'Sqrt', 'Erf', 'ConvTranspose', 'DepthToSpace', 'Upsample', 'Unknown', '',
] as const;
const DATA_TYPES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 21, 99] as const;
const ATTR_NAMES = ['axis', 'axes', 'perm', 'kernel_shape', 'strides', 'pads', 'dilations', 'group', 'transA', 'transB', 'alpha', 'beta', 'epsilon', 'keepdims', 'to', 'mode', 'value', 'auto_pad', 'ceil_mode', 'split', 'start', 'end'] as const;

function tensorsOf(m: ModelProto): TensorProto[] {
  const out = [...(m.graph?.initializer ?? [])];
  for (const n of m.graph?.node ?? []) for (const a of n.attribute) if (a.t) out.push(a.t);
  return out;
}

function randomInts(r: Rng): bigint[] {
  const len = pick(r, [0, 1, 2, 3, 4, 5, 8, 40]);
  return Array.from({ length: len }, () => BigInt(Math.trunc(pick(r, NASTY))));
}

function nodeAt(m: ModelProto, r: Rng): NodeProto | undefined {
  const nodes = m.graph?.node ?? [];
  return nodes.length ? nodes[int(r, nodes.length)] : undefined;
}

function tensorName(m: ModelProto, r: Rng): string {
  const g = m.graph!;
  const names = [...g.node.flatMap((n) => [...n.input, ...n.output]), ...g.input.map((i) => i.name), ...g.initializer.map((t) => t.name), ''];
  return pick(r, names);
}

/** One structural mutation, in place. */
function mutateStructure(m: ModelProto, r: Rng): void {
  const g = m.graph;
  if (!g) return;
  const tensors = tensorsOf(m);
  const t = tensors.length ? pick(r, tensors) : undefined;
  const n = nodeAt(m, r);
  switch (int(r, 20)) {
    case 0: // dims of a tensor
      if (t) t.dims = randomInts(r);
      break;
    case 1: // one dim
      if (t && t.dims.length) t.dims[int(r, t.dims.length)] = BigInt(Math.trunc(pick(r, NASTY)));
      break;
    case 2: // data type
      if (t) t.dataType = pick(r, DATA_TYPES);
      break;
    case 3: // raw data shortened or lengthened
      if (t) t.rawData = t.rawData.slice(0, int(r, t.rawData.length + 1));
      else if (n) n.input.push('ghost');
      break;
    case 4: // external data
      if (t) {
        t.dataLocation = 1;
        t.externalData = [{ key: 'location', value: pick(r, ['secret.txt', '../../etc/passwd', '/etc/hostname', 'data.db']) } as never];
      }
      break;
    case 5: // op type
      if (n) n.opType = pick(r, OPS);
      break;
    case 6: // an input rewired to any tensor (cycles, self-loops, missing names)
      if (n && n.input.length) n.input[int(r, n.input.length)] = tensorName(m, r);
      else if (n) n.input.push(tensorName(m, r));
      break;
    case 7: // an output renamed (duplicate producers, dangling consumers)
      if (n && n.output.length) n.output[int(r, n.output.length)] = tensorName(m, r);
      break;
    case 8: // node removed
      if (g.node.length > 1) g.node.splice(int(r, g.node.length), 1);
      break;
    case 9: // node duplicated
      if (n) g.node.splice(int(r, g.node.length + 1), 0, clone(NodeProtoSchema, n));
      break;
    case 10: // int/ints attribute values
      if (n && n.attribute.length) {
        const a = pick(r, n.attribute);
        a.i = BigInt(Math.trunc(pick(r, NASTY)));
        a.ints = randomInts(r);
      }
      break;
    case 11: // attribute added with a random name and type
      if (n) {
        const type = pick(r, [AT.INT, AT.INTS, AT.FLOAT, AT.STRING, AT.TENSOR, AT.GRAPH, AT.FLOATS]);
        n.attribute.push(
          create(AttributeProtoSchema, {
            name: pick(r, ATTR_NAMES),
            type,
            i: BigInt(Math.trunc(pick(r, NASTY))),
            ints: randomInts(r),
            f: pick(r, [0, -1, 1e30, Number.NaN, Number.POSITIVE_INFINITY, 0.5]),
            s: new TextEncoder().encode(pick(r, ['SAME_UPPER', 'VALID', 'NOTSET', 'nearest', 'x'])),
            ...(type === AT.TENSOR ? { t: create(TensorProtoSchema, { dataType: pick(r, DATA_TYPES), dims: randomInts(r), int64Data: randomInts(r) }) } : {}),
            ...(type === AT.GRAPH ? { g: { node: g.node.slice(0, 2), name: 'sub', output: g.output.slice(0, 1) } } : {}),
          }),
        );
      }
      break;
    case 12: // attribute type changed (ints read as int and so on)
      if (n && n.attribute.length) pick(r, n.attribute).type = pick(r, [AT.INT, AT.INTS, AT.FLOAT, AT.FLOATS, AT.STRING, AT.TENSOR, AT.UNDEFINED]);
      break;
    case 13: // a constant's values replaced by nasty int64s (shapes, axes, pads)
      if (t) {
        t.dataType = 7;
        const values = randomInts(r);
        t.int64Data = values;
        t.rawData = new Uint8Array(0);
        t.dims = r() < 0.5 ? [BigInt(values.length)] : randomInts(r);
      }
      break;
    case 14: // opset version
      if (m.opsetImport.length) m.opsetImport[0]!.version = BigInt(pick(r, [1, 6, 7, 9, 10, 11, 13, 17, 21, 99, 0, -1]));
      break;
    case 15: { // declared input/output shape
      const vi = pick(r, [...g.input, ...g.output, ...g.valueInfo].filter(Boolean));
      const tt = vi?.type?.value.case === 'tensorType' ? vi.type.value.value : undefined;
      if (tt?.shape) {
        if (r() < 0.3) tt.elemType = pick(r, DATA_TYPES);
        else if (tt.shape.dim.length) tt.shape.dim[int(r, tt.shape.dim.length)] = { value: r() < 0.5 ? { case: 'dimValue', value: BigInt(Math.trunc(pick(r, NASTY))) } : { case: 'dimParam', value: 'N' } } as never;
        else tt.shape.dim.push({ value: { case: 'dimValue', value: 0n } } as never);
      }
      break;
    }
    case 16: // outputs removed or pointed elsewhere
      if (g.output.length && r() < 0.5) g.output.splice(int(r, g.output.length), 1);
      else if (g.output.length) g.output[0]!.name = tensorName(m, r);
      break;
    case 17: // a node's inputs truncated or extended
      if (n) n.input = r() < 0.5 ? n.input.slice(0, int(r, n.input.length + 1)) : [...n.input, ...n.input];
      break;
    case 18: // graph inputs removed or duplicated
      if (g.input.length && r() < 0.5) g.input.splice(int(r, g.input.length), 1);
      else if (g.input.length) g.input.push(g.input[0]!);
      break;
    default: // float data poisoned
      if (t && t.dataType === 1 && t.rawData.length >= 4) {
        // Raw data an earlier mutation cut to a length that is no multiple of 4: poison its whole floats only.
        const raw = t.rawData.slice();
        const f = new Float32Array(raw.buffer, 0, raw.length >> 2);
        f[int(r, f.length)] = pick(r, [Number.NaN, Number.POSITIVE_INFINITY, -0, 3e38]);
        t.rawData = raw;
      }
  }
}

/** One byte-level mutation of a copy. */
function mutateBytes(b: Uint8Array, r: Rng): Uint8Array {
  const len = b.length;
  switch (int(r, 6)) {
    case 0: { // bit flips
      const out = b.slice();
      for (let k = 0, n = 1 + int(r, 8); k < n; k++) out[int(r, len)]! ^= 1 << int(r, 8);
      return out;
    }
    case 1: { // random bytes overwritten
      const out = b.slice();
      const at = int(r, len);
      for (let k = 0, n = 1 + int(r, 16); k < n && at + k < len; k++) out[at + k] = int(r, 256);
      return out;
    }
    case 2: // truncated
      return b.slice(0, int(r, len));
    case 3: { // a range removed
      const at = int(r, len);
      return new Uint8Array([...b.subarray(0, at), ...b.subarray(Math.min(len, at + 1 + int(r, 64)))]);
    }
    case 4: { // a range duplicated
      const at = int(r, len);
      const piece = b.subarray(at, Math.min(len, at + 1 + int(r, 256)));
      const out = new Uint8Array(len + piece.length);
      out.set(b.subarray(0, at));
      out.set(piece, at);
      out.set(b.subarray(at), at + piece.length);
      return out;
    }
    default: { // a varint-looking byte made large (lengths, dims)
      const out = b.slice();
      const at = int(r, len);
      out[at] = 0xff;
      if (at + 1 < len) out[at + 1] = pick(r, [0x7f, 0xff, 0x0f]);
      return out;
    }
  }
}

/** The mutated bytes of case `r` applied to `base`: structure mutations (60 %), then maybe byte mutations. */
export function mutate(base: Uint8Array, r: Rng): Uint8Array {
  let bytes = base;
  if (r() < 0.6) {
    const m = fromBinary(ModelProtoSchema, base);
    for (let k = 0, n = 1 + int(r, 3); k < n; k++) mutateStructure(m, r);
    try {
      bytes = toBinary(ModelProtoSchema, m);
      if (r() < 0.8) return bytes;
    } catch {
      // A mutation protobuf-es cannot encode: fall back to byte mutations of the original.
    }
  }
  for (let k = 0, n = 1 + int(r, 2); k < n; k++) bytes = mutateBytes(bytes, r);
  return bytes;
}
