/**
 * Localising an artefact (Reveal to Revise, step 2): from a CAV of the artefact at a layer, the input-space relevance
 * of the artefact direction for each sample, masks thresholded from it, and a per-sample score that ranks a dataset
 * by how much each sample uses the artefact.
 *
 * CAV-conditioned relevance: the backward pass starts at the layer with R_l = a ⊙ v (the activations weighted by the
 * CAV; for a per-channel CAV, v_c at every position of channel c) and LRP carries it to the input. Σ R_l = vᵀa is the
 * sample's artefact score; the input heatmap shows where in the input that score comes from. The layer is made the
 * output of a truncated copy of the model (weight-surgery/truncate.ts) and the compiled LRP explainer is seeded with
 * the CAV instead of a one-hot class, so any composite the compiler knows applies.
 */
import type { ModelProto } from 'onnx-buf';
import { InvalidArgumentError } from '../errors.js';
import { ModelExplainer } from '../methods/explainer.js';
import { readModel } from '../onnx/file.js';
import { size, type Tensor } from '../runtime/tensor.js';
import { trainCav, type Cav, type CavMethod } from '../strategies/cav.js';
import { layerActivations, type LayerReduce } from '../strategies/features.js';
import { dot } from '../strategies/points.js';
import { truncateAt } from '../weight-surgery/truncate.js';

/** An artefact's CAV at a layer with what ClArC needs: the clean and artefact means projected on it. */
export interface ArtefactCav {
  layer: string;
  reduce: LayerReduce;
  /** Per-sample dims of the layer. */
  dims: number[];
  cav: Cav;
  /** uᵀ(mean activation of the clean examples): the mean-shift target r. */
  cleanProjection: number;
  /** uᵀ(mean activation of the artefact examples). */
  artefactProjection: number;
  /** Midway between the two: reactive ClArC's default threshold. */
  threshold: number;
}

function slice(t: Tensor, start: number, end: number): Tensor {
  const per = size(t.dims) / t.dims[0]!;
  return { data: t.data.subarray(start * per, end * per), dims: [end - start, ...t.dims.slice(1)] };
}

function meanProjection(rows: { data: Float64Array; n: number; d: number }, u: Float64Array): number {
  let s = 0;
  for (let i = 0; i < rows.n; i++) s += dot(rows.data.subarray(i * rows.d, (i + 1) * rows.d), u);
  return s / rows.n;
}

/** Trains the artefact's CAV at `layer` from inputs with the artefact and clean inputs (strategies/cav.ts). */
export async function fitArtefactCav(mx: ModelExplainer, artefact: Tensor, clean: Tensor, layer: string, options: { method?: CavMethod; reduce?: LayerReduce; C?: number } = {}): Promise<ArtefactCav> {
  const reduce = options.reduce ?? 'flatten';
  const probe = await mx.forwardTensor(slice(artefact, 0, 1), layer);
  const concept = await layerActivations(mx, artefact, layer, reduce);
  const counter = await layerActivations(mx, clean, layer, reduce);
  const cav = trainCav(concept, counter, { method: options.method ?? 'pattern', C: options.C });
  const cleanProjection = meanProjection(counter, cav.direction);
  const artefactProjection = meanProjection(concept, cav.direction);
  return { layer, reduce, dims: probe.dims.slice(1), cav, cleanProjection, artefactProjection, threshold: (cleanProjection + artefactProjection) / 2 };
}

export interface CavRelevance {
  /** Input relevance of the artefact direction, shaped like the inputs. */
  attribution: Tensor;
  /** Summed over the input channels: n·h·w. */
  heatmaps: Float32Array;
  heatmapDims: [number, number];
  /** vᵀa per sample (= the relevance seeded at the layer). */
  scores: Float64Array;
}

/** Seeds R_l = a ⊙ v at the layer; v is flattened-layer sized or one value per channel. */
function seedOf(direction: ArrayLike<number>, layerDims: readonly number[], n: number): Tensor {
  const per = layerDims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n * per);
  if (direction.length === per) {
    for (let i = 0; i < n; i++) for (let j = 0; j < per; j++) data[i * per + j] = direction[j]!;
  } else if (layerDims.length > 1 && direction.length === layerDims[0]) {
    const spatial = per / layerDims[0]!;
    for (let i = 0; i < n; i++) for (let j = 0; j < per; j++) data[i * per + j] = direction[Math.floor(j / spatial)]!;
  } else {
    throw new InvalidArgumentError('cav', `has ${direction.length} values; the layer has ${per} per sample (${layerDims.join('×')})`, 'use a CAV trained on this layer');
  }
  return { data, dims: [n, ...layerDims] };
}

