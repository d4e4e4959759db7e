import type * as ort from 'onnxruntime-node';
import type { ModelProto } from 'onnx-buf';
import { readModel } from '../onnx/file.js';
import { parseModel } from '../onnx/model.js';
import { createSession, runSession } from '../runtime/session.js';
import { size, type Tensor } from '../runtime/tensor.js';
import { InvalidArgumentError } from '../errors.js';
import { ModelExplainer } from '../methods/explainer.js';
import type { Composite } from '../composites/index.js';
import { compileCrp, type CompiledCrp } from './crp-compile.js';

/** One conditioned layer: the tensor (a layer output with channels on axis 1) and the channels kept there. */
export interface ConditionLayer {
  tensor: string;
  channels: readonly number[];
}

/** A CRP condition: conditioned layers from the highest (nearest the output) to the lowest. */
export type Condition = readonly ConditionLayer[];

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

export interface CrpItem {
  condition: Condition;
  /** Input relevance of this condition, shaped like the input [1, …]. */
  heatmap: Tensor;
  /** Per conditioned tensor: relevance per channel (summed over space) before that tensor's own mask. */
  channelRelevance: Record<string, Float32Array>;
  /** Per recorded tensor: relevance per channel. */
  recordRelevance: Record<string, Float32Array>;
}

export interface CrpResult {
  target: number;
  scores: Tensor;
  items: CrpItem[];
  /** ONNX Runtime runs made (one per group of conditions over the same tensors, per maxPerRun). */
  runs: number;
}

export const MAX_CONDITIONS_PER_RUN = 256;

interface CrpSession {
  compiled: CompiledCrp;
  session: ort.InferenceSession;
}

/**
 * Conditional heatmaps of a model (CRP). Conditions over the same conditioned tensors share one compiled graph and
 * are evaluated together in one ONNX Runtime run: the forward pass once, the backward pass batched over them.
 */
export class CrpExplainer {
  private readonly sessions = new Map<string, Promise<CrpSession>>();

  private constructor(
    readonly model: ModelProto,
    readonly base: ModelExplainer,
    readonly threads?: number,
  ) {}

  static async load(source: string | Uint8Array | ModelProto, options: { threads?: number } = {}): Promise<CrpExplainer> {
    const model = typeof source === 'string' ? await readModel(source) : source instanceof Uint8Array ? parseModel(source) : source;
    return new CrpExplainer(model, await ModelExplainer.load(model, options), options.threads);
  }

  /** The compiled CRP graph and session for conditioning these tensors (cached). */
  compiled(conditioned: readonly string[], options: Pick<CrpOptions, 'composite' | 'params' | 'record' | 'output'> = {}): Promise<CrpSession> {
    const key = JSON.stringify([conditioned, options.record ?? [], options.composite ?? null, options.params ?? {}, options.output ?? null]);
    let entry = this.sessions.get(key);
    if (!entry) {
      entry = (async () => {
        const compiled = compileCrp(this.model, { conditioned, record: options.record, composite: options.composite, params: options.params, output: options.output });
        return { compiled, session: await createSession(compiled.model, { threads: this.threads, compiledGraph: true }) };
      })();
      this.sessions.set(key, entry);
      entry.catch(() => this.sessions.delete(key));
    }
    return entry;
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
      const { compiled, session } = await this.compiled(tensors, options);
      for (const c of members) validateChannels(conditions[c]!, compiled.channelsOf, c);
      for (let start = 0; start < members.length; start += perRun) {
        const chunk = members.slice(start, start + perRun);
        const out = await this.runChunk(compiled, session, input, target!, chunk.map((c) => conditions[c]!), scores.dims);
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
    const { compiled, session } = await this.compiled(condition.map((l) => l.tensor), options);
    validateChannels(condition, compiled.channelsOf, 0);
    const first = await this.base.scores({ data: inputs.data.subarray(0, inputs.data.length / n), dims: [1, ...inputs.dims.slice(1)] }, options.output);
    const classes = size(first.dims);
    for (const t of targets) if (!Number.isInteger(t) || t < 0 || t >= classes) throw new InvalidArgumentError('targets', `class ${t} is out of range (0–${classes - 1})`);
    const feeds: Record<string, Tensor> = { [compiled.inputName]: inputs, [compiled.seedName]: this.base.seed([...targets], [n, classes]) };
    compiled.masks.forEach((m, j) => {
      const data = new Float32Array(m.channels);
      for (const ch of condition[j]!.channels) data[ch] = 1;
      feeds[m.input] = { data, dims: [1, m.channels] };
    });
    return (await runSession(session, feeds))[compiled.heatmapName]!;
  }

  private async runChunk(compiled: CompiledCrp, session: ort.InferenceSession, input: Tensor, target: number, conds: readonly Condition[], scoresDims: number[]): Promise<CrpItem[]> {
    const K = conds.length;
    const feeds: Record<string, Tensor> = { [compiled.inputName]: input, [compiled.seedName]: this.base.seed([target], [1, ...scoresDims.slice(1)]) };
    compiled.masks.forEach((m, j) => {
      const data = new Float32Array(K * m.channels);
      conds.forEach((c, k) => {
        for (const ch of c[j]!.channels) data[k * m.channels + ch] = 1;
      });
      feeds[m.input] = { data, dims: [K, m.channels] };
    });
    const out = await runSession(session, feeds);
    const hm = out[compiled.heatmapName]!;
    const per = size(hm.dims) / K;
    return conds.map((condition, k) => {
      const channelRelevance: Record<string, Float32Array> = {};
      compiled.masks.forEach((m, j) => {
        const t = out[compiled.channelRelevance[m.tensor]!]!;
        // The highest tensor's relevance comes before any mask: one row, shared by all conditions.
        const row = j === 0 ? 0 : k;
        channelRelevance[m.tensor] = t.data.slice(row * m.channels, (row + 1) * m.channels);
      });
      const recordRelevance: Record<string, Float32Array> = {};
      for (const [t, name] of Object.entries(compiled.recordRelevance)) {
        const c = compiled.channelsOf[t]!;
        recordRelevance[t] = out[name]!.data.slice(k * c, (k + 1) * c);
      }
      return { condition, heatmap: { data: hm.data.slice(k * per, (k + 1) * per), dims: [1, ...hm.dims.slice(1)] }, channelRelevance, recordRelevance };
    });
  }
}

function validateChannels(c: Condition, channelsOf: Record<string, number>, index: number): void {
  for (const l of c) {
    const n = channelsOf[l.tensor]!;
    if (l.channels.length === 0) throw new InvalidArgumentError('conditions', `condition ${index}: no channels given for '${l.tensor}'`);
    for (const ch of l.channels) {
      if (!Number.isInteger(ch) || ch < 0 || ch >= n) throw new InvalidArgumentError('conditions', `condition ${index}: channel ${ch} of '${l.tensor}' is out of range (it has ${n} channels, 0–${n - 1})`);
    }
  }
}
