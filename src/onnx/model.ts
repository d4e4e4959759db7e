import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema, type ModelProto } from 'onnx-buf';
import { FileFormatError } from '../errors.js';

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

export function serializeModel(model: ModelProto): Uint8Array {
  return toBinary(ModelProtoSchema, model);
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
