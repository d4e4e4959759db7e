/**
 * Reference samples of concepts over a dataset (zennit-crp's FeatureVisualization): for every channel of the chosen
 * layers, the top-k samples by maximal activation, by summed activation (ActMax) and by summed relevance (RelMax,
 * overall and per target class), each with the flat spatial position of its maximum; and per class the summed
 * relevance of every channel (the class's concept atlas).
 *
 * The work is per sample range: `collectRange` runs the statistics graph over samples [start, end) and returns a
 * partial state; `mergeStates` combines partial states of consecutive or disjoint ranges into exactly the state one
 * pass would give (top-k lists under a total order; sums added in range order), so a queue can shard a dataset.
 */
import * as ort from 'onnxruntime-node';
import type { ModelProto } from 'onnx-buf';
import { createSession, runSession } from '../runtime/session.js';
import { argmaxRows, size, type Tensor } from '../runtime/tensor.js';
import { InputDataError, InvalidArgumentError, RuntimeFailure, XsysError } from '../errors.js';
import { ProbeSessionCache } from '../methods/compiled-cache.js';
import type { Composite } from '../composites/index.js';
import { compileStatistics, LAYER_STATS, type LayerStat, type StatisticsGraph } from './statistics-graph.js';
import { TopK, type TopKJson } from './topk.js';

/** Samples by index, in batches (a dataset in memory, a registered dataset, a lazily read file). */
export interface SampleSource {
  readonly size: number;
  /** Shape of one sample (no batch axis). */
  readonly sampleShape: readonly number[];
  batch(start: number, count: number): Tensor;
  /** Class label of a sample, when targets are labels. */
  label?(index: number): number;
}

export interface ReferenceSpec {
  layers: string[];
  /** Reference samples kept per channel and statistic. */
  k: number;
  composite?: string;
  params?: Record<string, number>;
  /** Relevance of each sample is computed for its predicted class or its label. */
  targets: 'prediction' | 'label';
  /** Divide each sample's per-channel values by Σ_c |value| + 1e-10 (zennit-crp's abs_norm). */
  absNorm: boolean;
}

export interface LayerState {
  channels: number;
  spatial: number[];
  actMax: TopK;
  actSum: TopK;
  relSum: TopK;
  relByClass: Map<number, TopK>;
  /** Per class: Σ over its samples of each channel's (normalised) relevance, and the sample count. */
  classSum: Map<number, Float64Array>;
}

export interface ReferenceState {
  /** The samples covered, as sorted disjoint [start, end) ranges. */
  ranges: [number, number][];
  classCount: Map<number, number>;
  layers: Record<string, LayerState>;
}

export const MAX_K = 64;
export const MAX_LAYERS = 16;

export function validateSpec(spec: ReferenceSpec): void {
  if (!Number.isInteger(spec.k) || spec.k < 1 || spec.k > MAX_K) throw new InvalidArgumentError('k', `must be an integer in 1…${MAX_K}`);
  if (spec.layers.length === 0 || spec.layers.length > MAX_LAYERS) throw new InvalidArgumentError('layers', `choose 1…${MAX_LAYERS} layers`);
  if (new Set(spec.layers).size !== spec.layers.length) throw new InvalidArgumentError('layers', 'a layer is listed twice');
  if (spec.targets !== 'prediction' && spec.targets !== 'label') throw new InvalidArgumentError('targets', `must be 'prediction' or 'label'`);
}

/** The compiled statistics graph with its ORT session, and the plain model for predictions. */
export class StatisticsEngine {
  private constructor(
    readonly graph: StatisticsGraph,
    readonly session: ort.InferenceSession,
    private readonly forward: ort.InferenceSession,
  ) {}

