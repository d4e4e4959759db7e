/**
 * What the strategy analyses need from a model, per sample: concept-relevance vectors (LRP relevance per channel of
 * a layer, summed over space — PCX's input), input heatmaps (SpRAy's input), layer activations (CAV training data)
 * and the gradient of a class logit at that layer (TCAV's sensitivities). All come from the compiled explainers
 * (`relevanceAt` of LRP and of the gradient) in batches of bounded size.
 *
 * The concept-relevance vectors come from the concept module (src/concepts/relevance.ts, `conceptVectors`), so PCX's
 * prototypes and the Concepts view rank the same numbers.
 */
import { InvalidArgumentError } from '../errors.js';
import { explain } from '../methods/explain.js';
import { ModelExplainer } from '../methods/explainer.js';
import type { Target } from '../methods/types.js';
import { argmaxRows, size, type Tensor } from '../runtime/tensor.js';
import { channelRelevanceRows, conceptVectors } from '../concepts/relevance.js';
import type { Points } from './points.js';

export interface FeatureOptions {
  /** Samples per ONNX Runtime run (default 64). */
  batch?: number;
  composite?: string;
  params?: Record<string, number>;
  onProgress?: (done: number, total: number) => void;
}

/** How a [N, C, ...spatial] layer tensor becomes one vector per sample. */
export type LayerReduce = 'flatten' | 'channels';

function slice(input: Tensor, start: number, end: number): Tensor {
  const per = size(input.dims) / input.dims[0]!;
  return { data: input.data.subarray(start * per, end * per), dims: [end - start, ...input.dims.slice(1)] };
}

function targetSlice(target: Target, start: number, end: number): Target {
  return Array.isArray(target) ? target.slice(start, end) : target;
}

/** Per-sample vectors of a [N, C, ...] tensor: flattened, or summed over the spatial axes per channel. */
export function reduceLayer(t: Tensor, reduce: LayerReduce): { data: Float64Array; d: number } {
  const n = t.dims[0]!;
  if (reduce === 'flatten' || t.dims.length < 3) return { data: Float64Array.from(t.data), d: size(t.dims) / n };
  return channelRelevanceRows(t);
}

async function batched(n: number, batch: number, onProgress: FeatureOptions['onProgress'], run: (start: number, end: number) => Promise<{ data: Float64Array; d: number }>): Promise<Points> {
  if (!Number.isInteger(batch) || batch < 1) throw new InvalidArgumentError('batch', `must be a positive integer, got ${batch}`);
  const parts: Float64Array[] = [];
  let d = 0;
  for (let start = 0; start < n; start += batch) {
    const end = Math.min(n, start + batch);
    const r = await run(start, end);
    d = r.d;
    parts.push(r.data);
    onProgress?.(end, n);
  }
  const data = new Float64Array(n * d);
  let o = 0;
  for (const p of parts) {
    data.set(p, o);
    o += p.length;
  }
  return { data, n, d };
}

export interface RelevanceFeatures {
  /** Relevance per channel of the layer, one row per sample. */
  vectors: Points;
  /** Input heatmaps summed over channels: n·h·w (for SpRAy). */
  heatmaps: Float32Array;
  heatmapDims: [number, number];
  targets: number[];
  /** Arg-max class per sample. */
  predictions: number[];
}

/**
 * LRP of each sample for its target: the concept-relevance vector at `layer` (concepts/relevance.ts's
 * `conceptVectors`, the same per-channel relevance the Concepts view ranks) and the input heatmap, in batches.
 */
export async function relevanceFeatures(mx: ModelExplainer, input: Tensor, layer: string, target: Target, options: FeatureOptions = {}): Promise<RelevanceFeatures> {
  const n = input.dims[0]!;
  const spatial = input.dims.slice(2);
  const hw = spatial.reduce((a, b) => a * b, 1);
  const heatmaps = new Float32Array(n * hw);
  const targets: number[] = [];
  const predictions: number[] = [];
  const vectors = await batched(n, options.batch ?? 64, options.onProgress, async (start, end) => {
    const cv = await conceptVectors(mx, slice(input, start, end), layer, targetSlice(target, start, end), { composite: options.composite, params: options.params });
    const per = size(cv.attribution.dims) / (end - start);
    const ch = per / hw;
    for (let i = 0; i < end - start; i++) {
      for (let c = 0; c < ch; c++) for (let j = 0; j < hw; j++) heatmaps[(start + i) * hw + j]! += cv.attribution.data[i * per + c * hw + j]!;
    }
    targets.push(...cv.targets);
    predictions.push(...argmaxRows(cv.scores.data, end - start));
    return cv.vectors;
  });
  return { vectors, heatmaps, heatmapDims: [spatial[0] ?? 1, spatial[1] ?? hw], targets, predictions };
}

/** Activations of `layer`, one vector per sample. */
export async function layerActivations(mx: ModelExplainer, input: Tensor, layer: string, reduce: LayerReduce, options: FeatureOptions = {}): Promise<Points> {
  return batched(input.dims[0]!, options.batch ?? 64, options.onProgress, async (start, end) => reduceLayer(await mx.forwardTensor(slice(input, start, end), layer), reduce));
}

/**
 * Gradient of the class logit with respect to `layer`, one vector per sample. With reduce 'channels' each channel's
 * gradient is summed over space: the derivative along a direction that adds the same amount to every position of
 * the channel, matching activations reduced the same way.
 */
export async function layerGradients(mx: ModelExplainer, input: Tensor, layer: string, classIndex: number, reduce: LayerReduce, options: FeatureOptions = {}): Promise<Points> {
  return batched(input.dims[0]!, options.batch ?? 64, options.onProgress, async (start, end) => {
    const e = await explain(mx, slice(input, start, end), { method: 'gradient', target: classIndex, relevanceAt: [layer] });
    return reduceLayer(e.relevanceAt[layer]!, reduce);
  });
}
