/**
 * The browser adapter of the runtime port: onnxruntime-web (WASM, or WebGPU where the browser has it). onnxruntime-web
 * runs one inference at a time — a run() that overlaps another (a user clicking through classes faster than they
 * compute) fails with "Session already started" — so every call queues here, in call order; one WebAssembly instance
 * serves every session, so the queue is global.
 */
import * as ort from 'onnxruntime-web';
import type { ModelProto } from 'onnx-buf';
import { RuntimeFailure } from '../errors.js';
import { serializeModel } from '../onnx/model.js';
import type { Feed } from '../runtime/feeds.js';
import type { ExplainRuntime, RuntimeSession } from '../runtime/port.js';
import type { Tensor } from '../runtime/tensor.js';

export type DeviceBackend = 'wasm' | 'webgpu';

let queue: Promise<unknown> = Promise.resolve();
function exclusive<T>(fn: () => Promise<T>): Promise<T> {
  const next = queue.then(fn, fn);
  queue = next.catch(() => undefined);
  return next;
}

function toOrt(v: Feed | Tensor): ort.Tensor {
  return 'dtype' in v ? new ort.Tensor(v.dtype, v.data, v.dims) : new ort.Tensor('float32', v.data, v.dims);
}

/** onnxruntime-web on one backend; on WebGPU MaxPool has no Indices output, so its backward routes by comparison. */
export function webRuntime(backend: DeviceBackend): ExplainRuntime {
  return {
    name: `onnxruntime-web (${backend})`,
    maxPoolRouting: backend === 'webgpu' ? 'compare' : 'indices',
    async createSession(model: ModelProto): Promise<RuntimeSession> {
      const bytes = serializeModel(model);
      let session: ort.InferenceSession;
      try {
        session = await exclusive(() => ort.InferenceSession.create(bytes, { executionProviders: [backend], graphOptimizationLevel: 'all', logSeverityLevel: 3 }));
      } catch (e) {
        throw new RuntimeFailure(`onnxruntime-web (${backend}) could not load the graph: ${(e as Error).message}`, backend === 'webgpu' ? 'try the WASM backend' : 'the model may use an operator onnxruntime-web does not support', e);
      }
      return {
        run: (feeds, outputs) =>
          exclusive(async () => {
            const ortFeeds: Record<string, ort.Tensor> = {};
            for (const [k, v] of Object.entries(feeds)) ortFeeds[k] = toOrt(v);
            let out: ort.InferenceSession.OnnxValueMapType;
            try {
              out = outputs ? await session.run(ortFeeds, [...outputs]) : await session.run(ortFeeds);
            } catch (e) {
              throw new RuntimeFailure(`onnxruntime-web failed while running: ${(e as Error).message}`, 'check that the input shape matches the model', e);
            }
            const result: Record<string, Tensor> = {};
            for (const [k, v] of Object.entries(out)) {
              const t = v as ort.Tensor;
              const data = t.location === 'cpu' ? t.data : await t.getData();
              result[k] = { data: data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>, Number), dims: [...t.dims] };
            }
            return result;
          }),
      };
    },
  };
}

/**
 * Where onnxruntime-web finds its .wasm files: a URL prefix (e.g. '/ort/') under which the app serves them itself,
 * so nothing is fetched from a CDN. Call before the first explanation.
 */
export function configureRuntime(options: { wasmPaths?: string; numThreads?: number }): void {
  if (options.wasmPaths !== undefined) ort.env.wasm.wasmPaths = options.wasmPaths;
  if (options.numThreads !== undefined) ort.env.wasm.numThreads = options.numThreads;
}
