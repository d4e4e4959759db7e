/**
 * `explain-dataset`: explains every sample (or a range) of a registered dataset with one method and stores each
 * result. Each sample's result and the job's progress commit in one transaction, so after a crash the persisted
 * progress is exactly the number of stored results and a resumed run continues at the first missing sample.
 */
import { InvalidArgumentError } from '../errors.js';
import { METHOD_NAMES } from '../methods/types.js';
import { COMPOSITE_NAMES } from '../composites/index.js';
import type { DatasetRegistry } from '../services/datasets.js';
import type { ExplainService } from '../services/explain-service.js';
import type { ModelService } from '../services/models.js';
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
    composite: { type: 'string', enum: COMPOSITE_NAMES },
    params: { type: 'object', additionalProperties: { type: ['number', 'string'] } },
    target: { anyOf: [{ type: 'integer', minimum: 0 }, { const: 'pred' }] },
    start: { type: 'integer', minimum: 0 },
    count: { type: 'integer', minimum: 1 },
  },
} as const;

export function explainDatasetHandler(deps: { models: ModelService; datasets: DatasetRegistry; explainer: ExplainService }): JobHandler<ExplainDatasetParams> {
  return {
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
      const params: ExplainDatasetParams = {
        modelId,
        dataset,
        method,
        ...(raw.composite !== undefined ? { composite: String(raw.composite) } : {}),
        ...(raw.params !== undefined ? { params: raw.params as Record<string, number | string> } : {}),
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
