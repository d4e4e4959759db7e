import { devNull } from 'node:os';
import { join } from 'node:path';

import * as ort from 'onnxruntime-node';
import type { ModelProto } from 'onnx-buf';
import { serializeModel } from '../onnx/model.js';
import { RuntimeFailure } from '../errors.js';
import type { Tensor } from './tensor.js';

export interface SessionOptions {
  /** Threads inside one operator (ORT's intra-op pool). Default: ORT's choice (all cores). */
  threads?: number;
  /**
   * The graph is a compiled explainer (forward + backward pass). Its forward activations live until the backward
   * pass reaches them, and ORT's memory pattern (one block planned for all intermediates) then costs far more than
   * it saves: ResNet50 LRP at batch 8 peaked at 3.1 GB with it and 2.1 GB without, at about the same speed.
   * Weight prepacking is off as well: the backward pass multiplies by the same weights as the forward (a `Gemm` with
   * transB on the one initializer), and ORT would pack a private copy of each weight per kernel. ViT-B/16 at batch 1:
   * 904 MiB with prepacking, 580 MiB without (the forward session alone: 492 MiB), 5 % slower.
   */
  compiledGraph?: boolean;
}

/**
 * Where ONNX Runtime looks for external data of a model created from bytes: a path below the null device, which can
 * never exist. Without it ORT resolves a tensor's `location` against the process's working directory, and a model
 * could read the server's files. parseModel refuses external data already; this is the second lock.
 */
export const NO_EXTERNAL_DATA_DIR = join(devNull, 'xsys-no-external-data');

export function ortOptions(options: SessionOptions = {}): ort.InferenceSession.SessionOptions {
  const session: Record<string, string> = { model_external_initializers_file_folder_path: NO_EXTERNAL_DATA_DIR };
  if (options.compiledGraph) session.disable_prepacking = '1';
  return {
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    // Warnings only: ORT's notes about initializers it prunes are noise to a user.
    logSeverityLevel: 3,
    ...(options.threads ? { intraOpNumThreads: options.threads, interOpNumThreads: 1 } : {}),
    ...(options.compiledGraph ? { enableMemPattern: false } : {}),
    extra: { session },
  };
}

export async function createSession(model: ModelProto | Uint8Array, options: SessionOptions = {}): Promise<ort.InferenceSession> {
  const bytes = model instanceof Uint8Array ? model : serializeModel(model);
  try {
    return await ort.InferenceSession.create(bytes, ortOptions(options));
  } catch (e) {
    throw new RuntimeFailure(`ONNX Runtime could not load the graph: ${(e as Error).message}`, 'the model may use an operator or opset this onnxruntime version does not support', e);
  }
}

export async function runSession(session: ort.InferenceSession, feeds: Record<string, Tensor>): Promise<Record<string, Tensor>> {
  const ortFeeds: Record<string, ort.Tensor> = {};
  for (const [k, v] of Object.entries(feeds)) ortFeeds[k] = new ort.Tensor('float32', v.data, v.dims);
  let out: ort.InferenceSession.OnnxValueMapType;
  try {
    out = await session.run(ortFeeds);
  } catch (e) {
    throw new RuntimeFailure(`ONNX Runtime failed while running: ${(e as Error).message}`, 'check that the input shape matches the model', e);
  }
  const result: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(out)) {
    const t = v as ort.Tensor;
    result[k] = { data: t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as ArrayLike<number>), dims: [...t.dims] };
  }
  return result;
}

// Input checks are runtime-independent (shared with the browser's onnxruntime-web path); re-exported for callers here.
export { inputShapes, validateInput } from './input.js';
