/**
 * Concept relevance of one prediction: how much relevance each channel ("concept") of a layer carries, and — the
 * attribution graph of CRP — how a concept's relevance splits over the channels of a lower layer. The per-channel
 * vectors are the interface other analyses (SpRAy/PCX on concept relevances) build on.
 */
import type { Tensor } from '../runtime/tensor.js';
import { InvalidArgumentError } from '../errors.js';
import type { Composite } from '../composites/index.js';
import type { CrpExplainer } from './crp.js';
import { explain } from '../methods/explain.js';
import type { ModelExplainer } from '../methods/explainer.js';
import type { Target } from '../methods/types.js';

export interface ChannelRelevance {
  channel: number;
  /** Relevance of the channel, summed over space. */
  relevance: number;
  /** relevance / Σ_c |relevance_c| (zennit-crp's abs_norm): in [−1, 1], the |shares| sum to 1. */
  share: number;
}

export interface ConceptRelevance {
  layer: string;
  target: number;
  /** Σ_c relevance_c: the relevance arriving at the layer. */
  total: number;
  /** Raw per-channel relevance in channel order (the vector other analyses consume). */
  vector: Float32Array;
  /** All channels, most relevant first (ties: lower channel first). */
  channels: ChannelRelevance[];
}

export interface ConceptOptions {
  target?: number | 'pred';
  composite?: string | Composite;
  params?: Record<string, number>;
  output?: string;
}

/** Sorts a per-channel relevance vector into ranked concepts with their shares. */
export function rankChannels(vector: ArrayLike<number>): { total: number; channels: ChannelRelevance[] } {
  let total = 0;
  let abs = 0;
  for (let c = 0; c < vector.length; c++) {
    total += vector[c]!;
    abs += Math.abs(vector[c]!);
  }
  const channels = Array.from({ length: vector.length }, (_, c) => ({ channel: c, relevance: vector[c]!, share: abs > 0 ? vector[c]! / abs : 0 }));
  channels.sort((a, b) => b.relevance - a.relevance || a.channel - b.channel);
  return { total, channels };
}

/**
 * Every channel's relevance at `layer` for one input (batch 1): LRP from the target down to the layer. Computed by
 * the CRP graph conditioned on the layer (its stage before any mask), so the same compiled graph then gives the
 * concepts' conditional heatmaps.
 */
export async function conceptRelevance(crp: CrpExplainer, input: Tensor, layer: string, options: ConceptOptions = {}): Promise<ConceptRelevance> {
  const r = await crp.explain(input, [[{ tensor: layer, channels: [0] }]], options);
  const vector = r.items[0]!.channelRelevance[layer]!;
  return { layer, target: r.target, vector, ...rankChannels(vector) };
}

export interface SubConcepts {
  layer: string;
  channel: number;
  lower: string;
  target: number;
  /** The concept's own relevance at `layer`. */
  relevance: number;
  /** Relevance flowing from the concept into each channel of `lower` (exclude_parallel), in channel order. */
  vector: Float32Array;
  /** Lower channels, most relevant first; shares relative to Σ |vector|. */
  channels: ChannelRelevance[];
  total: number;
}

/**
 * The attribution graph one step down: relevance of concept `channel` of `layer`, propagated (conditioned on that
 * channel alone) to `lower`, per lower channel. With conserving rules and `lower` a cut between `layer` and the
 * input, the lower channels' relevances sum to the concept's relevance. Several concepts in one run.
 */
export async function subConcepts(crp: CrpExplainer, input: Tensor, layer: string, channels: readonly number[], lower: string, options: ConceptOptions = {}): Promise<SubConcepts[]> {
  if (channels.length === 0) throw new InvalidArgumentError('channels', 'no concept channels given');
  if (lower === layer) throw new InvalidArgumentError('lower', 'the lower layer must differ from the concept layer');
  const r = await crp.explain(input, channels.map((c) => [{ tensor: layer, channels: [c] }]), { ...options, record: [lower] });
  return r.items.map((item, k) => {
    const vector = item.recordRelevance[lower]!;
    return { layer, channel: channels[k]!, lower, target: r.target, relevance: item.channelRelevance[layer]![channels[k]!]!, vector, ...rankChannels(vector) };
  });
}

/**
 * Per-sample channel relevance of a relevance tensor [N, C, ...spatial]: each channel summed over space — the same
 * reduction the CRP graph makes for `conceptRelevance`, applied to a batch. A [N, C] tensor (a dense layer) passes
 * through. Rows are the concept-relevance vectors PCX and other dataset analyses consume.
 */
export function channelRelevanceRows(t: Tensor): { data: Float64Array; n: number; d: number } {
  if (t.dims.length < 2) throw new InvalidArgumentError('layer', `relevance of shape [${t.dims.join(', ')}] has no channel axis`, 'pick a layer whose output is [N, C, …]');
  const n = t.dims[0]!;
  const c = t.dims[1]!;
  const sp = t.dims.slice(2).reduce((a, b) => a * b, 1);
  const data = new Float64Array(n * c);
  for (let i = 0; i < n; i++) {
    for (let ch = 0; ch < c; ch++) {
      let s = 0;
      const o = (i * c + ch) * sp;
      for (let j = 0; j < sp; j++) s += t.data[o + j]!;
      data[i * c + ch] = s;
    }
  }
  return { data, n, d: c };
}

export interface ConceptVectors {
  /** Concept-relevance vectors, one row per input (row-major n × d, d = channels of the layer). */
  vectors: { data: Float64Array; n: number; d: number };
  /** The explained class per input. */
  targets: number[];
  /** The input relevance of the same LRP pass, shaped like the inputs. */
  attribution: Tensor;
  /** The model's scores [N, classes]. */
  scores: Tensor;
}

/**
 * Concept-relevance vectors of a batch: LRP of every input for its target down to `layer` and each channel's
 * relevance there (`channelRelevanceRows`). Row i equals `conceptRelevance(crp, input_i, layer).vector` for the same
 * composite — one batched run instead of one CRP run per input, and the input heatmaps come with it.
 */
export async function conceptVectors(mx: ModelExplainer, inputs: Tensor, layer: string, target: Target, options: { composite?: string; params?: Record<string, number> } = {}): Promise<ConceptVectors> {
  const e = await explain(mx, inputs, { method: 'lrp', composite: options.composite, params: options.params, target, relevanceAt: [layer] });
  const at = e.relevanceAt[layer];
  if (!at) throw new InvalidArgumentError('layer', `no relevance at '${layer}'`);
  return { vectors: channelRelevanceRows(at), targets: e.targets, attribution: e.attribution, scores: e.scores };
}
