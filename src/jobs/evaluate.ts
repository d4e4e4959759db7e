/**
 * `evaluate`: scores explanation methods with Quantus metrics over samples of a registered dataset — the workbench
 * side of `xsys evaluate`. It runs src/evaluation's runEvaluation unchanged, so a job's numbers are the library's.
 *
 * The outcome (per method × metric mean/std/n, per-sample scores, provenance) is stored on the job in one write when
 * the evaluation finishes. An evaluation is all-or-nothing (its metrics need every explanation), so an interrupted job
 * is not resumed: the next start marks it failed and the user starts it again.
 */
import { InvalidArgumentError } from '../errors.js';
import { COMPOSITE_NAMES } from '../composites/index.js';
import type { Dataset } from '../data/dataset.js';
import { runEvaluation, resolveMetrics, type EvaluationResult, type MetricRequest } from '../evaluation/evaluate.js';
import { parseMethodSpec, type MethodSpec } from '../evaluation/methods.js';
import { OrtModel } from '../evaluation/ort-model.js';
import { METRIC_NAMES, getMetric } from '../metrics/index.js';
import type { MetricParams } from '../metrics/types.js';
import { METHOD_NAMES } from '../methods/types.js';
import { parseModel } from '../onnx/model.js';
import type { DatasetRegistry } from '../services/datasets.js';
import type { ModelService } from '../services/models.js';
import { ORT_VERSION, VERSION } from '../version.js';
import type { ArtefactStore } from '../store/types.js';
import { loadJobMasks, masksSchema, prepareMasks, type StoredMasks } from './masks.js';
import type { JobHandler } from './types.js';
import { jobModelAndDataset } from './params.js';

export interface EvaluateMethod {
  method: string;
  composite?: string;
  params?: Record<string, number>;
}

export interface EvaluateParams extends Record<string, unknown> {
  modelId: string;
  dataset: string;
  /** The dataset's sample indices evaluated, in order (from `indices`, or 0 … limit−1). */
  indices: number[];
  methods: EvaluateMethod[];
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
    methods: EvaluateMethod[];
    metrics: { name: string; params: Partial<MetricParams> }[];
    masks?: StoredMasks;
    target: 'pred' | 'label';
    batchSize: number;
    seed: number;
    xsysVersion: string;
    ortVersion: string;
  };
}

const MAX_SAMPLES = 10_000;

const methodSchema = {
  type: 'object',
  required: ['method'],
  properties: {
    method: { type: 'string', enum: [...METHOD_NAMES] },
    composite: { type: 'string', enum: COMPOSITE_NAMES, description: 'LRP only (default epsilon-plus-flat)' },
    params: { type: 'object', additionalProperties: { type: 'number' } },
  },
  additionalProperties: false,
};

export const evaluateSchema = {
  type: 'object',
  required: ['modelId', 'dataset', 'methods', 'metrics'],
  properties: {
    modelId: { type: 'string', pattern: '^[0-9a-f]{64}$' },
    dataset: { type: 'string' },
    indices: { type: 'array', items: { type: 'integer', minimum: 0 }, minItems: 1, description: 'sample indices (default: the first `limit`)' },
    limit: { type: 'integer', minimum: 1, description: 'evaluate samples 0 … limit−1 (default: all); ignored with indices' },
    methods: { type: 'array', items: methodSchema, minItems: 1 },
    metrics: { type: 'array', items: { type: 'string', enum: [...METRIC_NAMES] }, minItems: 1 },
    metricParams: { type: 'object', description: 'metric name → {param: value}, e.g. {"pixel-flipping": {"featuresInStep": 28}}', additionalProperties: { type: 'object' } },
    masks: masksSchema,
    target: { type: 'string', enum: ['pred', 'label'], description: "explain the predicted class (default) or the label" },
    batchSize: { type: 'integer', minimum: 1, maximum: 4096 },
    seed: { type: 'integer', minimum: 0 },
  },
} as const;

