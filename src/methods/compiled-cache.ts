import type * as ort from 'onnxruntime-node';
import type { ModelProto } from 'onnx-buf';
import { compileExplainer, type CompiledExplainer, type CompileOptions } from '../compiler/compile.js';
import { cloneModel } from '../onnx/model.js';
import { Graph } from '../ir/graph.js';
import { createSession } from '../runtime/session.js';

export interface CompiledSession {
  compiled: CompiledExplainer;
  session: ort.InferenceSession;
  sessionMs: number;
}

/**
 * Compiled explainers of one model with their ORT sessions, created on first use per set of compile options.
 * A failed compile is forgotten, so a later call with the same options reports its error again instead of a stale
 * rejected promise.
 */
export class CompiledSessionCache {
  private readonly entries = new Map<string, Promise<CompiledSession>>();

  constructor(
    private readonly model: ModelProto,
    private readonly threads: number | undefined,
  ) {}

  get(options: CompileOptions): Promise<CompiledSession> {
    const key = JSON.stringify(options);
    let entry = this.entries.get(key);
    if (!entry) {
      entry = (async () => {
        const compiled = compileExplainer(this.model, options);
        const t0 = performance.now();
        const session = await createSession(compiled.model, { threads: this.threads, compiledGraph: true });
        return { compiled, session, sessionMs: performance.now() - t0 };
      })();
      this.entries.set(key, entry);
      entry.catch(() => this.entries.delete(key));
    }
    return entry;
  }
}

/**
 * Sessions of the plain model that also return one of its tensors (an explained scores tensor, a Grad-CAM layer),
 * created on first use per tensor. `check` may reject the tensor on the model's graph before a session is made.
 * A failed session is forgotten, as above.
 */
export class ProbeSessionCache {
  private readonly entries = new Map<string, Promise<ort.InferenceSession>>();

  constructor(
    private readonly model: ModelProto,
    private readonly threads: number | undefined,
  ) {}

  get(tensor: string, check?: (g: Graph) => void): Promise<ort.InferenceSession> {
    let entry = this.entries.get(tensor);
    if (!entry) {
      const m = cloneModel(this.model);
      const g = new Graph(m);
      check?.(g);
      if (!g.isGraphOutput(tensor)) g.addOutput(tensor);
      entry = createSession(m, { threads: this.threads });
      this.entries.set(tensor, entry);
      entry.catch(() => this.entries.delete(tensor));
    }
    return entry;
  }
}
