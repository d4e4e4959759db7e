/**
 * The session caches of an ExplainSession (methods/session.ts) on onnxruntime-node sessions, for Node code that runs
 * ORT sessions itself (concept statistics, CRP). Same caching and failure semantics; only the session type differs.
 */
import type * as ort from 'onnxruntime-node';
import type { ModelProto } from 'onnx-buf';
import { compileExplainer, type CompileOptions } from '../compiler/compile.js';
import type { Graph } from '../ir/graph.js';
import { createSession } from '../runtime/session.js';
import { CompiledCache, ProbeCache, type SessionCompiled } from './session.js';

export type CompiledSession = SessionCompiled<ort.InferenceSession>;

const nodeSessions = (threads: number | undefined) => (model: ModelProto, compiledGraph: boolean) => createSession(model, compiledGraph ? { threads, compiledGraph: true } : { threads });

/** Compiled explainers of one model with their ORT sessions, created on first use per set of compile options. */
export class CompiledSessionCache {
  private readonly cache: CompiledCache<ort.InferenceSession>;
  constructor(model: ModelProto, threads: number | undefined) {
    this.cache = new CompiledCache(model, nodeSessions(threads), async (m, o: CompileOptions) => compileExplainer(m, o));
  }

  get(options: CompileOptions): Promise<CompiledSession> {
    return this.cache.get(options);
  }
}

/** Sessions of the plain model that also return one of its tensors, created on first use per tensor. */
export class ProbeSessionCache {
  private readonly cache: ProbeCache<ort.InferenceSession>;
  constructor(model: ModelProto, threads: number | undefined) {
    this.cache = new ProbeCache(model, nodeSessions(threads));
  }

  get(tensor: string, check?: (g: Graph) => void): Promise<ort.InferenceSession> {
    return this.cache.get(tensor, check);
  }
}
