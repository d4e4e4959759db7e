/**
 * The `evaluate` job's parameters and outcome, and what both of its halves need — the in-process handler
 * (evaluate.ts) and the queue's shards (evaluate-shards.ts): method specs, the dataset of chosen samples, the outcome
 * of an evaluation, metric requests and progress stages.
 */
import { InvalidArgumentError } from '../errors.js';
import { COMPOSITE_CHOICES } from '../composites/index.js';
import type { Dataset } from '../data/dataset.js';
import type { EvaluationResult, MetricRequest } from '../evaluation/evaluate.js';
import { parseMethodSpec, type LabelledMethod } from '../evaluation/methods.js';
import type { MethodSpec } from '../methods/types.js';
import type { MetricParams } from '../metrics/types.js';
import type { DatasetRegistry } from '../services/datasets.js';
import type { Tensor } from '../runtime/tensor.js';
import { ORT_VERSION, VERSION } from '../version.js';
import type { StoredMasks } from './masks.js';

export interface EvaluateParams extends Record<string, unknown> {
  modelId: string;
  dataset: string;
  /** The dataset's sample indices evaluated, in order (from `indices`, or 0 … limit−1). */
  indices: number[];
  methods: MethodSpec[];
  metrics: string[];
  metricParams?: Record<string, MetricParams>;
  /** Localisation masks: a threshold, or an uploaded .npy kept as an artefact (see masks.ts). */
  masks?: StoredMasks;
  target: 'pred' | 'label';
  batchSize: number;
  seed: number;
}

/** What an `evaluate` job stores as its result (GET /api/jobs/:id → `result`). */
export interface EvaluationOutcome extends Record<string, unknown> {
  /** Method labels (spec strings such as `lrp:epsilon-plus-flat`), in request order. */
  methods: string[];
  metrics: EvaluationResult['metrics'];
  /** One cell per method × metric: mean/std over the `n` samples with a defined score, and every sample's score (null = undefined). */
  cells: { method: string; metric: string; mean: number | null; std: number | null; n: number; scores: (number | null)[]; nanReasons: Record<string, number> }[];
  /** The class explained per sample. */
  targets: number[];
  accuracy?: number;
  timing: EvaluationResult['timing'];
  provenance: {
    modelSha256: string;
    dataset: string;
    indices: number[];
    samples: number;
    shape: number[];
    methods: MethodSpec[];
    metrics: { name: string; params: Partial<MetricParams> }[];
    masks?: StoredMasks;
    target: 'pred' | 'label';
    batchSize: number;
    seed: number;
    xsysVersion: string;
    ortVersion: string;
    /**
     * Queue mode only: each shard was evaluated as its own batch (metrics that normalise over the batch did so per
     * shard) with the random stream seeded by seed + the shard's first position, so the outcome depends on the shard
     * size but not on the number of workers or the order shards finished.
     */
    sharding?: { shardSize: number; shards: number };
  };
}

/** The method's label and spec, as `xsys evaluate --methods` would parse it (same validation, same labels). */
export function methodSpecOf(m: MethodSpec): LabelledMethod {
  if (m.composite !== undefined && !COMPOSITE_CHOICES.includes(m.composite)) throw new InvalidArgumentError('methods', `unknown LRP composite '${m.composite}'`, `composites: ${COMPOSITE_CHOICES.join(', ')}`);
  const params = Object.entries(m.params ?? {});
  for (const [k, v] of params) if (!/^[A-Za-z_][\w-]*$/.test(k) || !Number.isFinite(v)) throw new InvalidArgumentError('methods', `'${m.method}': parameter '${k}' must be a name with a finite number`);
  const spec = `${m.method}${m.composite !== undefined ? `:${m.composite}` : ''}${params.length ? `(${params.map(([k, v]) => `${k}=${v}`).join(',')})` : ''}`;
  return parseMethodSpec(spec);
}