  /**
   * With `targets: 'prediction'` (the default) the graph explains each sample's arg-max class itself, so a batch
   * takes one ONNX Runtime run; with labels the seed is fed.
   */
  static async create(model: ModelProto, spec: { layers: readonly string[]; composite?: string | Composite; params?: Record<string, number>; targets?: 'prediction' | 'label' }, threads?: number): Promise<StatisticsEngine> {
    const graph = compileStatistics(model, { ...spec, predictTargets: (spec.targets ?? 'prediction') === 'prediction' });
    const session = await createSession(graph.model, { threads, compiledGraph: true });
    // Targets must be known before the seeded run: predictions come from the plain model.
    const forward = await new ProbeSessionCache(model, threads).get(graph.scoresName);
    return new StatisticsEngine(graph, session, forward);
  }

  /** Explained scores of a batch, [B, classes]. */
  async scores(x: Tensor): Promise<Tensor> {
    return (await runSession(this.forward, { [this.graph.inputName]: x }))[this.graph.scoresName]!;
  }

  /** Per layer: [B, C] arrays of each statistic for a batch and its targets (fed with labels, or the graph's predictions). */
  async run(x: Tensor, targets: readonly number[], classes: number): Promise<Record<string, Record<LayerStat, Float32Array>>> {
    return (await this.runBatch(x, { targets, classes })).stats;
  }

  /** One run over a batch explaining each sample's predicted class (graphs compiled with predicted targets only). */
  async runPredicted(x: Tensor): Promise<{ stats: Record<string, Record<LayerStat, Float32Array>>; targets: number[] }> {
    if (!this.graph.predictionName) throw new InvalidArgumentError('targets', 'this statistics graph takes its targets as a seed input');
    const r = await this.runBatch(x);
    return { stats: r.stats, targets: r.targets! };
  }

  private async runBatch(x: Tensor, seeded?: { targets: readonly number[]; classes: number }): Promise<{ stats: Record<string, Record<LayerStat, Float32Array>>; targets?: number[] }> {
    const feeds: Record<string, ort.Tensor> = { [this.graph.inputName]: new ort.Tensor('float32', x.data, x.dims) };
    if (seeded) {
      if (this.graph.predictionName) throw new InvalidArgumentError('targets', 'this statistics graph explains its own predictions; build it with targets: label to feed targets');
      const n = x.dims[0]!;
      const seed = new Float32Array(n * seeded.classes);
      seeded.targets.forEach((t, i) => (seed[i * seeded.classes + t] = 1));
      feeds[this.graph.seedName] = new ort.Tensor('float32', seed, [n, seeded.classes]);
    }
    let out: ort.InferenceSession.OnnxValueMapType;
    try {
      out = await this.session.run(feeds);
    } catch (e) {
      throw new RuntimeFailure(`ONNX Runtime failed while collecting concept statistics: ${(e as Error).message}`, 'check that the dataset samples have the model input shape', e);
    }
    const get = (name: string): Float32Array => {
      const d = (out[name] as ort.Tensor).data;
      return d instanceof Float32Array ? d : Float32Array.from(d as ArrayLike<number | bigint>, Number);
    };
    const stats: Record<string, Record<LayerStat, Float32Array>> = {};
    for (const [l, { outputs }] of Object.entries(this.graph.layers)) {
      stats[l] = Object.fromEntries(LAYER_STATS.map((k) => [k, get(outputs[k])])) as Record<LayerStat, Float32Array>;
    }
    return { stats, ...(this.graph.predictionName ? { targets: Array.from(get(this.graph.predictionName)) } : {}) };
  }
}

export function emptyState(engine: Pick<StatisticsEngine, 'graph'>, k: number): ReferenceState {
  const layers: Record<string, LayerState> = {};
  for (const [l, { channels, spatial }] of Object.entries(engine.graph.layers)) {
    layers[l] = { channels, spatial, actMax: new TopK(k, channels), actSum: new TopK(k, channels), relSum: new TopK(k, channels), relByClass: new Map(), classSum: new Map() };
  }
  return { ranges: [], classCount: new Map(), layers };
}

function normalise(v: Float32Array, n: number, c: number, on: boolean): Float64Array {
  const out = Float64Array.from(v);
  if (!on) return out;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < c; j++) s += Math.abs(out[i * c + j]!);
    for (let j = 0; j < c; j++) out[i * c + j]! /= s + 1e-10;
  }
  return out;
}

