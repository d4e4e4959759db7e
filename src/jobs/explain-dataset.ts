/**
 * `explain-dataset`: explains every sample (or a range) of a registered dataset with one method and stores each
 * result. Each sample's result and the job's progress commit in one transaction, so after a crash the persisted
 * progress is exactly the number of stored results and a resumed run continues at the first missing sample.
 */
import { InvalidArgumentError } from '../errors.js';
import { METHOD_NAMES } from '../methods/types.js';
import { COMPOSITE_CHOICES, DEFAULT_COMPOSITE } from '../composites/index.js';
import type { MethodName } from '../methods/registry.js';
import { parseNpy } from '../io/npy.js';
import type { DatasetRegistry } from '../services/datasets.js';
import { explainSample, type ExplainedSample, type ExplainService } from '../services/explain-service.js';
import { checkComposite, type ModelService } from '../services/models.js';
import { completeParams, type ParamValues } from '../services/params.js';
import type { Store } from '../store/types.js';
import { b64, unb64, type ShardableKind, type ShardWork } from './shardable.js';
import type { JobHandler } from './types.js';
import { jobModelAndDataset } from './params.js';

export interface ExplainDatasetParams extends Record<string, unknown> {
  modelId: string;
  dataset: string;
  method: string;
  composite?: string;
  params?: Record<string, number | string>;
  target?: number | 'pred';
  /** First sample index (default 0). */
  start: number;
  /** Number of samples (default: to the end of the dataset). */
  count: number;
}

export const explainDatasetSchema = {
  type: 'object',
  required: ['modelId', 'dataset', 'method'],
  properties: {
    modelId: { type: 'string', pattern: '^[0-9a-f]{64}$' },
    dataset: { type: 'string' },
    method: { type: 'string', enum: [...METHOD_NAMES] },
    composite: { type: 'string', enum: COMPOSITE_CHOICES },
    params: { type: 'object', additionalProperties: { type: ['number', 'string'] } },
    target: { anyOf: [{ type: 'integer', minimum: 0 }, { const: 'pred' }] },
    start: { type: 'integer', minimum: 0 },
    count: { type: 'integer', minimum: 1 },
  },
} as const;

/** Items of a delivered shard whose artefacts are written at the same time. */
const PERSIST_CONCURRENCY = 16;

export type ExplainDatasetDeps = { store: Store; models: ModelService; datasets: DatasetRegistry; explainer: ExplainService };

/** One explained sample as a worker delivers it. */
interface ExplainedItem extends Record<string, unknown> {
  index: number;
  method: string;
  composite: string | null;
  params: Record<string, number | string>;
  target: number;
  attribution: string;
  heatmap?: string;
  relevanceSum: number;
  topk: { class: number; score: number; prob: number }[];
  compileMs: number;
  runMs: number;
}

/** The worker half of explain-dataset: item k of a shard is sample start + range.start + k. */
export const explainDatasetWork: ShardWork<ExplainDatasetParams> = async (env, p, range) => {
  const mx = await env.model();
  const ds = await env.dataset();
  const items: ExplainedItem[] = [];
  for (let k = 0; k < range.count; k++) {
    if (env.signal.aborted) throw env.signal.reason ?? new Error('cancelled');
    const index = p.start + range.start + k;
    const tensor = ds.sample(index);
    mx.validate(tensor);
    const e = await explainSample(mx, tensor, { method: p.method, composite: p.composite, params: p.params }, p.target ?? 'pred');
    items.push({
      index,
      method: e.method,
      composite: e.composite,
      params: e.params,
      target: e.target,
      attribution: b64(e.attributionNpy),
      ...(e.heatmapPng ? { heatmap: b64(e.heatmapPng) } : {}),
      relevanceSum: e.relevanceSum,
      topk: e.topk,
      compileMs: e.compileMs,
      runMs: e.runMs,
    });
    env.itemDone();
  }
  return { items };
};

/**
 * explain-dataset on the queue: item p is sample start+p; a worker explains its range with the same function the
 * server uses (explainSample), the server stores the delivered results with the shard in one transaction.
 */