/** Samples `indices` of a registered dataset as an evaluation Dataset (labels when the dataset has them). */
export function datasetFromRegistry(registry: DatasetRegistry, name: string, indices: readonly number[]): Dataset {
  return gatherDataset(name, indices, (i) => registry.sample(name, i), (i) => registry.label(name, i));
}

/** Samples `indices` of a dataset, read one by one, as an evaluation Dataset (labels when every sample has one). */
export function gatherDataset(name: string, indices: readonly number[], sample: (index: number) => Tensor, label: (index: number) => number | undefined): Dataset {
  const first = sample(indices[0]!);
  const per = first.data.length;
  const x = new Float32Array(per * indices.length);
  indices.forEach((i, k) => x.set(k === 0 ? first.data : sample(i).data, k * per));
  const labels = indices.map(label);
  return {
    x,
    shape: [indices.length, ...first.dims.slice(1)],
    ...(labels.every((l) => l !== undefined) ? { labels: Int32Array.from(labels as number[]) } : {}),
    names: indices.map(String),
    source: `dataset:${name}`,
  };
}

/** Non-finite numbers become null (JSON has no NaN); `n` counts the defined scores. */
export function outcomeOf(result: EvaluationResult, p: EvaluateParams): EvaluationOutcome {
  const num = (v: number): number | null => (Number.isFinite(v) ? v : null);
  return {
    methods: result.methods,
    metrics: result.metrics,
    cells: result.cells.map((c) => ({ method: c.method, metric: c.metric, mean: num(c.mean), std: num(c.std), n: c.valid, scores: c.scores.map(num), nanReasons: c.nanReasons })),
    targets: result.targets,
    ...(result.accuracy !== undefined ? { accuracy: result.accuracy } : {}),
    timing: result.timing,
    provenance: {
      modelSha256: p.modelId,
      dataset: p.dataset,
      indices: p.indices,
      samples: result.data.samples,
      shape: result.data.shape,
      methods: p.methods,
      metrics: result.metrics.map((m) => ({ name: m.name, params: m.params })),
      ...(p.masks ? { masks: p.masks } : {}),
      target: result.settings.target,
      batchSize: result.settings.batchSize,
      seed: result.settings.seed,
      xsysVersion: VERSION,
      ortVersion: ORT_VERSION,
    },
  };
}

export function metricRequests(names: readonly string[], params?: Record<string, MetricParams>): MetricRequest[] {
  return names.map((name) => ({ name, ...(params?.[name] ? { params: params[name] } : {}) }));
}

/** Progress unit: one stage of runEvaluation — explaining the samples with one method, or one metric of one method. */
export function stageCount(p: Pick<EvaluateParams, 'methods' | 'metrics'>): number {
  return p.methods.length * (1 + p.metrics.length);
}

/** runEvaluation's stage labels in the order it runs them: per method, its explanations, then each metric. */
export function stageLabels(p: Pick<EvaluateParams, 'methods' | 'metrics'>): string[] {
  return p.methods.map(methodSpecOf).flatMap((m) => [`explain ${m.id}`, ...p.metrics.map((metric) => `${metric} × ${m.id}`)]);
}

/**
 * Turns runEvaluation's stage callbacks into job progress and honours cancellation between steps: runEvaluation calls
 * back after every batch, and throwing there stops it. When stage k reports, stages 0 … k−1 are complete (k itself when
 * its last batch reports); progress is read off the stage's position, not counted, because some metrics (e.g.
 * sparseness) never call back.
 */
export function stageTracker(signal: AbortSignal, labels: readonly string[], report: (done: number, total: number) => void): { total: number; onProgress: (stage: string, done: number, total: number) => void } {
  let reported = 0;
  return {
    total: labels.length,
    onProgress: (stage, done, total) => {
      if (signal.aborted) throw signal.reason ?? new Error('cancelled');
      const k = labels.indexOf(stage);
      if (k < 0) return;
      // A stage whose last batch has reported is complete too.
      const complete = done >= total ? k + 1 : k;
      if (complete > reported) report((reported = complete), labels.length);
    },
  };
}
