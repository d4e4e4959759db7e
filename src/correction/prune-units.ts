/**
 * Pruning by explaining beyond CNN channels: attention heads and MLP neurons of transformers (Hatefi et al. 2024
 * prune ViT heads and neurons by AttnLRP relevance), one interface for the three granularities, and the tuning of the
 * composite's parameters for pruning: Hatefi et al. pick the LRP parameters that keep the pruned model most accurate,
 * so a small grid of composites is scored on a validation split at the requested compression and the best kept.
 *
 * A head's relevance is the sum of the relevance on its slice of the attention output (the output projection's
 * input, [batch, tokens, heads·dh]); a neuron's, the sum over tokens of the relevance of the MLP's hidden activation
 * (the second Linear's input). Each sample's relevance at a layer is divided by its Σ|R| over the units first, so
 * every sample weighs the same (as channelRelevance does for channels).
 */
import type { ModelProto } from 'onnx-buf';
import { channelRelevance, convLayers, filterMagnitudes, lowestChannels } from './prune.js';
import { namedComposite } from '../composites/named.js';
import type { Composite } from '../composites/types.js';
import { InvalidArgumentError } from '../errors.js';
import { Graph } from '../ir/graph.js';
import { explain } from '../methods/explain.js';
import { ModelExplainer } from '../methods/explainer.js';
import type { Target } from '../methods/types.js';
import { argmaxRows, size, type Tensor } from '../runtime/tensor.js';
import { pruneChannels } from '../weight-surgery/prune-channels.js';
import { findAttention, findMlps, pruneTransformer, transformerMagnitudes } from '../weight-surgery/prune-transformer.js';

export const PRUNE_GRANULARITIES = ['channels', 'heads', 'neurons'] as const;
export type PruneGranularity = (typeof PRUNE_GRANULARITIES)[number];

/** A prunable layer: the tensor its scores are keyed by, its node, how many units it has and their width there. */
export interface PrunableLayer {
  tensor: string;
  node: string;
  units: number;
  /** Features per unit on the tensor's last axis (head size; 1 for neurons); channels sit on axis 1 instead. */
  width: number;
}

export function prunableLayers(model: ModelProto, granularity: PruneGranularity): PrunableLayer[] {
  if (granularity === 'channels') return convLayers(model).map((c) => ({ tensor: c.output, node: c.node, units: c.channels, width: 1 }));
  const g = new Graph(model);
  if (granularity === 'heads') return findAttention(g).map((a) => ({ tensor: a.tensor, node: a.node, units: a.heads, width: a.headDim }));
  return findMlps(g).map((m) => ({ tensor: m.tensor, node: m.node, units: m.neurons, width: 1 }));
}

/** The layers named (by tensor or node), or all of them; an unknown name is an error listing the known ones. */
export function selectLayers(model: ModelProto, granularity: PruneGranularity, names?: readonly string[]): PrunableLayer[] {
  const all = prunableLayers(model, granularity);
  if (all.length === 0) throw new InvalidArgumentError('--granularity', `no ${granularity === 'channels' ? 'Conv' : granularity === 'heads' ? 'attention' : 'MLP'} layers recognised in the model`, granularity === 'channels' ? 'use --granularity heads or neurons for a transformer' : 'heads: attention with separate q/k/v Linears and view(b, t, heads, head_dim); neurons: Linear → element-wise → Linear');
  if (!names) return all;
  return names.map((n) => {
    const l = all.find((x) => x.tensor === n || x.node === n);
    const what = granularity === 'channels' ? 'Conv node or Conv output' : granularity === 'heads' ? 'attention output or output projection' : 'MLP hidden tensor or first Linear';
    if (!l) throw new InvalidArgumentError('--layers', `no ${what} named '${n}'`, `layers: ${all.map((x) => x.node).join(', ')}`);
    return l;
  });
}

/**
 * Per-sample relevance of each unit: `t` is [n, …, units·width] (heads, neurons: summed over every axis but the first
 * and the last, then over each unit's `width` features of the last axis).
 */
export function unitRelevanceRows(t: Tensor, units: number, width: number): { data: Float64Array; n: number; d: number } {
  const n = t.dims[0]!;
  const last = t.dims.at(-1)!;
  if (last !== units * width) throw new InvalidArgumentError('layer', `relevance has ${last} features on its last axis, not ${units} units × ${width}`);
  const per = size(t.dims) / n;
  const data = new Float64Array(n * units);
  for (let i = 0; i < n; i++) for (let j = 0; j < per; j++) data[i * units + Math.floor((j % last) / width)]! += t.data[i * per + j]!;
  return { data, n, d: units };
}

