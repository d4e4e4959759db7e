/**
 * Pruning by explaining (Yeom et al. 2021; Hatefi et al. 2024): each convolution channel's LRP relevance aggregated
 * over a reference set is its importance; the least relevant channels are removed structurally
 * (weight-surgery/prune-channels.ts), giving a smaller ONNX model. The baseline is magnitude pruning (the L1 norm of
 * each filter, Li et al. 2017). Both criteria rank the channels of each layer, and the same fraction of every layer
 * is removed, so the two are compared at equal compression.
 */
import type { ModelProto } from 'onnx-buf';
import type { Composite } from '../composites/types.js';
import { channelRelevanceRows } from '../concepts/relevance.js';
import { InvalidArgumentError } from '../errors.js';
import { explain } from '../methods/explain.js';
import type { ModelExplainer } from '../methods/explainer.js';
import type { Target } from '../methods/types.js';
import { decodeTensor } from '../onnx/tensor.js';
import { size, type Tensor } from '../runtime/tensor.js';
import { pruneChannels, type PruneResult } from '../weight-surgery/prune-channels.js';

export const PRUNE_CRITERIA = ['relevance', 'magnitude'] as const;
export type PruneCriterion = (typeof PRUNE_CRITERIA)[number];

/** The Conv nodes of a model with their output tensors and channel counts, in graph order. */
export function convLayers(model: ModelProto): { node: string; output: string; channels: number }[] {
  const inits = new Map(model.graph!.initializer.map((t) => [t.name, t]));
  return model.graph!.node
    .filter((n) => n.opType === 'Conv' && inits.has(n.input[1] ?? ''))
    .map((n) => ({ node: n.name || n.output[0]!, output: n.output[0]!, channels: Number(inits.get(n.input[1]!)!.dims[0]) }));
}

function slice(t: Tensor, start: number, end: number): Tensor {
  const per = size(t.dims) / t.dims[0]!;
  return { data: t.data.subarray(start * per, end * per), dims: [end - start, ...t.dims.slice(1)] };
}

/**
 * Mean relevance per channel of each layer (Conv output tensors) over the reference inputs, LRP for `target`. Each
 * sample's relevance at a layer is divided by its Σ|R| there first, so every sample weighs the same.
 */
export async function channelRelevance(mx: ModelExplainer, inputs: Tensor, layers: readonly string[], target: Target, options: { composite?: string | Composite; params?: Record<string, number>; batch?: number } = {}): Promise<Record<string, Float64Array>> {
  if (layers.length === 0) throw new InvalidArgumentError('layers', 'no layers given');
  const n = inputs.dims[0]!;
  const batch = options.batch ?? 64;
  const sums: Record<string, Float64Array> = {};
  for (let s = 0; s < n; s += batch) {
    const e = Math.min(n, s + batch);
    const t = Array.isArray(target) ? target.slice(s, e) : target;
    const ex = await explain(mx, slice(inputs, s, e), { method: 'lrp', composite: options.composite, params: options.params, target: t, relevanceAt: [...layers] });
    for (const l of layers) {
      const rows = channelRelevanceRows(ex.relevanceAt[l]!);
      const acc = (sums[l] ??= new Float64Array(rows.d));
      for (let i = 0; i < rows.n; i++) {
        let tot = 0;
        for (let c = 0; c < rows.d; c++) tot += Math.abs(rows.data[i * rows.d + c]!);
        if (tot > 0) for (let c = 0; c < rows.d; c++) acc[c]! += rows.data[i * rows.d + c]! / tot / n;
      }
    }
  }
  return sums;
}

/** L1 norm of each output filter of each Conv (by output tensor). */
export function filterMagnitudes(model: ModelProto): Record<string, Float64Array> {
  const inits = new Map(model.graph!.initializer.map((t) => [t.name, t]));
  const out: Record<string, Float64Array> = {};
  for (const n of model.graph!.node) {
    if (n.opType !== 'Conv' || !inits.has(n.input[1] ?? '')) continue;
    const w = decodeTensor(inits.get(n.input[1]!)!);
    const m = Number(w.dims[0]);
    const per = w.data.length / m;
    out[n.output[0]!] = Float64Array.from({ length: m }, (_, c) => {
      let s = 0;
      for (let j = 0; j < per; j++) s += Math.abs(Number(w.data[c * per + j]));
      return s;
    });
  }
  return out;
}

