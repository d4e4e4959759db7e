import type { ModelProto } from 'onnx-buf';
import { readModel } from '../onnx/file.js';
import { parseModel } from '../onnx/model.js';
import { size, type Tensor } from '../runtime/tensor.js';
import { InvalidArgumentError } from '../errors.js';
import { ModelExplainer } from '../methods/explainer.js';
import type { Composite } from '../composites/index.js';
import type { CompiledCrp } from '../compiler/crp.js';
import { validateChannels, type Condition, type ConditionalItem } from '../methods/conditions.js';
import type { CompileFn, CrpCompileFn, SessionCompiled } from '../methods/session.js';
import type { ExplainRuntime, RuntimeSession } from '../runtime/port.js';

export type { Condition, ConditionLayer } from '../methods/conditions.js';

export interface CrpOptions {
  /** Class explained, or 'pred' (the arg-max). Default 'pred'. */
  target?: number | 'pred';
  composite?: string | Composite;
  params?: Record<string, number>;
  /** Tensors below the lowest conditioned one whose per-channel relevance is returned too (sub-concepts). */
  record?: readonly string[];
  output?: string;
  /** Conditions per ONNX Runtime run (bounds memory: the batched backward holds this many copies). Default 16. */
  maxPerRun?: number;
}

/** One condition's conditional heatmap and channel relevances (batch 1). */
export type CrpItem = ConditionalItem;

export interface CrpResult {
  target: number;
  scores: Tensor;
  items: CrpItem[];
  /** ONNX Runtime runs made (one per group of conditions over the same tensors, per maxPerRun). */
  runs: number;
}

export const MAX_CONDITIONS_PER_RUN = 256;

type CrpSession = SessionCompiled<RuntimeSession, CompiledCrp>;

/**
 * Conditional heatmaps of a model (CRP), the concept analyses' face of an ExplainSession (whose conditional-relevance
 * hook the `crp` method uses too). Conditions over the same conditioned tensors share one compiled graph and are
 * evaluated together in one ONNX Runtime run: the forward pass once, the backward pass batched over them.
 */
export class CrpExplainer {
  private constructor(
    readonly model: ModelProto,
    readonly base: ModelExplainer,
  ) {}

  /**
   * `runtime`, `compile`, `compileCrp`: where ONNX Runtime runs and how graphs are compiled (defaults: this thread;
   * the server passes its worker-thread runtime and off-thread compilers).
   */
  static async load(source: string | Uint8Array | ModelProto, options: { threads?: number; runtime?: ExplainRuntime; compile?: CompileFn; compileCrp?: CrpCompileFn } = {}): Promise<CrpExplainer> {
    const model = typeof source === 'string' ? await readModel(source) : source instanceof Uint8Array ? parseModel(source) : source;
    return CrpExplainer.of(await ModelExplainer.load(model, options));
  }

  /** The CRP face of a prepared model (sharing its sessions and caches). */
  static of(base: ModelExplainer): CrpExplainer {
    return new CrpExplainer(base.model, base);
  }

  /** The compiled CRP graph and session for conditioning these tensors (cached). */
  compiled(conditioned: readonly string[], options: Pick<CrpOptions, 'composite' | 'params' | 'record' | 'output'> = {}): Promise<CrpSession> {
    return this.base.session.compiledCrp({ conditioned, record: options.record, composite: options.composite, params: options.params, output: options.output });
  }

  /** Conditional heatmaps and channel relevances of one input (batch 1) for each condition. */
  async explain(input: Tensor, conditions: readonly Condition[], options: CrpOptions = {}): Promise<CrpResult> {
    this.base.validate(input);
    if (input.dims[0] !== 1) throw new InvalidArgumentError('input', `CRP explains one input at a time; got a batch of ${input.dims[0]}`);
    if (conditions.length === 0) throw new InvalidArgumentError('conditions', 'no conditions given');
    const perRun = options.maxPerRun ?? 16;
    if (!Number.isInteger(perRun) || perRun < 1 || perRun > MAX_CONDITIONS_PER_RUN) throw new InvalidArgumentError('maxPerRun', `must be an integer in 1…${MAX_CONDITIONS_PER_RUN}`);
    const scores = await this.base.scores(input, options.output);
    const [target] = this.base.resolveTargets(options.target ?? 'pred', scores);
    const groups = new Map<string, number[]>();
    conditions.forEach((c, i) => {
      if (c.length === 0) throw new InvalidArgumentError('conditions', `condition ${i} conditions no layer`);
      const key = JSON.stringify(c.map((l) => l.tensor));
      groups.set(key, [...(groups.get(key) ?? []), i]);
    });
    const items = new Array<CrpItem>(conditions.length);
    let runs = 0;
    for (const [key, members] of groups) {
      const tensors = JSON.parse(key) as string[];
      const compiled = await this.compiled(tensors, options);
      for (const c of members) validateChannels(conditions[c]!, compiled.compiled.channelsOf, c);
      const seed = this.base.seed([target!], [1, ...scores.dims.slice(1)]);
      for (let start = 0; start < members.length; start += perRun) {
        const chunk = members.slice(start, start + perRun);
        const out = await this.base.session.conditional({ [this.base.inputName]: input }, seed, chunk.map((c) => conditions[c]!), { compiled });
        runs++;
        chunk.forEach((c, k) => (items[c] = out[k]!));
      }
    }
    return { target: target!, scores, items, runs };
  }

  /**
   * One condition on a batch of inputs with a target each (reference samples: where does concept c show on each of
   * them): one run, B rows.
   */
  async heatmapsFor(inputs: Tensor, targets: readonly number[], condition: Condition, options: Omit<CrpOptions, 'target' | 'record' | 'maxPerRun'> = {}): Promise<Tensor> {
    this.base.validate(inputs);
    const n = inputs.dims[0]!;
    if (targets.length !== n) throw new InvalidArgumentError('targets', `${targets.length} targets for ${n} inputs`);
    if (condition.length === 0) throw new InvalidArgumentError('conditions', 'the condition conditions no layer');
    const compiled = await this.compiled(condition.map((l) => l.tensor), options);
    validateChannels(condition, compiled.compiled.channelsOf, 0);
    const first = await this.base.scores({ data: inputs.data.subarray(0, inputs.data.length / n), dims: [1, ...inputs.dims.slice(1)] }, options.output);
    const classes = size(first.dims);
    for (const t of targets) if (!Number.isInteger(t) || t < 0 || t >= classes) throw new InvalidArgumentError('targets', `class ${t} is out of range (0–${classes - 1})`);
    const [item] = await this.base.session.conditional({ [this.base.inputName]: inputs }, this.base.seed([...targets], [n, classes]), [condition], { compiled });
    return item!.heatmap;
  }
}