/**
 * CAV-conditioned relevance of each input: LRP (default composite unless given) from R_l = a ⊙ v at `layer` to the
 * input, in batches.
 */
export async function cavRelevance(model: ModelProto | string, inputs: Tensor, layer: string, direction: ArrayLike<number>, options: { composite?: string; batch?: number } = {}): Promise<CavRelevance> {
  const proto = typeof model === 'string' ? await readModel(model) : model;
  const mx = await ModelExplainer.load(truncateAt(proto, layer));
  mx.validate(inputs);
  const n = inputs.dims[0]!;
  const batch = options.batch ?? 64;
  if (!Number.isInteger(batch) || batch < 1) throw new InvalidArgumentError('batch', `must be a positive integer, got ${batch}`);
  const c = await mx.compiled({ method: 'lrp', composite: options.composite, seedMode: 'logit' });
  const attribution = new Float32Array(inputs.data.length);
  const scores = new Float64Array(n);
  const per = size(inputs.dims) / n;
  const spatial = inputs.dims.slice(2);
  const hw = spatial.reduce((a, b) => a * b, 1);
  const heatmaps = new Float32Array(n * hw);
  for (let start = 0; start < n; start += batch) {
    const end = Math.min(n, start + batch);
    const x = slice(inputs, start, end);
    const act = await mx.scores(x);
    const seed = seedOf(direction, act.dims.slice(1), end - start);
    const out = await mx.session.runCompiled(c, { [mx.inputName]: x }, seed);
    const a = out[c.compiled.attributionNames[mx.inputName]!]!;
    attribution.set(a.data, start * per);
    const lper = seed.data.length / (end - start);
    for (let i = 0; i < end - start; i++) {
      let s = 0;
      for (let j = 0; j < lper; j++) s += act.data[i * lper + j]! * seed.data[i * lper + j]!;
      scores[start + i] = s;
      for (let ch = 0; ch < per / hw; ch++) for (let j = 0; j < hw; j++) heatmaps[(start + i) * hw + j]! += a.data[i * per + ch * hw + j]!;
    }
  }
  return { attribution: { data: attribution, dims: [...inputs.dims] }, heatmaps, heatmapDims: [spatial[0] ?? 1, spatial[1] ?? hw], scores };
}

/** Per sample: 1 where the heatmap's positive relevance exceeds `threshold` × that sample's maximum (n·hw). */
export function relevanceMasks(heatmaps: Float32Array, n: number, threshold = 0.3): Uint8Array {
  if (!(threshold > 0 && threshold <= 1)) throw new InvalidArgumentError('threshold', `must be in (0, 1], got ${threshold}`);
  if (n < 1 || heatmaps.length % n !== 0) throw new InvalidArgumentError('heatmaps', `${heatmaps.length} values are not ${n} equal heatmaps`);
  const hw = heatmaps.length / n;
  const out = new Uint8Array(heatmaps.length);
  for (let i = 0; i < n; i++) {
    let max = 0;
    for (let j = 0; j < hw; j++) max = Math.max(max, heatmaps[i * hw + j]!);
    if (max <= 0) continue;
    for (let j = 0; j < hw; j++) if (heatmaps[i * hw + j]! > threshold * max) out[i * hw + j] = 1;
  }
  return out;
}

/** Intersection over union of each sample's mask with a reference region (one hw mask for all). */
export function maskIou(masks: Uint8Array, n: number, region: Uint8Array): Float64Array {
  const hw = region.length;
  if (masks.length !== n * hw) throw new InvalidArgumentError('masks', `${masks.length} values are not ${n} masks of ${hw}`);
  return Float64Array.from({ length: n }, (_, i) => {
    let inter = 0;
    let union = 0;
    for (let j = 0; j < hw; j++) {
      const a = masks[i * hw + j]!;
      const b = region[j]!;
      if (a && b) inter++;
      if (a || b) union++;
    }
    return union ? inter / union : 0;
  });
}

/** Sample indices by descending artefact score: the dataset ranked by how much each sample uses the artefact. */
export function rankByArtefact(scores: ArrayLike<number>): number[] {
  return Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]! || a - b);
}