/** Per-index work: the statistics of samples [start, end), in batches of `batch`. */
export async function collectRange(engine: StatisticsEngine, source: SampleSource, spec: ReferenceSpec, start: number, end: number, options: { batch?: number; signal?: AbortSignal; onBatch?: (done: number) => void } = {}): Promise<ReferenceState> {
  if (source.size === 0) throw new InvalidArgumentError('dataset', 'the dataset is empty');
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > source.size || start >= end) throw new InvalidArgumentError('range', `[${start}, ${end}) is not a non-empty range of the ${source.size} samples`);
  const batchSize = options.batch ?? 32;
  const state = emptyState(engine, spec.k);
  let classes = 0;
  for (let b = start; b < end; b += batchSize) {
    if (options.signal?.aborted) throw new XsysError('cancelled');
    const n = Math.min(batchSize, end - b);
    const x = source.batch(b, n);
    let targets: number[] | undefined;
    if (spec.targets === 'label') {
      if (!source.label) throw new InvalidArgumentError('targets', "the dataset has no labels; use targets 'prediction'");
      targets = Array.from({ length: n }, (_, i) => source.label!(b + i));
    }
    let stats: Record<string, Record<LayerStat, Float32Array>>;
    if (targets) {
      if (!classes) classes = size((await engine.scores(x)).dims) / n;
      for (const t of targets) if (!Number.isInteger(t) || t < 0 || t >= classes) throw new InputDataError(`label ${t} is out of range for a model with ${classes} classes`);
      stats = await engine.run(x, targets, classes);
    } else if (engine.graph.predictionName) {
      ({ stats, targets } = await engine.runPredicted(x));
    } else {
      // An engine compiled for fed targets used for predictions: the forward pass first.
      const scores = await engine.scores(x);
      classes = size(scores.dims) / n;
      targets = argmaxRows(scores.data, n);
      stats = await engine.run(x, targets, classes);
    }
    targets.forEach((t) => state.classCount.set(t, (state.classCount.get(t) ?? 0) + 1));
    for (const [l, s] of Object.entries(stats)) {
      const L = state.layers[l]!;
      const c = L.channels;
      const actMax = normalise(s.act_max, n, c, spec.absNorm);
      const actSum = normalise(s.act_sum, n, c, spec.absNorm);
      const relSum = normalise(s.rel_sum, n, c, spec.absNorm);
      for (let i = 0; i < n; i++) {
        const idx = b + i;
        const t = targets[i]!;
        let byClass = L.relByClass.get(t);
        if (!byClass) L.relByClass.set(t, (byClass = new TopK(spec.k, c)));
        let sum = L.classSum.get(t);
        if (!sum) L.classSum.set(t, (sum = new Float64Array(c)));
        for (let j = 0; j < c; j++) {
          const o = i * c + j;
          L.actMax.offer(j, actMax[o]!, idx, s.act_pos[o]!);
          L.actSum.offer(j, actSum[o]!, idx, s.act_pos[o]!);
          L.relSum.offer(j, relSum[o]!, idx, s.rel_pos[o]!);
          byClass.offer(j, relSum[o]!, idx, s.rel_pos[o]!);
          sum[j]! += relSum[o]!;
        }
      }
    }
    options.onBatch?.(b + n - start);
  }
  state.ranges = [[start, end]];
  return state;
}

/**
 * Merges states of disjoint sample ranges. Top-k lists are order-independent; the per-class sums are added in the
 * order of the ranges' starts, so any sharding gives bit-identical results for the same ranges.
 */
