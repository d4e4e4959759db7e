/**
 * `spray`: SpRAy over a registered dataset — the workbench side of `xsys spray`. The work is expressed as per-index
 * units (`sprayUnit`: the heatmap of one sample for the class) and a deterministic merge (`sprayMerge`: clustering the
 * units in index order), so a sharding queue can run the units anywhere and merge their results in one place; this
 * handler runs them in order itself. The clustering needs every heatmap, so an interrupted job is not resumed.
 */
import { InvalidArgumentError } from '../errors.js';
import { COMPOSITE_CHOICES } from '../composites/index.js';
import { explain } from '../methods/explain.js';
import { METHOD_NAMES, type MethodName } from '../methods/types.js';
import type { DatasetRegistry } from '../services/datasets.js';
import type { ModelService } from '../services/models.js';
import { size } from '../runtime/tensor.js';
import { spray } from '../strategies/spray.js';
import { jobModelAndDataset } from './params.js';
import { checkBounds } from './bounds.js';
import type { JobHandler } from './types.js';

/** Most samples one SpRAy job clusters (the kNN graph is O(n²) in time). */
export const SPRAY_MAX_SAMPLES = 5000;

export interface SprayParams extends Record<string, unknown> {
  modelId: string;
  dataset: string;
  class: number;
  method: MethodName;
  composite?: string;
  /** Dataset indices clustered, in order: the samples in [start, start+count) labelled `class` (all, without labels). */
  indices: number[];
  clusters?: number;
  maxClusters: number;
  neighbors: number;
  pool?: number;
  seed: number;
}

export const spraySchema = {
  type: 'object',
  required: ['modelId', 'dataset', 'class'],
  properties: {
    modelId: { type: 'string', pattern: '^[0-9a-f]{64}$' },
    dataset: { type: 'string', maxLength: 200 },
    class: { type: 'integer', minimum: 0, maximum: 100_000 },
    method: { type: 'string', enum: [...METHOD_NAMES] },
    composite: { type: 'string', enum: COMPOSITE_CHOICES },
    start: { type: 'integer', minimum: 0 },
    count: { type: 'integer', minimum: 3, maximum: 100_000 },
    clusters: { type: 'integer', minimum: 1, maximum: 50 },
    maxClusters: { type: 'integer', minimum: 2, maximum: 50 },
    neighbors: { type: 'integer', minimum: 1, maximum: 100 },
    pool: { type: 'integer', minimum: 1, maximum: 64 },
    seed: { type: 'integer', minimum: 0, maximum: 2 ** 31 - 1 },
  },
  additionalProperties: false,
} as const;

interface Deps {
  models: ModelService;
  datasets: DatasetRegistry;
}

/** The heatmap (summed over channels) of dataset sample `index`, explained for the job's class. */
export async function sprayUnit(deps: Deps, p: SprayParams, index: number): Promise<Float32Array> {
  const mx = await deps.models.explainer(p.modelId);
  const e = await explain(mx, deps.datasets.sample(p.dataset, index), { method: p.method, composite: p.composite, target: p.class });
  const [, c, h, w] = e.attribution.dims.length === 4 ? e.attribution.dims : [1, 1, 1, size(e.attribution.dims)];
  const out = new Float32Array(h! * w!);
  for (let ch = 0; ch < c!; ch++) for (let j = 0; j < out.length; j++) out[j]! += e.attribution.data[ch * out.length + j]!;
  return out;
}

/** Clusters the units (in `p.indices` order) and shapes the stored result; the same units always give the same result. */
export function sprayMerge(p: SprayParams, units: readonly Float32Array[], h: number, w: number): Record<string, unknown> {
  const n = units.length;
  const data = new Float32Array(n * h * w);
  units.forEach((u, i) => data.set(u, i * h * w));
  const r = spray({ data, n, h, w }, { clusters: p.clusters, maxClusters: Math.min(p.maxClusters, n - 1), neighbors: Math.min(p.neighbors, n - 1), pool: p.pool, seed: p.seed });
  return {
    class: p.class,
    method: p.method,
    h,
    w,
    suggestedClusters: r.suggestedClusters,
    eigenvalues: r.eigenvalues,
    eigengaps: r.eigengaps,
    clusters: r.clusters.map((c) => ({ label: c.label, size: c.size, members: c.members.map((m) => p.indices[m]!), meanHeatmap: Array.from(c.meanHeatmap, (v) => Math.round(v * 1e4) / 1e4) })),
    points: p.indices.map((index, k) => ({ index, cluster: r.labels[k]!, x: r.embedding![k * 2]!, y: r.embedding![k * 2 + 1]! })),
  };
}