function slice(t: Tensor, start: number, end: number): Tensor {
  const per = size(t.dims) / t.dims[0]!;
  return { data: t.data.subarray(start * per, end * per), dims: [end - start, ...t.dims.slice(1)] };
}

export interface RelevanceOptions {
  /** Composite name, JSON file or object; default attnlrp for heads and neurons, epsilon-plus-flat for channels. */
  composite?: string | Composite;
  params?: Record<string, number>;
  batch?: number;
}

/** Mean normalised relevance of each unit of each layer over the reference inputs, LRP for `target`. */
export async function unitRelevance(mx: ModelExplainer, inputs: Tensor, layers: readonly PrunableLayer[], granularity: PruneGranularity, target: Target, options: RelevanceOptions = {}): Promise<Record<string, Float64Array>> {
  if (granularity === 'channels') return channelRelevance(mx, inputs, layers.map((l) => l.tensor), target, options);
  if (layers.length === 0) throw new InvalidArgumentError('layers', 'no layers given');
  const n = inputs.dims[0]!;
  const batch = options.batch ?? 64;
  const composite = options.composite ?? 'attnlrp';
  const sums: Record<string, Float64Array> = {};
  for (let s = 0; s < n; s += batch) {
    const e = Math.min(n, s + batch);
    const t = Array.isArray(target) ? target.slice(s, e) : target;
    const ex = await explain(mx, slice(inputs, s, e), { method: 'lrp', composite, params: options.params, target: t, relevanceAt: layers.map((l) => l.tensor) });
    for (const l of layers) {
      const rows = unitRelevanceRows(ex.relevanceAt[l.tensor]!, l.units, l.width);
      const acc = (sums[l.tensor] ??= new Float64Array(rows.d));
      for (let i = 0; i < rows.n; i++) {
        let tot = 0;
        for (let c = 0; c < rows.d; c++) tot += Math.abs(rows.data[i * rows.d + c]!);
        if (tot > 0) for (let c = 0; c < rows.d; c++) acc[c]! += rows.data[i * rows.d + c]! / tot / n;
      }
    }
  }
  return sums;
}

/** L1 norm of each unit's weights: filters (channels), q/k/v columns + output rows (heads), in column + out row (neurons). */
export function unitMagnitudes(model: ModelProto, granularity: PruneGranularity, layers?: readonly PrunableLayer[]): Record<string, Float64Array> {
  const all = granularity === 'channels' ? filterMagnitudes(model) : transformerMagnitudes(model, granularity);
  return layers ? Object.fromEntries(layers.map((l) => [l.tensor, all[l.tensor]!])) : all;
}

export interface UnitPruneResult {
  model: ModelProto;
  layers: { node: string; removed: number[]; kept: number[] }[];
  parametersBefore: number;
  parametersAfter: number;
}

/** Removes the given units (by layer tensor or node) at one granularity. */
export function pruneUnits(model: ModelProto, granularity: PruneGranularity, remove: Readonly<Record<string, readonly number[]>>): UnitPruneResult {
  if (granularity === 'channels') return pruneChannels(model, remove);
  return pruneTransformer(model, { [granularity]: remove });
}

/** Removes the `fraction` lowest-scored units of every scored layer. */
export function pruneLowest(model: ModelProto, granularity: PruneGranularity, scores: Readonly<Record<string, ArrayLike<number>>>, fraction: number): UnitPruneResult {
  return pruneUnits(model, granularity, lowestChannels(scores, fraction));
}

/** Top-1 accuracy of a model on labelled inputs (batched forward runs). */
export async function accuracyOf(model: ModelProto | ModelExplainer, inputs: Tensor, labels: readonly number[], batch = 500): Promise<number> {
  const mx = model instanceof ModelExplainer ? model : await ModelExplainer.load(model);
  const n = labels.length;
  let ok = 0;
  for (let s = 0; s < n; s += batch) {
    const e = Math.min(n, s + batch);
    const sc = await mx.scores(slice(inputs, s, e));
    argmaxRows(sc.data, e - s).forEach((p, k) => (ok += p === labels[s + k] ? 1 : 0));
  }
  return ok / n;
}

/** A composite of a tuning grid, with the label its results are reported under. */
export interface GridCandidate {
  label: string;
  composite: Composite;
}

/**
 * A tuning grid: `;`-separated composites, each `name` or `name(k=v,…)` with the composite's own parameters
 * (epsilon, gamma …) — plus `dense-gamma=γ`, which puts the Gamma rule with γ on every dense and conv layer (AttnLRP
 * has no γ of its own; LXT's ViT example uses γ = 0.25 there).
 */
