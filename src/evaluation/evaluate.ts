/**
 * `xsys evaluate` as a library call: explain a dataset with every method, score every method with every metric.
 *
 * Explanations are computed once per method (batched) and shared by all metrics; each metric gets the ORT-backed
 * ScoreFn/ExplainFn/ModelHandle of the method it scores, so re-explaining metrics (robustness, randomisation) use the
 * same method. Per-sample NaNs (metric undefined) are kept with their reasons and left out of the mean.
 */
import type { ModelProto } from 'onnx-buf';
import { InvalidArgumentError } from '../errors.js';
import { getMetric } from '../metrics/index.js';
import type { Metric, MetricParams, ScoreDirection } from '../metrics/types.js';
import type { Dataset } from '../data/dataset.js';
import type { LabelledMethod } from './methods.js';
import { OrtModel, OrtTimer } from './ort-model.js';

export interface MetricRequest {
  name: string;
  params?: Partial<MetricParams>;
}

export interface EvaluationOptions {
  model: string | ModelProto | OrtModel;
  data: Dataset;
  methods: readonly LabelledMethod[];
  metrics: readonly MetricRequest[];
  /** Explain the predicted class ('pred', default, as MetaQuantus) or the label ('label'). */
  target?: 'pred' | 'label';
  batchSize?: number;
  seed?: number;
  threads?: number;
  /** Progress of one stage: e.g. ('explain gradient', done, total). */
  onProgress?: (stage: string, done: number, total: number) => void;
}

export interface CellResult {
  method: string;
  metric: string;
  /** Mean over the samples with a defined score (NaN if none). */
  mean: number;
  /** Population standard deviation over the same samples. */
  std: number;
  /** Samples with a defined score. */
  valid: number;
  /** One score per sample (NaN where undefined). */
  scores: number[];
  /** Why scores are NaN: reason → count. */
  nanReasons: Record<string, number>;
  ms: number;
}

export interface MetricInfo {
  name: string;
  category: string;
  direction: ScoreDirection;
  params: Partial<MetricParams>;
}

export interface EvaluationResult {
  model: string;
  data: { source: string; samples: number; shape: number[] };
  methods: string[];
  metrics: MetricInfo[];
  targets: number[];
  /** Share of samples whose prediction equals the label (when labels are known). */
  accuracy?: number;
  cells: CellResult[];
  settings: { batchSize: number; seed: number; target: 'pred' | 'label' };
  /**
   * ortMs/ortRuns: all forward ORT runs of the ScoreFn (predictions, target resolution, every metric's perturbed
   * inputs); metricsOrtMs: the part of them inside the metrics, so metricsOrtMs ≤ metricsMs.
   */
  timing: { totalMs: number; explainMs: number; metricsMs: number; ortMs: number; ortRuns: number; metricsOrtMs: number };
}

export function summarise(scores: Float64Array, reasons?: (string | null)[]): Pick<CellResult, 'mean' | 'std' | 'valid' | 'nanReasons'> {
  let sum = 0;
  let valid = 0;
  for (const v of scores) if (Number.isFinite(v)) (sum += v), valid++;
  const mean = valid ? sum / valid : NaN;
  let sq = 0;
  for (const v of scores) if (Number.isFinite(v)) sq += (v - mean) ** 2;
  const nanReasons: Record<string, number> = {};
  scores.forEach((v, i) => {
    if (Number.isFinite(v)) return;
    const r = reasons?.[i] ?? (Number.isNaN(v) ? 'undefined' : 'not finite');
    nanReasons[r] = (nanReasons[r] ?? 0) + 1;
  });
  return { mean, std: valid ? Math.sqrt(sq / valid) : NaN, valid, nanReasons };
}

