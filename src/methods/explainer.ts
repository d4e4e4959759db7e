import type { ModelProto } from 'onnx-buf';
import { parseModel } from '../onnx/model.js';
import { readModel } from '../onnx/file.js';
import type { CompileOptions } from '../compiler/compile.js';
import { XsysError } from '../errors.js';
import { inputShapes, validateInput } from '../runtime/input.js';
import { nodeRuntime } from '../runtime/node.js';
import type { ExplainRuntime } from '../runtime/port.js';
import { size, type Tensor } from '../runtime/tensor.js';
import type { Dim } from '../ir/shapes.js';
import { ExplainSession, type CompileFn, type SessionCompiled, type Target } from './session.js';

/**
 * A model with one float input prepared for explaining on onnxruntime-node: the single-input face of an
 * ExplainSession (which holds the compiled explainers, sessions and caches), as explain() and the workbench use it.
 */
export class ModelExplainer {
  readonly inputName: string;
  readonly inputShape: Dim[] | undefined;
  readonly scoresName: string;

  constructor(
    /** The session everything runs through (shared with other front ends of the same model). */
    readonly session: ExplainSession,
  ) {
    const floats = session.floatInputs;
    if (floats.length !== 1) {
      throw new XsysError(`xsys explain needs a model with exactly one float32 input; this one has ${floats.length} (${session.inputs.map((i) => i.name).join(', ')})`, { exitCode: 3, hint: 'use compileExplainer() directly for models with several inputs' });
    }
    this.inputName = floats[0]!;
    this.inputShape = inputShapes(session.model)[this.inputName];
    this.scoresName = session.scoresName;
  }

  get model(): ModelProto {
    return this.session.model;
  }

  /**
   * `compile`: how explainers are compiled, `runtime`: where ONNX Runtime runs (defaults: in this thread; the server
   * passes both off its event loop, into worker threads).
   */
  static async load(source: string | Uint8Array | ModelProto, options: { threads?: number; compile?: CompileFn; runtime?: ExplainRuntime } = {}): Promise<ModelExplainer> {
    const model = typeof source === 'string' ? await readModel(source) : source instanceof Uint8Array ? parseModel(source) : source;
    return new ModelExplainer(new ExplainSession(model, options.runtime ?? nodeRuntime(options.threads), { compile: options.compile }));
  }

  validate(input: Tensor): void {
    validateInput(this.inputName, input, this.inputShape);
  }

  compiled(options: CompileOptions): Promise<SessionCompiled> {
    return this.session.compiled(options);
  }

  /** The tensor explained for a model output (default: the first): the logits before a terminal Softmax, else the output. */
  scoresNameOf(output?: string): string {
    return this.session.scoresNameOf(output);
  }

  /** Scores (logits before a terminal Softmax) of a batch for a model output (default: the first), with the plain forward graph. */
  scores(input: Tensor, output?: string): Promise<Tensor> {
    return this.session.scores({ [this.inputName]: input }, output);
  }

  /** The value of an intermediate tensor (e.g. Grad-CAM's layer activation) for a batch. */
  forwardTensor(input: Tensor, name: string): Promise<Tensor> {
    return this.session.forwardTensor({ [this.inputName]: input }, name);
  }

  /** Resolves targets against the scores (one row per sample): 'pred' → arg-max; numbers are range-checked. */
  resolveTargets(target: Target, scores: Tensor): number[] {
    const n = scores.dims[0]!;
    return this.session.resolveTargets(target, { data: scores.data, dims: [n, size(scores.dims) / n] });
  }

  /** One-hot seed of shape [N, classes]. */
  seed(targets: number[], scoresDims: number[]): Tensor {
    return this.session.seed(targets, scoresDims);
  }

  /** Runs a compiled explainer on a batch with the given targets. */
  runCompiled(c: SessionCompiled, input: Tensor, targets: number[], scoresDims: number[]): Promise<Record<string, Tensor>> {
    const dims = [input.dims[0]!, ...scoresDims.slice(1)];
    return this.session.runCompiled(c, { [this.inputName]: input }, this.seed(targets, dims));
  }
}