export function parseGrid(spec: string): GridCandidate[] {
  const out: GridCandidate[] = [];
  for (const raw of spec.split(';').map((s) => s.trim()).filter(Boolean)) {
    const m = /^([\w.-]+)(?:\((.*)\))?$/.exec(raw);
    if (!m) throw new InvalidArgumentError('--grid', `'${raw}' is not 'composite' or 'composite(k=v,…)'`);
    const params: Record<string, number> = {};
    let denseGamma: number | undefined;
    for (const kv of (m[2] ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
      const [k, v] = kv.split('=').map((s) => s.trim());
      const x = Number(v);
      if (!k || v === undefined || !Number.isFinite(x)) throw new InvalidArgumentError('--grid', `'${kv}' in '${raw}' is not k=number`);
      if (k === 'dense-gamma') denseGamma = x;
      else params[k] = x;
    }
    const base = namedComposite(m[1]!, params);
    const composite: Composite = denseGamma === undefined ? base : { ...base, name: `${base.name}+dense-gamma=${denseGamma}`, entries: [{ match: { kind: ['conv', 'dense'] }, rule: 'gamma', params: { gamma: denseGamma } }, ...base.entries] };
    out.push({ label: raw, composite });
  }
  if (out.length === 0) throw new InvalidArgumentError('--grid', 'is empty');
  return out;
}

/** The default grids: the transformer composites with γ on the dense layers, or the CNN composites around ε, γ, α–β. */
export const DEFAULT_GRIDS: Readonly<Record<'transformer' | 'cnn', string>> = {
  transformer: 'attnlrp;cp-lrp;attnlrp(dense-gamma=0.05);attnlrp(dense-gamma=0.25);attnlrp(dense-gamma=1)',
  cnn: 'epsilon-plus-flat;epsilon-plus-flat(epsilon=0.1);epsilon-alpha2-beta1-flat;epsilon-gamma-box(gamma=0.1);epsilon-gamma-box(gamma=0.5)',
};

export interface TuningReport {
  granularity: PruneGranularity;
  fraction: number;
  validationSamples: number;
  referenceSamples: number;
  /** Each candidate's pruned-model accuracy on the validation split, in grid order. */
  grid: { label: string; composite: string; accuracy: number; compression: number }[];
  /** Magnitude pruning at the same fraction, for comparison. */
  magnitude: { accuracy: number; compression: number };
  unprunedAccuracy: number;
  chosen: string;
}

/**
 * Tunes the composite for pruning: every grid candidate's relevance over the reference inputs ranks the units, the
 * `fraction` lowest of every layer are removed, and the pruned model is scored on the validation split; the most
 * accurate candidate wins (the first on ties). Returns the winner's scores with the report.
 */
export async function tuneComposite(model: ModelProto, granularity: PruneGranularity, layers: readonly PrunableLayer[], grid: readonly GridCandidate[], fraction: number, reference: { inputs: Tensor; target: Target }, validation: { inputs: Tensor; labels: readonly number[] }): Promise<{ report: TuningReport; scores: Record<string, Float64Array> }> {
  const mx = await ModelExplainer.load(model);
  const rows: TuningReport['grid'] = [];
  let best: { i: number; scores: Record<string, Float64Array> } | undefined;
  for (const [i, c] of grid.entries()) {
    const scores = await unitRelevance(mx, reference.inputs, layers, granularity, reference.target, { composite: c.composite });
    const r = pruneLowest(model, granularity, scores, fraction);
    const accuracy = await accuracyOf(r.model, validation.inputs, validation.labels);
    rows.push({ label: c.label, composite: c.composite.name, accuracy, compression: 1 - r.parametersAfter / r.parametersBefore });
    if (!best || accuracy > rows[best.i]!.accuracy) best = { i, scores };
  }
  const mag = pruneLowest(model, granularity, unitMagnitudes(model, granularity, layers), fraction);
  const report: TuningReport = {
    granularity,
    fraction,
    validationSamples: validation.labels.length,
    referenceSamples: reference.inputs.dims[0]!,
    grid: rows,
    magnitude: { accuracy: await accuracyOf(mag.model, validation.inputs, validation.labels), compression: 1 - mag.parametersAfter / mag.parametersBefore },
    unprunedAccuracy: await accuracyOf(mx, validation.inputs, validation.labels),
    chosen: rows[best!.i]!.label,
  };
  return { report, scores: best!.scores };
}