/** The method's label and spec, as `xsys evaluate --methods` would parse it (same validation, same labels). */
export function methodSpecOf(m: EvaluateMethod): MethodSpec {
  if (m.composite !== undefined && !COMPOSITE_NAMES.includes(m.composite)) throw new InvalidArgumentError('methods', `unknown LRP composite '${m.composite}'`, `composites: ${COMPOSITE_NAMES.join(', ')}`);
  const params = Object.entries(m.params ?? {});
  for (const [k, v] of params) if (!/^[A-Za-z_][\w-]*$/.test(k) || !Number.isFinite(v)) throw new InvalidArgumentError('methods', `'${m.method}': parameter '${k}' must be a name with a finite number`);
  const spec = `${m.method}${m.composite !== undefined ? `:${m.composite}` : ''}${params.length ? `(${params.map(([k, v]) => `${k}=${v}`).join(',')})` : ''}`;
  return parseMethodSpec(spec);
}

/** Samples `indices` of a registered dataset as an evaluation Dataset (labels when the dataset has them). */
export function datasetFromRegistry(registry: DatasetRegistry, name: string, indices: readonly number[]): Dataset {
  const first = registry.sample(name, indices[0]!);
  const per = first.data.length;
  const x = new Float32Array(per * indices.length);
  indices.forEach((i, k) => x.set(k === 0 ? first.data : registry.sample(name, i).data, k * per));
  const labels = indices.map((i) => registry.label(name, i));
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

function indicesOf(raw: Record<string, unknown>, size: number, dataset: string): number[] {
  if (raw.indices !== undefined) {
    const list = raw.indices as unknown[];
    if (!Array.isArray(list) || list.length === 0 || list.length > MAX_SAMPLES) throw new InvalidArgumentError('indices', `must be 1–${MAX_SAMPLES} sample indices`);
    for (const i of list) if (!Number.isInteger(i) || (i as number) < 0 || (i as number) >= size) throw new InvalidArgumentError('indices', `${String(i)} is not a sample of '${dataset}' (0–${size - 1})`);
    return list as number[];
  }
  const limit = raw.limit === undefined ? size : Number(raw.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > Math.min(size, MAX_SAMPLES)) throw new InvalidArgumentError('limit', `must be 1–${Math.min(size, MAX_SAMPLES)} (dataset '${dataset}' has ${size} samples)`);
  return Array.from({ length: limit }, (_, i) => i);
}

export function evaluateHandler(deps: { models: ModelService; datasets: DatasetRegistry; artefacts: ArtefactStore }): JobHandler<EvaluateParams> {
  return {
    kind: 'evaluate',
    description: 'score explanation methods with metrics (Quantus definitions) over samples of a dataset; the job result holds mean/std/n and per-sample scores per method × metric',
    paramsSchema: evaluateSchema,
    resumable: false,
    async prepare(raw) {
      const { modelId, dataset, size } = await jobModelAndDataset(raw, deps);
      const indices = indicesOf(raw, size, dataset);
      const methods = (raw.methods as EvaluateMethod[] | undefined) ?? [];
      if (!Array.isArray(methods) || methods.length === 0) throw new InvalidArgumentError('methods', 'no method given', `methods: ${METHOD_NAMES.join(', ')}`);
      const labels = new Set<string>();
      for (const m of methods) {
        if (!m || typeof m !== 'object' || typeof m.method !== 'string') throw new InvalidArgumentError('methods', `${JSON.stringify(m)} is not {method, composite?, params?}`, `methods: ${METHOD_NAMES.join(', ')}`);
        const id = methodSpecOf(m).id;
        if (labels.has(id)) throw new InvalidArgumentError('methods', `'${id}' is listed twice`);
        labels.add(id);
      }
      const metrics = (raw.metrics as string[] | undefined) ?? [];
      if (!Array.isArray(metrics) || metrics.length === 0) throw new InvalidArgumentError('metrics', 'no metric given', `metrics: ${METRIC_NAMES.join(', ')}`);
      for (const name of metrics) getMetric(name);
      if (new Set(metrics).size !== metrics.length) throw new InvalidArgumentError('metrics', 'a metric is listed twice');
      const metricParams = raw.metricParams as Record<string, MetricParams> | undefined;
      for (const [name, ps] of Object.entries(metricParams ?? {})) {
        if (!metrics.includes(name)) throw new InvalidArgumentError('metricParams', `metric '${name}' is not in metrics`);
        for (const [k, v] of Object.entries(ps ?? {})) if (!['number', 'string', 'boolean'].includes(typeof v)) throw new InvalidArgumentError('metricParams', `${name}.${k} must be a number, string or boolean`);
      }
      const target = (raw.target ?? 'pred') as 'pred' | 'label';
      if (target === 'label' && deps.datasets.summaryOf(dataset).labels === undefined) throw new InvalidArgumentError('target', `'label' needs labels; dataset '${dataset}' has none`, "use target 'pred'");
      // Refuse at submission what would fail on the first step: samples that do not fit the model, metrics needing masks.
      const first = datasetFromRegistry(deps.datasets, dataset, indices.slice(0, 1));
      (await deps.models.explainer(modelId)).validate({ data: first.x, dims: first.shape });
      const needMasks = metrics.filter((m) => getMetric(m).needs.masks);
      if (needMasks.length && raw.masks === undefined) {
        throw new InvalidArgumentError('masks', `${needMasks.map((m) => `'${m}'`).join(', ')} ${needMasks.length > 1 ? 'need' : 'needs'} localisation masks`, 'give a threshold (pixels whose [0, 1] intensity exceeds it; 0.5 marks MNIST strokes) or upload a .npy of binary masks');
      }
      let masks: StoredMasks | undefined;
      if (raw.masks !== undefined) {
        const data = datasetFromRegistry(deps.datasets, dataset, indices);
        masks = await prepareMasks(raw.masks, { datasets: deps.datasets, artefacts: deps.artefacts, dataset, indices, x: data.x, shape: data.shape });
      }
      resolveMetrics(metricRequests(metrics, metricParams), masks ? { ...first, masks: new Float32Array(first.x.length) } : first);
      const params: EvaluateParams = {
        modelId,
        dataset,
        indices,
        methods: methods.map((m) => ({ method: m.method, ...(m.composite !== undefined ? { composite: m.composite } : {}), ...(m.params ? { params: m.params } : {}) })),
        metrics,
        ...(metricParams ? { metricParams } : {}),
        ...(masks ? { masks } : {}),
        target,
        batchSize: raw.batchSize === undefined ? 64 : Number(raw.batchSize),
        seed: raw.seed === undefined ? 0 : Number(raw.seed),
      };
      return { params, total: stageCount(params) };
    },
    async run(ctx, p) {
      const data = datasetFromRegistry(deps.datasets, p.dataset, p.indices);
      if (p.masks) data.masks = await loadJobMasks(p.masks, { datasets: deps.datasets, artefacts: deps.artefacts, dataset: p.dataset, indices: p.indices, x: data.x, shape: data.shape });
      const model = await OrtModel.load(parseModel(await deps.models.bytes(p.modelId), p.modelId), { batchSize: p.batchSize });
      const stages = stageTracker(ctx.signal, stageLabels(p), (done, total) => {
        // Progress is advisory (the outcome is written once at the end): a failed progress write must not stop the evaluation.
        ctx.progress(done, total).catch(() => undefined);
      });
      const result = await runEvaluation({
        model,
        data,
        methods: p.methods.map(methodSpecOf),
        metrics: metricRequests(p.metrics, p.metricParams),
        target: p.target,
        batchSize: p.batchSize,
        seed: p.seed,
        onProgress: stages.onProgress,
      });
      if (ctx.signal.aborted) return;
      await ctx.saveResult(outcomeOf(result, p));
      await ctx.progress(stages.total, stages.total);
    },
  };
}

function metricRequests(names: readonly string[], params?: Record<string, MetricParams>): MetricRequest[] {
  return names.map((name) => ({ name, ...(params?.[name] ? { params: params[name] } : {}) }));
}

/** Progress unit: one stage of runEvaluation — explaining the samples with one method, or one metric of one method. */
function stageCount(p: Pick<EvaluateParams, 'methods' | 'metrics'>): number {
  return p.methods.length * (1 + p.metrics.length);
}

/** runEvaluation's stage labels in the order it runs them: per method, its explanations, then each metric. */
function stageLabels(p: Pick<EvaluateParams, 'methods' | 'metrics'>): string[] {
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
