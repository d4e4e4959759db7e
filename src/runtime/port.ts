/**
 * The runtime as a port: what an ExplainSession needs from ONNX Runtime — create a session for a model, run it on
 * named feeds. Node (onnxruntime-node, runtime/node.ts) and the browser (onnxruntime-web, browser/runtime.ts) are two
 * small adapters; everything above them (targets, seeds, caches, methods) is written once.
 */
import type { ModelProto } from 'onnx-buf';
import type { Feed } from './feeds.js';
import type { Tensor } from './tensor.js';

export interface RuntimeSession {
  /** Runs on named feeds; float outputs come back as float32 tensors. `outputs` limits what is fetched. */
  run(feeds: Readonly<Record<string, Feed | Tensor>>, outputs?: readonly string[]): Promise<Record<string, Tensor>>;
}

export interface ExplainRuntime {
  /** For messages: 'onnxruntime-node', 'onnxruntime-web (wasm)' … */
  readonly name: string;
  /**
   * A session for a model. `compiledGraph`: the model is a compiled explainer (forward + backward pass), which some
   * runtimes run better with other options (Node: no memory pattern, no prepacking; see runtime/session.ts).
   */
  createSession(model: ModelProto, options: { compiledGraph: boolean }): Promise<RuntimeSession>;
  /** How MaxPool's backward routes on this runtime ('compare' where MaxPool has no Indices output, e.g. WebGPU). */
  readonly maxPoolRouting?: 'indices' | 'compare';
}