export function sprayHandler(deps: Deps): JobHandler<SprayParams> {
  return {
    kind: 'spray',
    description: "SpRAy: cluster a class's heatmaps over a dataset range into strategies (eigengap, mean heatmaps, members, 2-D map)",
    paramsSchema: spraySchema,
    resumable: false,
    async prepare(raw) {
      checkBounds(raw, spraySchema);
      const { modelId, dataset, size: total } = await jobModelAndDataset(raw, deps);
      const summary = deps.datasets.summaryOf(dataset);
      if (summary.shape.length !== 3) throw new InvalidArgumentError('dataset', `SpRAy clusters image heatmaps; '${dataset}' has samples of shape [${summary.shape.join(', ')}]`);
      const start = raw.start === undefined ? 0 : Number(raw.start);
      if (!Number.isInteger(start) || start < 0 || start >= total) throw new InvalidArgumentError('start', `must be a sample index 0–${total - 1}`);
      const count = raw.count === undefined ? total - start : Math.min(Number(raw.count), total - start);
      const cls = Number(raw.class);
      const indices: number[] = [];
      for (let i = start; i < start + count; i++) if (!summary.labels || summary.labels[i] === cls) indices.push(i);
      if (indices.length < 3) throw new InvalidArgumentError('class', `only ${indices.length} samples of class ${cls} in samples ${start}–${start + count - 1}; SpRAy needs at least 3`);
      if (indices.length > SPRAY_MAX_SAMPLES) throw new InvalidArgumentError('count', `${indices.length} samples of class ${cls}; a SpRAy job takes at most ${SPRAY_MAX_SAMPLES}`, 'pass a smaller count');
      const mx = await deps.models.explainer(modelId);
      mx.validate(deps.datasets.sample(dataset, indices[0]!));
      const classes = size((await mx.scores(deps.datasets.sample(dataset, indices[0]!))).dims);
      if (!Number.isInteger(cls) || cls < 0 || cls >= classes) throw new InvalidArgumentError('class', `must be 0–${classes - 1}`);
      const params: SprayParams = {
        modelId,
        dataset,
        class: cls,
        method: (raw.method as MethodName | undefined) ?? 'lrp',
        ...(raw.composite !== undefined ? { composite: String(raw.composite) } : {}),
        indices,
        ...(raw.clusters !== undefined ? { clusters: Number(raw.clusters) } : {}),
        maxClusters: raw.maxClusters === undefined ? 10 : Number(raw.maxClusters),
        neighbors: raw.neighbors === undefined ? 10 : Number(raw.neighbors),
        ...(raw.pool !== undefined ? { pool: Number(raw.pool) } : {}),
        seed: raw.seed === undefined ? 0 : Number(raw.seed),
      };
      if (params.clusters !== undefined && params.clusters >= indices.length) throw new InvalidArgumentError('clusters', `must be below the number of samples (${indices.length})`);
      return { params, total: indices.length + 1 };
    },
    async run(ctx, p) {
      const units: Float32Array[] = [];
      const [, h, w] = deps.datasets.summaryOf(p.dataset).shape as [number, number, number];
      for (const index of p.indices) {
        if (ctx.signal.aborted) return;
        units.push(await sprayUnit(deps, p, index));
        ctx.progress(units.length, p.indices.length + 1).catch(() => undefined);
      }
      await ctx.saveResult(sprayMerge(p, units, h, w));
      await ctx.progress(p.indices.length + 1, p.indices.length + 1);
    },
  };
}
