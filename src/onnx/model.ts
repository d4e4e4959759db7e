import { clearField, create, fromBinary, isFieldSet, toBinary } from '@bufbuild/protobuf';
import { GraphProtoSchema, ModelProtoSchema, TensorProtoSchema, type ModelProto } from 'onnx-buf';
import { FileFormatError } from '../errors.js';
import { convertToFloat32 } from './precision.js';

export type { ModelProto } from 'onnx-buf';

/** Parses ONNX bytes; anything that is not a model with a graph becomes a FileFormatError naming the file. */
export function parseModel(bytes: Uint8Array, file = '<buffer>'): ModelProto {
  if (bytes.length === 0) throw new FileFormatError(file, 'file is empty', 'pass an ONNX model file (.onnx)');
  let model: ModelProto;
  try {
    model = fromBinary(ModelProtoSchema, bytes);
  } catch (e) {
    throw new FileFormatError(
      file,
      `not a valid ONNX model (${(e as Error).message}); the file is truncated or not ONNX`,
      'export the model again, e.g. with torch.onnx.export, and check the download is complete',
    );
  }
  if (!model.graph || model.graph.node.length === 0) {
    throw new FileFormatError(file, 'not an ONNX model: it has no graph nodes', 'pass an ONNX model file (.onnx)');
  }
  if (model.opsetImport.length === 0) {
    throw new FileFormatError(file, 'not an ONNX model: it declares no opset', 'pass an ONNX model file (.onnx)');
  }
  // Weights and activations in float16/bfloat16 are widened to float32, exactly; the note stays in the metadata.
  convertToFloat32(model);
  for (const t of model.graph.initializer) {
    if (t.dataLocation === 1) {
      throw new FileFormatError(
        file,
        `initializer '${t.name}' is stored as external data, which xsys does not load`,
        'save the model with all tensors inside the file (onnx.save(model, path, save_as_external_data=False))',
      );
    }
  }
  return model;
}

/** Protobuf wire tags (field number << 3 | wire type 2 = length-delimited). */
const TAG_MODEL_GRAPH = (7 << 3) | 2;
const TAG_GRAPH_INITIALIZER = (5 << 3) | 2;
const TAG_TENSOR_RAW_DATA = (9 << 3) | 2;
const EMPTY = new Uint8Array(0);

function varintLength(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

function writeVarint(out: Uint8Array, at: number, v: number): number {
  while (v >= 0x80) {
    out[at++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  out[at++] = v;
  return at;
}

/**
 * Serializes a model. Protobuf-es encodes `bytes` fields through a growing buffer, which is slow for the
 * hundreds of MB of raw weights a CNN carries; so the graph's initializers are written here: each tensor's small
 * fields by protobuf-es, its raw_data appended as one copy into a buffer allocated once at the final size. The bytes
 * are a valid ModelProto: protobuf allows fields in any order (the graph comes after the model's other fields,
 * initializers after the graph's nodes).
 */
export function serializeModel(model: ModelProto): Uint8Array {
  const graph = model.graph;
  if (!graph) return toBinary(ModelProtoSchema, model);
  const inits = graph.initializer;
  const parts: { meta: Uint8Array; raw: Uint8Array; size: number }[] = [];
  let head: Uint8Array;
  let body: Uint8Array;
  // The big fields are detached while protobuf-es encodes the rest, and restored whatever happens.
  try {
    model.graph = undefined;
    head = toBinary(ModelProtoSchema, model);
  } finally {
    model.graph = graph;
  }
  try {
    graph.initializer = [];
    body = toBinary(GraphProtoSchema, graph);
  } finally {
    graph.initializer = inits;
  }
  let graphSize = body.length;
  const rawField = TensorProtoSchema.field.rawData!;
  for (const t of inits) {
    const raw = isFieldSet(t, rawField) ? t.rawData : EMPTY;
    let meta: Uint8Array;
    if (raw.length === 0) meta = toBinary(TensorProtoSchema, t);
    else {
      // Unset (not emptied: proto2 would then write an empty raw_data, which ONNX Runtime reads as present).
      try {
        clearField(t, rawField);
        meta = toBinary(TensorProtoSchema, t);
      } finally {
        t.rawData = raw;
      }
    }
    const size = meta.length + (raw.length > 0 ? 1 + varintLength(raw.length) + raw.length : 0);
    parts.push({ meta, raw, size });
    graphSize += 1 + varintLength(size) + size;
  }
  const out = new Uint8Array(head.length + 1 + varintLength(graphSize) + graphSize);
  out.set(head, 0);
  let at = head.length;
  out[at++] = TAG_MODEL_GRAPH;
  at = writeVarint(out, at, graphSize);
  out.set(body, at);
  at += body.length;
  for (const { meta, raw, size } of parts) {
    out[at++] = TAG_GRAPH_INITIALIZER;
    at = writeVarint(out, at, size);
    out.set(meta, at);
    at += meta.length;
    if (raw.length > 0) {
      out[at++] = TAG_TENSOR_RAW_DATA;
      at = writeVarint(out, at, raw.length);
      out.set(raw, at);
      at += raw.length;
    }
  }
  if (at !== out.length) throw new Error(`serializeModel: wrote ${at} of ${out.length} bytes`);
  return out;
}

/** Deep copy, so that compiling never mutates the caller's model. */
export function cloneModel(model: ModelProto): ModelProto {
  return fromBinary(ModelProtoSchema, toBinary(ModelProtoSchema, model));
}

export function emptyModel(): ModelProto {
  return create(ModelProtoSchema, {});
}

/** The version of the default ONNX domain the model imports. */
export function defaultOpset(model: ModelProto): number {
  const entry = model.opsetImport.find((o) => o.domain === '' || o.domain === 'ai.onnx');
  return entry ? Number(entry.version) : 1;
}
