/**
 * `evaluate`: scores explanation methods with Quantus metrics over samples of a registered dataset — the workbench
 * side of `xsys evaluate`. It runs src/evaluation's runEvaluation unchanged, so a job's numbers are the library's.
 *
 * The outcome (per method × metric mean/std/n, per-sample scores, provenance) is stored on the job in one write when
 * the evaluation finishes. An evaluation is all-or-nothing (its metrics need every explanation), so an interrupted job
 * is not resumed: the next start marks it failed and the user starts it again. On the queue (evaluate-shards.ts) the
 * samples are split into shards whose per-sample scores are merged; there a restart resumes from the stored shards.
 */
import { InvalidArgumentError } from '../errors.js';
import { COMPOSITE_CHOICES, DEFAULT_COMPOSITE } from '../composites/index.js';
import { runEvaluation, resolveMetrics } from '../evaluation/evaluate.js';
import { OrtModel } from '../evaluation/ort-model.js';
import { METRIC_NAMES, getMetric } from '../metrics/index.js';
import type { MetricParams } from '../metrics/types.js';
import { datasetFromRegistry, methodSpecOf, metricRequests, outcomeOf, stageCount, stageLabels, stageTracker, type EvaluateParams } from './evaluate-outcome.js';
import type { MethodSpec } from '../methods/types.js';
import { METHOD_NAMES } from '../methods/types.js';
import { parseModel } from '../onnx/model.js';
import type { DatasetRegistry } from '../services/datasets.js';
import type { ModelService } from '../services/models.js';
import type { JobHandler } from './types.js';
import { jobModelAndDataset } from './params.js';
import { evaluateShards, type EvaluateDeps } from './evaluate-shards.js';
import { loadJobMasks, masksSchema, prepareMasks, type StoredMasks } from './masks.js';

export * from './evaluate-outcome.js';

const MAX_SAMPLES = 10_000;

const methodSchema = {
  type: 'object',
  required: ['method'],
  properties: {
    method: { type: 'string', enum: [...METHOD_NAMES] },
    composite: { type: 'string', enum: COMPOSITE_CHOICES, description: `LRP only (default ${DEFAULT_COMPOSITE})` },
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

export function evaluateHandler(deps: EvaluateDeps): JobHandler<EvaluateParams> {
  return {
    shards: evaluateShards(deps),
    kind: 'evaluate',
    description: 'score explanation methods with metrics (Quantus definitions) over samples of a dataset; the job result holds mean/std/n and per-sample scores per method × metric',
    paramsSchema: evaluateSchema,
    resumable: false,
    async prepare(raw) {
      const { modelId, dataset, size } = await jobModelAndDataset(raw, deps);
      const indices = indicesOf(raw, size, dataset);
      const methods = (raw.methods as MethodSpec[] | undefined) ?? [];
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
        masks = await prepareMasks(raw.masks, { datasets: deps.datasets, artefacts: deps.store.artefacts, dataset, indices, x: data.x, shape: data.shape });
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
      if (p.masks) data.masks = await loadJobMasks(p.masks, { datasets: deps.datasets, artefacts: deps.store.artefacts, dataset: p.dataset, indices: p.indices, x: data.x, shape: data.shape });
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