/** Checks every metric exists and its needs can be met before any work starts. */
export function resolveMetrics(requests: readonly MetricRequest[], data: Dataset): Metric[] {
  if (requests.length === 0) throw new InvalidArgumentError('--metrics', 'no metric given');
  return requests.map((r) => {
    const m = getMetric(r.name);
    if (m.needs.masks && !data.masks) throw new InvalidArgumentError('--masks', `metric '${m.name}' (${m.category}) needs localisation masks`, 'pass --masks <file.npy|idx> or --masks threshold:T (pixels brighter than T)');
    return m;
  });
}

export async function runEvaluation(options: EvaluationOptions): Promise<EvaluationResult> {
  const t0 = performance.now();
  const { data } = options;
  const metrics = resolveMetrics(options.metrics, data);
  if (options.methods.length === 0) throw new InvalidArgumentError('--methods', 'no method given');
  const model =
    options.model instanceof OrtModel ? options.model : await OrtModel.load(options.model, { batchSize: options.batchSize, threads: options.threads, timer: new OrtTimer() });
  const seed = options.seed ?? 0;
  const target = options.target ?? 'pred';
  const ortStart = { ms: model.timer.ms, runs: model.timer.runs };

  model.validate(data.x, data.shape);
  const preds = await model.predict(data.x, data.shape);
  if (target === 'label' && !data.labels) throw new InvalidArgumentError('--target', "'label' needs labels", 'pass --labels, or explain the prediction (--target pred)');
  const y = target === 'label' ? data.labels! : preds;
  const n = data.shape[0]!;
  let correct = 0;
  if (data.labels) for (let i = 0; i < n; i++) if (data.labels[i] === preds[i]) correct++;

  const cells: CellResult[] = [];
  let explainMs = 0;
  let metricsMs = 0;
  let metricsOrtMs = 0;
  for (const spec of options.methods) {
    const te = performance.now();
    const explainFn = model.explainFn(spec);
    const a = new Float32Array(data.x.length);
    const per = data.x.length / n;
    // Chunks of batchSize so the progress bar moves on large datasets.
    for (let start = 0; start < n; start += model.batchSize) {
      const m = Math.min(model.batchSize, n - start);
      a.set(await explainFn(data.x.subarray(start * per, (start + m) * per), [m, ...data.shape.slice(1)], y.subarray(start, start + m)), start * per);
      options.onProgress?.(`explain ${spec.id}`, start + m, n);
    }
    explainMs += performance.now() - te;
    const ctx = { score: model.score, explain: explainFn, model: model.handle(spec), batchSize: model.batchSize, seed };
    for (const [mi, metric] of metrics.entries()) {
      const tm = performance.now();
      const ortBefore = model.timer.ms;
      const stage = `${metric.name} × ${spec.id}`;
      const result = await metric.evaluate({ x: data.x, shape: data.shape, y, a, s: data.masks }, { ...ctx, onProgress: (d, t) => options.onProgress?.(stage, d, t) }, options.metrics[mi]!.params);
      const ms = performance.now() - tm;
      metricsMs += ms;
      metricsOrtMs += model.timer.ms - ortBefore;
      cells.push({ method: spec.id, metric: metric.name, ...summarise(result.scores, result.reasons), scores: Array.from(result.scores), ms });
    }
  }
  return {
    model: options.model instanceof OrtModel ? '<OrtModel>' : typeof options.model === 'string' ? options.model : '<ModelProto>',
    data: { source: data.source, samples: n, shape: [...data.shape] },
    methods: options.methods.map((m) => m.id),
    metrics: metrics.map((m, i) => ({ name: m.name, category: m.category, direction: m.direction, params: { ...m.defaults, ...(options.metrics[i]!.params ?? {}) } })),
    targets: Array.from(y),
    accuracy: data.labels ? correct / n : undefined,
    cells,
    settings: { batchSize: model.batchSize, seed, target },
    timing: { totalMs: performance.now() - t0, explainMs, metricsMs, ortMs: model.timer.ms - ortStart.ms, ortRuns: model.timer.runs - ortStart.runs, metricsOrtMs },
  };
}
