/**
 * `pcx`: PCX prototypes over a registered dataset — the workbench side of `xsys prototypes`. Per-index units
 * (`pcxUnit`: one sample's relevance per channel of the layer for its label, and whether the model predicts the
 * label) and a deterministic merge (`pcxMerge`: a mixture per class over the correctly predicted samples, and every
 * such sample's prototype, log-likelihood, outlier flag and deviation), so a sharding queue can run the units apart.
 * The fit needs every unit, so an interrupted job is not resumed.
 */
import { InvalidArgumentError } from '../errors.js';
import { conceptVectors } from '../concepts/relevance.js';
import type { DatasetRegistry } from '../services/datasets.js';
import type { ModelService } from '../services/models.js';
import { size } from '../runtime/tensor.js';
import { assess, fitPrototypes } from '../strategies/pcx.js';
import { subset } from '../strategies/points.js';
import { jobModelAndDataset } from './params.js';
import { checkBounds } from './bounds.js';
import type { JobHandler } from './types.js';

export const PCX_MAX_SAMPLES = 20_000;

export interface PcxParams extends Record<string, unknown> {
  modelId: string;
  dataset: string;
  layer: string;
  start: number;
  count: number;
  prototypes?: number;
  maxPrototypes: number;
  covariance: 'full' | 'diag';
  outlierQuantile: number;
  seed: number;
}

export const pcxSchema = {
  type: 'object',
  required: ['modelId', 'dataset', 'layer'],
  properties: {
    modelId: { type: 'string', pattern: '^[0-9a-f]{64}$' },
    dataset: { type: 'string', maxLength: 200 },
    layer: { type: 'string', maxLength: 500 },
    start: { type: 'integer', minimum: 0 },
    count: { type: 'integer', minimum: 2, maximum: PCX_MAX_SAMPLES },
    prototypes: { type: 'integer', minimum: 1, maximum: 32 },
    maxPrototypes: { type: 'integer', minimum: 1, maximum: 32 },
    covariance: { type: 'string', enum: ['full', 'diag'] },
    outlierQuantile: { type: 'number', minimum: 0, maximum: 0.5 },
    seed: { type: 'integer', minimum: 0, maximum: 2 ** 31 - 1 },
  },
  additionalProperties: false,
} as const;

interface Deps {
  models: ModelService;
  datasets: DatasetRegistry;
}

export interface PcxUnit {
  index: number;
  label: number;
  correct: boolean;
  vector: Float64Array;
}

export async function pcxUnit(deps: Deps, p: PcxParams, index: number): Promise<PcxUnit> {
  const mx = await deps.models.explainer(p.modelId);
  const label = deps.datasets.label(p.dataset, index)!;
  const cv = await conceptVectors(mx, deps.datasets.sample(p.dataset, index), p.layer, label);
  const scores = cv.scores.data;
  let best = 0;
  for (let k = 1; k < scores.length; k++) if (scores[k]! > scores[best]!) best = k;
  return { index, label, correct: best === label, vector: cv.vectors.data };
}

export function pcxMerge(p: PcxParams, units: readonly PcxUnit[]): Record<string, unknown> {
  const kept = units.filter((u) => u.correct);
  if (kept.length < 2) throw new InvalidArgumentError('dataset', `only ${kept.length} correctly predicted samples; PCX needs at least 2 per class`);
  const d = kept[0]!.vector.length;
  const data = new Float64Array(kept.length * d);
  kept.forEach((u, i) => data.set(u.vector, i * d));
  const vectors = { data, n: kept.length, d };
  const fits = fitPrototypes(vectors, kept.map((u) => u.label), { prototypes: p.prototypes, maxPrototypes: p.maxPrototypes, covariance: p.covariance, outlierQuantile: p.outlierQuantile, seed: p.seed, minSamples: 2 });
  return {
    layer: p.layer,
    concepts: d,
    used: kept.length,
    samples: units.length,
    classes: fits.map((cp) => {
      const members = kept.map((u, i) => (u.label === cp.classIndex ? i : -1)).filter((i) => i >= 0);
      const a = assess(cp, subset(vectors, members), 5);
      return {
        class: cp.classIndex,
        threshold: cp.threshold,
        prototypes: cp.prototypes.map((q) => ({ index: q.index, weight: q.weight, size: q.size, mean: q.mean, topConcepts: q.topConcepts.slice(0, 6), closest: q.closest.map((i) => kept[i]!.index) })),
        outliers: a
          .map((r, k) => ({ index: kept[members[k]!]!.index, prototype: r.prototype, logLikelihood: r.logLikelihood, overUsed: r.overUsed, underUsed: r.underUsed, outlier: r.outlier }))
          .filter((r) => r.outlier)
          .sort((x, y) => x.logLikelihood - y.logLikelihood)
          .slice(0, 50)
          .map(({ outlier: _o, ...rest }) => rest),
      };
    }),
  };
}

export function pcxHandler(deps: Deps): JobHandler<PcxParams> {
  return {
    kind: 'pcx',
    description: 'PCX: per class, prototypes (Gaussian mixture) of the concept-relevance vectors at a layer, and the samples deviating from them',
    paramsSchema: pcxSchema,
    resumable: false,
    async prepare(raw) {
      checkBounds(raw, pcxSchema);
      const { modelId, dataset, size: total } = await jobModelAndDataset(raw, deps);
      if (!deps.datasets.summaryOf(dataset).labels) throw new InvalidArgumentError('dataset', `'${dataset}' has no labels; PCX fits prototypes per class`);
      const start = raw.start === undefined ? 0 : Number(raw.start);
      if (!Number.isInteger(start) || start < 0 || start >= total) throw new InvalidArgumentError('start', `must be a sample index 0–${total - 1}`);
      const count = raw.count === undefined ? Math.min(total - start, PCX_MAX_SAMPLES) : Number(raw.count);
      if (!Number.isInteger(count) || count < 2 || start + count > total) throw new InvalidArgumentError('count', `must be 2–${total - start}`);
      const layer = String(raw.layer);
      const mx = await deps.models.explainer(modelId);
      const t = await mx.forwardTensor(deps.datasets.sample(dataset, start), layer);
      if (t.dims.length < 2 || size(t.dims) > 1e6) throw new InvalidArgumentError('layer', `'${layer}' has shape [${t.dims.join(', ')}]; PCX needs a [1, channels, …] layer`);
      const params: PcxParams = {
        modelId,
        dataset,
        layer,
        start,
        count,
        ...(raw.prototypes !== undefined ? { prototypes: Number(raw.prototypes) } : {}),
        maxPrototypes: raw.maxPrototypes === undefined ? 8 : Number(raw.maxPrototypes),
        covariance: (raw.covariance as 'full' | 'diag' | undefined) ?? 'full',
        outlierQuantile: raw.outlierQuantile === undefined ? 0.05 : Number(raw.outlierQuantile),
        seed: raw.seed === undefined ? 0 : Number(raw.seed),
      };
      return { params, total: count + 1 };
    },
    async run(ctx, p) {
      const units: PcxUnit[] = [];
      for (let i = p.start; i < p.start + p.count; i++) {
        if (ctx.signal.aborted) return;
        units.push(await pcxUnit(deps, p, i));
        ctx.progress(units.length, p.count + 1).catch(() => undefined);
      }
      await ctx.saveResult(pcxMerge(p, units));
      await ctx.progress(p.count + 1, p.count + 1);
    },
  };
}
