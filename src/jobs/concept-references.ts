/**
 * `concept-references`: builds the reference samples of a model on a registered dataset (CRP's FeatureVisualization:
 * top-k samples per channel of the chosen layers by activation and relevance). The work is per sample range
 * (`collectRange`) with a deterministic merge (`mergeStates`); here one worker runs the ranges in order and saves the
 * merged state after each chunk, so cancel and restart resume from the last saved chunk. On the queue the chunks are
 * shards computed by workers (concept-references-shards.ts).
 */
import { InvalidArgumentError } from '../errors.js';
import { COMPOSITE_CHOICES, DEFAULT_COMPOSITE } from '../composites/index.js';
import { buildReferences } from '../concepts/store.js';
import { MAX_K, MAX_LAYERS, type ReferenceSpec } from '../concepts/references.js';
import { parseModel } from '../onnx/model.js';
import type { ModelService } from '../services/models.js';
import { referenceSetId } from '../services/concept-service.js';
import type { JobHandler } from './types.js';
import { jobModelAndDataset } from './params.js';
import { conceptReferencesShards, REFERENCE_BATCH, REFERENCE_CHUNK, referenceSpecOf, type ConceptReferencesDeps, type ConceptReferencesParams } from './concept-references-shards.js';

export type { ConceptReferencesParams } from './concept-references-shards.js';

export const conceptReferencesSchema = {
  type: 'object',
  required: ['modelId', 'dataset', 'layers'],
  additionalProperties: false,
  properties: {
    modelId: { type: 'string', pattern: '^[0-9a-f]{64}$' },
    dataset: { type: 'string', pattern: '^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$' },
    layers: { type: 'array', minItems: 1, maxItems: MAX_LAYERS, items: { type: 'string', minLength: 1, maxLength: 512 } },
    k: { type: 'integer', minimum: 1, maximum: MAX_K },
    composite: { type: 'string', enum: COMPOSITE_CHOICES },
    targets: { enum: ['prediction', 'label'] },
  },
} as const;

export function conceptReferencesHandler(deps: ConceptReferencesDeps & { models: ModelService }): JobHandler<ConceptReferencesParams> {
  return {
    shards: conceptReferencesShards(deps),
    kind: 'concept-references',
    description: 'reference samples of concepts: for every channel of the chosen layers, the top-k samples of a dataset by activation and by relevance (overall and per class); resumable',
    paramsSchema: conceptReferencesSchema,
    resumable: true,
    async prepare(raw) {
      const { modelId, dataset, size } = await jobModelAndDataset(raw, deps);
      if (size === 0) throw new InvalidArgumentError('dataset', `dataset '${dataset}' is empty`);
      const layers = Array.isArray(raw.layers) ? raw.layers.map(String) : [];
      const k = raw.k === undefined ? 8 : Number(raw.k);
      const composite = raw.composite === undefined ? DEFAULT_COMPOSITE : String(raw.composite);
      const targets = (raw.targets ?? 'prediction') as 'prediction' | 'label';
      if (targets === 'label' && !deps.datasets.summaryOf(dataset).labels) throw new InvalidArgumentError('targets', `dataset '${dataset}' has no labels; use 'prediction'`);
      const known = new Map((await deps.concepts.layers(modelId)).map((l) => [l.tensor, l]));
      for (const l of layers) if (!known.has(l)) throw new InvalidArgumentError('layers', `'${l}' is not a layer with channels of this model`, `layers: ${[...known.keys()].slice(0, 12).join(', ')}`);
      const spec: ReferenceSpec = { layers, k, composite, targets, absNorm: true };
      return { params: { modelId, dataset, layers, k, composite, targets, referenceSet: referenceSetId(modelId, dataset, spec) }, total: size };
    },
    async run(ctx, p) {
      await deps.concepts.ensureDir();
      const spec = referenceSpecOf(p);
      const model = parseModel(await deps.models.bytes(p.modelId));
      let last = 0;
      try {
        const file = await buildReferences({
          model,
          modelSha256: p.modelId,
          source: deps.concepts.source(p.dataset),
          datasetName: p.dataset,
          spec,
          path: deps.concepts.path(p.referenceSet),
          signal: ctx.signal,
          batch: REFERENCE_BATCH,
          chunk: REFERENCE_CHUNK,
          onProgress: (done, total) => {
            // Progress reports are cheap but not free: every 64 samples and at the end.
            if (done - last >= 64 || done === total) {
              last = done;
              void ctx.progress(done, total);
            }
          },
        });
        await ctx.saveResult({ referenceSet: p.referenceSet, processed: file.processed, complete: file.complete });
      } catch (e) {
        if (ctx.signal.aborted) return;
        throw e;
      }
    },
  };
}
