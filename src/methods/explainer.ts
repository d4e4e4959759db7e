import type { ModelProto } from 'onnx-buf';
import { cloneModel, parseModel } from '../onnx/model.js';
import { readModel } from '../onnx/file.js';
import { convertToFloat32 } from '../onnx/precision.js';
import type { CompileOptions } from '../compiler/compile.js';
import { CompiledSessionCache, ProbeSessionCache, type CompiledSession } from './compiled-cache.js';
import { Graph } from '../ir/graph.js';
import { resolveExplainedOutput } from '../canonicalize/index.js';
import { InvalidArgumentError, XsysError } from '../errors.js';
import { inputShapes, runSession, validateInput } from '../runtime/session.js';
import { argmaxRows, size, type Tensor } from '../runtime/tensor.js';
import type { Dim } from '../ir/shapes.js';
import type { Target } from './types.js';

type Compiled = CompiledSession;

/**
 * A model prepared for explaining: compiled explainers and ORT sessions are created on first use and cached, so
 * explaining many inputs with one method compiles once.
 */
export class ModelExplainer {
  /** Forward sessions returning an explained scores tensor or a probed layer, one per tensor asked about. */
  private readonly probes: ProbeSessionCache;
  private scoresOf = new Map<string, string>();
  private readonly sessions: CompiledSessionCache;
  readonly inputName: string;
  readonly inputShape: Dim[] | undefined;
  readonly scoresName: string;

  private constructor(
    readonly model: ModelProto,
    readonly threads?: number,
  ) {
    // A ModelProto handed in directly may still be in half precision: probes, compiled graphs and inputs use float32.
    convertToFloat32(model);
    this.sessions = new CompiledSessionCache(model, threads);
    this.probes = new ProbeSessionCache(model, threads);
    const shapes = inputShapes(model);
    const g = new Graph(cloneModel(model));
    const floatInputs = g.inputs.filter((i) => i.type?.value.case === 'tensorType' && i.type.value.value.elemType === 1);
    if (floatInputs.length !== 1) {
      throw new XsysError(`xsys explain needs a model with exactly one float32 input; this one has ${floatInputs.length} (${g.inputs.map((i) => i.name).join(', ')})`, { exitCode: 3, hint: 'use compileExplainer() directly for models with several inputs' });
    }
    this.inputName = floatInputs[0]!.name;
    this.inputShape = shapes[this.inputName];
    this.scoresName = resolveExplainedOutput(g).scores;
  }

  static async load(source: string | Uint8Array | ModelProto, options: { threads?: number } = {}): Promise<ModelExplainer> {
    const model = typeof source === 'string' ? await readModel(source) : source instanceof Uint8Array ? parseModel(source) : source;
    return new ModelExplainer(model, options.threads);
  }

  validate(input: Tensor): void {
    validateInput(this.inputName, input, this.inputShape);
  }

  compiled(options: CompileOptions): Promise<Compiled> {
    return this.sessions.get(options);
  }

  /** The tensor explained for a model output (default: the first): the logits before a terminal Softmax, else the output. */
  scoresNameOf(output?: string): string {
    if (output === undefined) return this.scoresName;
    let name = this.scoresOf.get(output);
    if (!name) {
      name = resolveExplainedOutput(new Graph(cloneModel(this.model)), output).scores;
      this.scoresOf.set(output, name);
    }
    return name;
  }

  /** Scores (logits before a terminal Softmax) of a batch for a model output (default: the first), with the plain forward graph. */
  async scores(input: Tensor, output?: string): Promise<Tensor> {
    const name = this.scoresNameOf(output);
    return (await runSession(await this.probes.get(name), { [this.inputName]: input }))[name]!;
  }

  /** The value of an intermediate tensor (e.g. Grad-CAM's layer activation) for a batch. */
  async forwardTensor(input: Tensor, name: string): Promise<Tensor> {
    // The input itself is a tensor of the model too (Grad-CAM's default layer when a Flatten reads the input).
    if (name === this.inputName) return input;
    const session = this.probes.get(name, (g) => {
      if (!g.producer(name)) throw new InvalidArgumentError('--layer', `no tensor named '${name}' in the model`, 'see `xsys inspect` for tensor names');
    });
    return (await runSession(await session, { [this.inputName]: input }))[name]!;
  }

  /** Resolves targets against the scores: 'pred' → arg-max; numbers are range-checked. */
  resolveTargets(target: Target, scores: Tensor): number[] {
    const n = scores.dims[0]!;
    const classes = size(scores.dims) / n;
    const list = target === 'pred' ? argmaxRows(scores.data, n) : Array.isArray(target) ? target : new Array<number>(n).fill(target);
    if (list.length !== n) throw new InvalidArgumentError('--target', `${list.length} targets given for a batch of ${n}`);
    for (const t of list) {
      if (!Number.isInteger(t) || t < 0 || t >= classes) throw new InvalidArgumentError('--target', `class ${t} is out of range: the model has ${classes} classes (0–${classes - 1})`);
    }
    return list;
  }

  /** One-hot seed of shape [N, classes]. */
  seed(targets: number[], scoresDims: number[]): Tensor {
    const n = scoresDims[0]!;
    const classes = size(scoresDims) / n;
    const data = new Float32Array(n * classes);
    targets.forEach((t, i) => (data[i * classes + t] = 1));
    return { data, dims: [...scoresDims] };
  }

  /** Runs a compiled explainer on a batch with the given targets. */
  async runCompiled(c: Compiled, input: Tensor, targets: number[], scoresDims: number[]): Promise<Record<string, Tensor>> {
    const dims = [input.dims[0]!, ...scoresDims.slice(1)];
    return runSession(c.session, { [this.inputName]: input, [c.compiled.seedName]: this.seed(targets, dims) });
  }
}