export function mergeStates(states: readonly ReferenceState[]): ReferenceState {
  if (states.length === 0) throw new XsysError('nothing to merge');
  const sorted = [...states].sort((a, b) => (a.ranges[0]?.[0] ?? 0) - (b.ranges[0]?.[0] ?? 0));
  const ranges = sorted.flatMap((s) => s.ranges).sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < ranges.length; i++) if (ranges[i]![0] < ranges[i - 1]![1]) throw new XsysError(`overlapping sample ranges [${ranges[i - 1]!.join(', ')}) and [${ranges[i]!.join(', ')})`);
  const merged: [number, number][] = [];
  for (const r of ranges) {
    const last = merged[merged.length - 1];
    if (last && last[1] === r[0]) last[1] = r[1];
    else merged.push([r[0], r[1]]);
  }
  const first = sorted[0]!;
  const out: ReferenceState = { ranges: merged, classCount: new Map(), layers: {} };
  for (const [l, L] of Object.entries(first.layers)) {
    const k = L.actMax.k;
    out.layers[l] = { channels: L.channels, spatial: L.spatial, actMax: new TopK(k, L.channels), actSum: new TopK(k, L.channels), relSum: new TopK(k, L.channels), relByClass: new Map(), classSum: new Map() };
  }
  for (const s of sorted) {
    for (const [t, n] of s.classCount) out.classCount.set(t, (out.classCount.get(t) ?? 0) + n);
    for (const [l, L] of Object.entries(s.layers)) {
      const O = out.layers[l];
      if (!O) throw new XsysError(`cannot merge: layer '${l}' is not in every partial state`);
      O.actMax.merge(L.actMax);
      O.actSum.merge(L.actSum);
      O.relSum.merge(L.relSum);
      for (const [t, top] of L.relByClass) {
        const o = O.relByClass.get(t);
        if (o) o.merge(top);
        else O.relByClass.set(t, new TopK(top.k, top.channels).merge(top));
      }
      for (const [t, sum] of L.classSum) {
        const o = O.classSum.get(t);
        if (o) for (let j = 0; j < sum.length; j++) o[j]! += sum[j]!;
        else O.classSum.set(t, Float64Array.from(sum));
      }
    }
  }
  return out;
}

export interface ReferenceStateJson {
  ranges: [number, number][];
  classCount: Record<string, number>;
  layers: Record<string, { channels: number; spatial: number[]; actMax: TopKJson; actSum: TopKJson; relSum: TopKJson; relByClass: Record<string, TopKJson>; classSum: Record<string, number[]> }>;
}

export function stateToJson(s: ReferenceState): ReferenceStateJson {
  const layers: ReferenceStateJson['layers'] = {};
  for (const [l, L] of Object.entries(s.layers)) {
    layers[l] = {
      channels: L.channels,
      spatial: L.spatial,
      actMax: L.actMax.toJSON(),
      actSum: L.actSum.toJSON(),
      relSum: L.relSum.toJSON(),
      relByClass: Object.fromEntries([...L.relByClass].sort((a, b) => a[0] - b[0]).map(([t, v]) => [String(t), v.toJSON()])),
      classSum: Object.fromEntries([...L.classSum].sort((a, b) => a[0] - b[0]).map(([t, v]) => [String(t), Array.from(v)])),
    };
  }
  return { ranges: s.ranges, classCount: Object.fromEntries([...s.classCount].sort((a, b) => a[0] - b[0]).map(([t, n]) => [String(t), n])), layers };
}

export function stateFromJson(j: ReferenceStateJson): ReferenceState {
  const layers: Record<string, LayerState> = {};
  for (const [l, L] of Object.entries(j.layers)) {
    layers[l] = {
      channels: L.channels,
      spatial: L.spatial,
      actMax: TopK.fromJSON(L.actMax),
      actSum: TopK.fromJSON(L.actSum),
      relSum: TopK.fromJSON(L.relSum),
      relByClass: new Map(Object.entries(L.relByClass).map(([t, v]) => [Number(t), TopK.fromJSON(v)])),
      classSum: new Map(Object.entries(L.classSum).map(([t, v]) => [Number(t), Float64Array.from(v)])),
    };
  }
  return { ranges: j.ranges, classCount: new Map(Object.entries(j.classCount).map(([t, n]) => [Number(t), n])), layers };
}