/** The `fraction` lowest-scored channels of every layer (rounded, at least one channel kept). */
export function lowestChannels(scores: Readonly<Record<string, ArrayLike<number>>>, fraction: number): Record<string, number[]> {
  if (!(fraction >= 0 && fraction < 1)) throw new InvalidArgumentError('--fraction', `must be in [0, 1), got ${fraction}`);
  const out: Record<string, number[]> = {};
  for (const [layer, s] of Object.entries(scores)) {
    const k = Math.min(s.length - 1, Math.round(fraction * s.length));
    out[layer] = Array.from({ length: s.length }, (_, i) => i).sort((a, b) => s[a]! - s[b]! || a - b).slice(0, k);
  }
  return out;
}

export interface CurvePoint {
  fraction: number;
  /** Share of the model's parameters removed. */
  compression: number;
  accuracy: number;
  parameters: number;
}

/**
 * Accuracy against compression for a channel criterion: for each fraction, the lowest-scored channels of every
 * layer are removed and the pruned model is evaluated (`accuracyOf`). `prune` removes other units (heads, neurons:
 * correction/prune-units.ts).
 */
export async function pruningCurve(model: ModelProto, scores: Readonly<Record<string, ArrayLike<number>>>, fractions: readonly number[], accuracyOf: (m: ModelProto) => Promise<number>, prune: (m: ModelProto, remove: Record<string, number[]>) => Omit<PruneResult, 'layers'> = pruneChannels): Promise<CurvePoint[]> {
  const out: CurvePoint[] = [];
  for (const f of fractions) {
    const r = prune(model, lowestChannels(scores, f));
    out.push({ fraction: f, compression: 1 - r.parametersAfter / r.parametersBefore, accuracy: await accuracyOf(r.model), parameters: r.parametersAfter });
  }
  return out;
}

/** The Conv whose output reaches `tensor` through channel-wise ops only (a conv layer's ReLU → the conv). */
export function convOf(model: ModelProto, tensor: string): { node: string; output: string } {
  const producers = new Map(model.graph!.node.flatMap((n) => n.output.map((o) => [o, n] as const)));
  let t = tensor;
  for (let steps = 0; steps < model.graph!.node.length; steps++) {
    const p = producers.get(t);
    if (!p) break;
    if (p.opType === 'Conv') return { node: p.name || p.output[0]!, output: p.output[0]! };
    if (!['Relu', 'LeakyRelu', 'Clip', 'Sigmoid', 'Tanh', 'BatchNormalization', 'Identity', 'Dropout', 'MaxPool', 'AveragePool'].includes(p.opType)) break;
    t = p.input[0]!;
  }
  throw new InvalidArgumentError('--layer', `'${tensor}' is not the output of a Conv (through channel-wise ops only)`, 'targeted pruning removes the channels of a convolution; use its output or its activation');
}

/**
 * Channels tied to an artefact: each channel's share of the CAV's evidence, mean over artefact inputs of
 * Σ_positions a_c ⊙ v_c minus the same over clean inputs (activations of `layer` flattened, v the CAV there).
 */
export function artefactChannelScores(artefact: { data: Float64Array; n: number; d: number }, clean: { data: Float64Array; n: number; d: number }, direction: ArrayLike<number>, channels: number): Float64Array {
  if (artefact.d !== direction.length || clean.d !== direction.length) throw new InvalidArgumentError('cav', `has ${direction.length} values, the activations ${artefact.d}`);
  if (artefact.d % channels !== 0) throw new InvalidArgumentError('channels', `${artefact.d} features are not ${channels} channels × positions`);
  const sp = artefact.d / channels;
  const out = new Float64Array(channels);
  const add = (p: { data: Float64Array; n: number; d: number }, sign: number) => {
    for (let i = 0; i < p.n; i++) for (let j = 0; j < p.d; j++) out[Math.floor(j / sp)]! += (sign * p.data[i * p.d + j]! * direction[j]!) / p.n;
  };
  add(artefact, 1);
  add(clean, -1);
  return out;
}
