/**
 * `lens-embed`: SemanticLens' dataset pass — every channel of the chosen layers of a reference set embedded in a
 * foundation model's space (its top reference samples cropped to the concept, one CRP run per channel for the crops,
 * one encoder run per layer). The index is written once at the end; a cancelled run leaves nothing behind and a
 * restart embeds again (the pass is seconds to a minute on the bundled example).
 */
import { InvalidArgumentError } from '../errors.js';
import { readReferenceFile } from '../concepts/store.js';
import { REFERENCE_STATS, type ReferenceStat } from '../concepts/atlas.js';
import { MAX_LENS_SAMPLES, type LensSpec } from '../lens/embed.js';
import type { ConceptService } from '../services/concept-service.js';
import { lensIndexId, type LensService } from '../services/lens-service.js';
import type { JobHandler } from './types.js';

export interface LensEmbedParams extends Record<string, unknown> {
  referenceSet: string;
  foundation: string;
  spec: LensSpec;
  index: string;
}

export const lensEmbedSchema = {
  type: 'object',
  required: ['referenceSet', 'foundation'],
  additionalProperties: false,
  properties: {
    referenceSet: { type: 'string', pattern: '^[0-9a-f]{24}$' },
    foundation: { type: 'string', minLength: 1, maxLength: 128 },
    layers: { type: 'array', minItems: 1, maxItems: 16, items: { type: 'string', minLength: 1, maxLength: 512 } },
    samples: { type: 'integer', minimum: 2, maximum: MAX_LENS_SAMPLES },
    stat: { enum: [...REFERENCE_STATS] },
    threshold: { type: 'number', minimum: 0, exclusiveMaximum: 1 },
  },
} as const;

export function lensEmbedHandler(deps: { lens: LensService; concepts: ConceptService }): JobHandler<LensEmbedParams> {
  return {
    kind: 'lens-embed',
    description: "SemanticLens: embed every channel of a reference set's layers in a foundation model's space (mean embedding of its cropped reference samples, clarity, polysemanticity hint)",
    paramsSchema: lensEmbedSchema,
    resumable: false,
    async prepare(raw) {
      const referenceSet = String(raw.referenceSet ?? '');
      const file = await readReferenceFile(deps.concepts.path(referenceSet)).catch(() => {
        throw new InvalidArgumentError('referenceSet', `no reference set ${referenceSet}`, 'build one with the concept-references job');
      });
      if (!file.complete) throw new InvalidArgumentError('referenceSet', `reference set ${referenceSet} is not complete`, 'resume its concept-references job first');
      const foundation = String(raw.foundation ?? '');
      deps.lens.foundation(foundation);
      const layers = Array.isArray(raw.layers) ? raw.layers.map(String) : file.provenance.spec.layers;
      for (const l of layers) if (!file.provenance.spec.layers.includes(l)) throw new InvalidArgumentError('layers', `'${l}' has no reference samples in set ${referenceSet}`, `its layers: ${file.provenance.spec.layers.join(', ')}`);
      const samples = raw.samples === undefined ? Math.min(16, file.provenance.spec.k) : Number(raw.samples);
      if (samples > file.provenance.spec.k) throw new InvalidArgumentError('samples', `the reference set keeps ${file.provenance.spec.k} samples per channel; ask for at most that many`);
      const spec: LensSpec = { layers, samples, stat: (raw.stat ?? 'relevance') as ReferenceStat, threshold: raw.threshold === undefined ? 0.1 : Number(raw.threshold) };
      const total = layers.reduce((a, l) => a + (file.state.layers[l]?.channels ?? 0), 0);
      return { params: { referenceSet, foundation, spec, index: lensIndexId(referenceSet, foundation, spec) }, total };
    },
    async run(ctx, p) {
      let last = 0;
      try {
        const index = await deps.lens.build(p, ctx.signal, (done, total) => {
          if (done - last >= 8 || done === total) {
            last = done;
            void ctx.progress(done, total);
          }
        });
        await ctx.saveResult({ index: p.index, components: index.components.length, skipped: index.skipped.length });
      } catch (e) {
        if (ctx.signal.aborted) return;
        throw e;
      }
    },
  };
}