export function explainDatasetShards(deps: ExplainDatasetDeps): ShardableKind<ExplainDatasetParams> {
  return {
    defaultShardSize: 50,
    items: (p) => p.count,
    needs: (p) => ({ modelSha256: p.modelId, dataset: { name: p.dataset, sha256: deps.datasets.sha256(p.dataset) } }),
    work: explainDatasetWork,
    async persist(job, range, output, worker) {
      const p = job.params as ExplainDatasetParams;
      const model = await deps.models.get(p.modelId);
      if (output.items.length !== range.count) throw new InvalidArgumentError('items', `shard ${range.index} has ${range.count} samples, ${output.items.length} were delivered`);
      // Artefact writes are file I/O: items are stored concurrently (in order of their records) so a shard's hundreds
      // of small writes overlap instead of queueing one by one behind the disk.
      const store = async (raw: Record<string, unknown>, k: number) => {
        const item = raw as ExplainedItem;
        const index = p.start + range.start + k;
        if (item.index !== index) throw new InvalidArgumentError('items', `item ${k} of shard ${range.index} is sample ${item.index}, expected ${index}`);
        if (item.method !== p.method) throw new InvalidArgumentError('items', `item ${k} was explained with '${item.method}', the job asks for '${p.method}'`);
        const input = await deps.explainer.sampleRecord(p.dataset, index);
        const attributionNpy = unb64(String(item.attribution));
        // A worker's attribution must have the sample's shape (it is served back to clients as this input's map).
        const dims = parseNpy(attributionNpy, `attribution of sample ${index}`).shape;
        if (dims.join(',') !== input.dims.join(',')) throw new InvalidArgumentError('items', `attribution of sample ${index} has shape [${dims.join(', ')}], the input [${input.dims.join(', ')}]`);
        const explained: ExplainedSample = {
          method: p.method as ExplainedSample['method'],
          composite: item.composite,
          params: item.params,
          target: Number(item.target),
          attributionNpy,
          ...(typeof item.heatmap === 'string' ? { heatmapPng: unb64(item.heatmap) } : {}),
          relevanceSum: Number(item.relevanceSum),
          topk: item.topk,
          compileMs: Number(item.compileMs),
          runMs: Number(item.runMs),
        };
        return deps.explainer.recordOf(model, input, { method: p.method, composite: p.composite, params: p.params }, p.target ?? 'pred', explained, { cached: k > 0, jobId: job.id, inputSource: { kind: 'sample', dataset: p.dataset, index } });
      };
      const records: Awaited<ReturnType<typeof store>>[] = [];
      for (let k = 0; k < output.items.length; k += PERSIST_CONCURRENCY) {
        records.push(...(await Promise.all(output.items.slice(k, k + PERSIST_CONCURRENCY).map((raw, j) => store(raw, k + j)))));
      }
      return deps.store.saveShard({ jobId: job.id, index: range.index, size: range.count, worker, createdAt: new Date().toISOString() }, records);
    },
  };
}

export function explainDatasetHandler(deps: ExplainDatasetDeps): JobHandler<ExplainDatasetParams> {
  return {
    shards: explainDatasetShards(deps),
    kind: 'explain-dataset',
    description: 'explain every sample (or samples start … start+count−1) of a dataset with one method; results are stored',
    paramsSchema: explainDatasetSchema,
    resumable: true,
    async prepare(raw) {
      const { modelId, dataset, size } = await jobModelAndDataset(raw, deps);
      const method = String(raw.method ?? '');
      if (!METHOD_NAMES.includes(method as (typeof METHOD_NAMES)[number])) throw new InvalidArgumentError('method', `unknown method '${method}'`, `methods: ${METHOD_NAMES.join(', ')}`);
      const start = raw.start === undefined ? 0 : Number(raw.start);
      if (!Number.isInteger(start) || start < 0 || start >= size) throw new InvalidArgumentError('start', `must be a sample index 0–${size - 1}`);
      // Refuse at submission, not on the first sample, a dataset whose samples do not fit the model's input.
      (await deps.models.explainer(modelId)).validate(deps.datasets.sample(dataset, start));
      const count = raw.count === undefined ? size - start : Number(raw.count);
      if (!Number.isInteger(count) || count < 1 || start + count > size) throw new InvalidArgumentError('count', `must be 1–${size - start} (dataset '${dataset}' has ${size} samples)`);
      // Checked and completed at submission: the job (and its view) names every value its results are computed with.
      const composite = method === 'lrp' ? checkComposite(raw.composite === undefined ? DEFAULT_COMPOSITE : String(raw.composite)) : null;
      const methodParams = completeParams(method as MethodName, composite, (raw.params ?? {}) as ParamValues, deps.explainer.limits);
      const params: ExplainDatasetParams = {
        modelId,
        dataset,
        method,
        ...(raw.composite !== undefined ? { composite: String(raw.composite) } : {}),
        ...(Object.keys(methodParams).length ? { params: methodParams } : {}),
        ...(raw.target !== undefined ? { target: raw.target as number | 'pred' } : {}),
        start,
        count,
      };
      return { params, total: count };
    },
    async run(ctx, p) {
      for (let done = ctx.job.progress.done; done < p.count; done++) {
        if (ctx.signal.aborted) return;
        const result = await deps.explainer.explain(
          { modelId: p.modelId, input: { kind: 'sample', dataset: p.dataset, index: p.start + done }, method: p.method, composite: p.composite, params: p.params, target: p.target },
          { id: ctx.job.id, progress: { done: done + 1, total: p.count } },
        );
        await ctx.progress(done + 1, p.count, { resultId: result.id, persisted: true });
      }
    },
  };
}
