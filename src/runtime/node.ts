/** The Node adapter of the runtime port: onnxruntime-node sessions with xsys's session options. */
import * as ort from 'onnxruntime-node';
import type { ModelProto } from 'onnx-buf';
import { RuntimeFailure } from '../errors.js';
import type { Feed } from './feeds.js';
import type { ExplainRuntime, RuntimeSession } from './port.js';
import { createSession } from './session.js';
import type { Tensor } from './tensor.js';

/** onnxruntime-node with `threads` intra-op threads (default: ORT's choice, all cores). */
export function nodeRuntime(threads?: number): ExplainRuntime {
  return {
    name: 'onnxruntime-node',
    async createSession(model: ModelProto, options: { compiledGraph: boolean }): Promise<RuntimeSession> {
      const session = await createSession(model, { threads, compiledGraph: options.compiledGraph });
      return { run: (feeds, outputs) => runFeeds(session, feeds, outputs ? [...outputs] : undefined) };
    },
  };
}

export function toOrt(feed: Feed | Tensor): ort.Tensor {
  if (!('dtype' in feed)) return new ort.Tensor('float32', feed.data, feed.dims);
  return new ort.Tensor(feed.dtype, feed.data, feed.dims);
}

/** Runs a session on mixed-dtype feeds; float outputs come back as float32 tensors. */
export async function runFeeds(session: ort.InferenceSession, feeds: Record<string, Feed | Tensor>, outputs?: string[]): Promise<Record<string, Tensor>> {
  const ortFeeds: Record<string, ort.Tensor> = {};
  for (const [k, v] of Object.entries(feeds)) ortFeeds[k] = toOrt(v);
  let out: ort.InferenceSession.OnnxValueMapType;
  try {
    out = outputs ? await session.run(ortFeeds, outputs) : await session.run(ortFeeds);
  } catch (e) {
    throw new RuntimeFailure(`ONNX Runtime failed while running: ${(e as Error).message}`, 'check that the inputs match the model (names, dtypes, shapes)', e);
  }
  const result: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(out)) {
    const t = v as ort.Tensor;
    result[k] = { data: t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as ArrayLike<number>, Number), dims: [...t.dims] };
  }
  return result;
}
