import type { FastifyRequest } from 'fastify';
import type { ApiRoutes } from '../openapi.js';
import type { LensService } from '../../services/lens-service.js';
import { MAX_LENS_SAMPLES } from '../../lens/embed.js';
import { MAX_SEARCH_TOP, MAX_VOCABULARY } from '../../lens/search.js';
import { MAX_AUDIT_CONCEPTS } from '../../lens/audit.js';
import { MAX_STEER_FACTOR } from '../../lens/steer.js';
import { MAX_TEXT_LENGTH } from '../../lens/foundation.js';
import type { Box } from '../../concepts/atlas.js';
import { SHA256 } from '../schemas.js';

const tensorName = { type: 'string', minLength: 1, maxLength: 512 };
const indexId = { type: 'object', required: ['id'], properties: { id: { type: 'string', pattern: '^[0-9a-f]{24}$' } } };
const datasetName = { type: 'string', pattern: '^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$' };
const box = { type: 'array', items: { type: 'integer', minimum: 0 }, minItems: 4, maxItems: 4 };
const text = { type: 'string', minLength: 1, maxLength: MAX_TEXT_LENGTH };
const concepts = (max: number) => ({ type: 'array', maxItems: max, items: text });
const channel = { type: 'integer', minimum: 0, maximum: 1_000_000 };
const obj = { type: 'object', additionalProperties: true };
const hit = { type: 'object', required: ['layer', 'channel', 'rank', 'cosine', 'calibrated', 'clarity', 'strip'], properties: { layer: { type: 'string' }, channel: { type: 'integer' }, rank: { type: 'integer' }, cosine: { type: 'number' }, calibrated: { type: 'number' }, clarity: { type: 'number' }, label: { type: ['string', 'null'] }, polysemantic: { type: 'boolean' }, strip: { type: 'string', description: 'PNG data URL of the reference samples' } } };

/** Routes of the Lens view (SemanticLens, PURE, steering). Bounded: top ≤ 1000, vocabularies ≤ 1000, samples ≤ 64. */
export function lensRoutes(api: ApiRoutes, lens: LensService): void {
  api.add({
    method: 'GET',
    url: '/api/lens/foundations',
    summary: 'registered foundation models (image encoder, optional text encoder) that components can be embedded with',
    tag: 'lens',
    responses: { 200: ['application/json', { type: 'array', items: { type: 'object', required: ['name', 'dim', 'hasText', 'vocabulary', 'neutralPrompts'], properties: { name: { type: 'string' }, dim: { type: 'integer' }, hasText: { type: 'boolean' }, vocabulary: { type: 'array', items: { type: 'string' } }, neutralPrompts: { type: 'array', items: { type: 'string' } } } } }, 'foundation models'] },
    handler: async () => lens.listFoundations(),
  });
  api.add({
    method: 'GET',
    url: '/api/lens/indexes',
    summary: 'lens indexes (built by the lens-embed job): components of a model embedded with a foundation model',
    tag: 'lens',
    querystring: { type: 'object', properties: { modelId: SHA256 } },
    responses: { 200: ['application/json', { type: 'array', items: { type: 'object', required: ['id', 'referenceSet', 'modelId', 'dataset', 'foundation', 'spec', 'components', 'skipped', 'meanClarity'], properties: { id: { type: 'string' }, referenceSet: { type: 'string' }, modelId: { type: 'string' }, dataset: { type: 'string' }, foundation: { type: 'string' }, spec: obj, components: { type: 'integer' }, skipped: { type: 'integer' }, meanClarity: { type: 'number' } } } }, 'indexes'] },
    handler: async (req: FastifyRequest<{ Querystring: { modelId?: string } }>) => lens.list(req.query.modelId),
  });
  api.add({
    method: 'POST',
    url: '/api/lens/indexes/:id/search',
    summary: 'components ranked by cosine to a text (calibrated against neutral prompts) or to a dataset image (region), each with its reference samples; labels from a vocabulary when given',
    tag: 'lens',
    params: indexId,
    body: { type: 'object', additionalProperties: false, properties: { text, image: { type: 'object', required: ['dataset', 'index'], additionalProperties: false, properties: { dataset: datasetName, index: { type: 'integer', minimum: 0 }, box } }, top: { type: 'integer', minimum: 1, maximum: Math.min(MAX_SEARCH_TOP, 64) }, layers: { type: 'array', maxItems: 16, items: tensorName }, rankBy: { enum: ['cosine', 'calibrated'] }, vocabulary: concepts(MAX_VOCABULARY), threshold: { type: 'number', minimum: -2, maximum: 2 } } },
    responses: { 200: ['application/json', { type: 'object', required: ['query', 'results'], properties: { query: { type: 'string' }, results: { type: 'array', items: hit } } }, 'best first'] },
    handler: async (req: FastifyRequest<{ Params: { id: string }; Body: { text?: string; image?: { dataset: string; index: number; box?: Box }; top?: number; layers?: string[]; rankBy?: 'cosine' | 'calibrated'; vocabulary?: string[]; threshold?: number } }>) => lens.search(req.params.id, req.body),
  });
  api.add({
    method: 'POST',
    url: '/api/lens/indexes/:id/labels',
    summary: 'automatic labels: per component the best concept of a vocabulary (calibrated score, margin), none below the threshold',
    tag: 'lens',
    params: indexId,
    body: { type: 'object', required: ['vocabulary'], additionalProperties: false, properties: { vocabulary: { ...concepts(MAX_VOCABULARY), minItems: 1 }, threshold: { type: 'number', minimum: -2, maximum: 2 } } },
    responses: { 200: ['application/json', { type: 'array', items: { type: 'object', required: ['layer', 'channel', 'label', 'best', 'score', 'margin'], properties: { layer: { type: 'string' }, channel: { type: 'integer' }, label: { type: ['string', 'null'] }, best: { type: 'string' }, score: { type: 'number' }, margin: { type: 'number' } } } }, 'one label per component'] },
    handler: async (req: FastifyRequest<{ Params: { id: string }; Body: { vocabulary: string[]; threshold?: number } }>) => lens.labels(req.params.id, req.body),
  });
  api.add({
    method: 'GET',
    url: '/api/lens/indexes/:id/component',
    summary: "one component: clarity, polysemanticity hint, its nearest component (redundancy) and its reference samples",
    tag: 'lens',
    params: indexId,
    querystring: { type: 'object', required: ['layer', 'channel'], properties: { layer: tensorName, channel } },
    responses: { 200: ['application/json', { type: 'object', required: ['layer', 'channel', 'clarity', 'polysemanticity', 'samples', 'strip'], properties: { layer: { type: 'string' }, channel: { type: 'integer' }, clarity: { type: 'number' }, polysemanticity: obj, samples: { type: 'array' }, nearest: { anyOf: [obj, { type: 'null' }] }, strip: { type: 'string' } } }, 'the component'] },
    handler: async (req: FastifyRequest<{ Params: { id: string }; Querystring: { layer: string; channel: number } }>) => lens.component(req.params.id, req.query),
  });
  api.add({
    method: 'POST',
    url: '/api/lens/indexes/:id/pure',
    summary: "PURE: a component's circuits (relevance into a lower layer) on its top reference samples, clustered into virtual components with their own samples, embedding and clarity",
    tag: 'lens',
    params: indexId,
    body: { type: 'object', required: ['layer', 'channel', 'lower'], additionalProperties: false, properties: { layer: tensorName, channel, lower: tensorName, samples: { type: 'integer', minimum: 4, maximum: MAX_LENS_SAMPLES }, k: { type: 'integer', minimum: 1, maximum: 8 } } },
    responses: { 200: ['application/json', { type: 'object', required: ['k', 'silhouette', 'clarity', 'splitClarity', 'clearer', 'clusters', 'samples', 'strips'], properties: { k: { type: 'integer' }, silhouette: { type: 'number' }, clarity: { type: 'number' }, splitClarity: { type: 'number' }, clearer: { type: 'boolean' }, clusters: { type: 'array' }, samples: { type: 'array' }, tried: { type: 'array' }, strips: { type: 'array', items: { type: 'string' } } } }, 'the split'] },
    handler: async (req: FastifyRequest<{ Params: { id: string }; Body: { layer: string; channel: number; lower: string; samples?: number; k?: number } }>) => lens.pure(req.params.id, req.body),
  });
  api.add({
    method: 'POST',
    url: '/api/lens/indexes/:id/audit',
    summary: "audit a class: the share of its relevance at a layer through components labelled with the concepts it should and should not rely on, the spurious components and the samples that activate them",
    tag: 'lens',
    params: indexId,
    body: { type: 'object', required: ['layer', 'cls'], additionalProperties: false, properties: { layer: tensorName, cls: { type: 'integer', minimum: 0 }, should: concepts(MAX_AUDIT_CONCEPTS), shouldNot: concepts(MAX_AUDIT_CONCEPTS), threshold: { type: 'number', minimum: -2, maximum: 2 } } },
    responses: { 200: ['application/json', { type: 'object', required: ['layer', 'cls', 'samples', 'total', 'groups', 'validShare', 'spuriousShare', 'spurious', 'strips'], properties: { layer: { type: 'string' }, cls: { type: 'integer' }, samples: { type: 'integer' }, total: { type: 'number' }, groups: { type: 'array' }, validShare: { type: 'number' }, spuriousShare: { type: 'number' }, spurious: { type: 'array' }, strips: obj } }, 'the audit'] },
    handler: async (req: FastifyRequest<{ Params: { id: string }; Body: { layer: string; cls: number; should?: string[]; shouldNot?: string[]; threshold?: number } }>) => lens.audit(req.params.id, { ...req.body, should: req.body.should ?? [], shouldNot: req.body.shouldNot ?? [] }),
  });
  api.add({
    method: 'POST',
    url: '/api/lens/indexes/:id/steer',
    summary: "activation steering: components scaled by a factor (0 suppresses) compiled into the graph; one sample's prediction and LRP heatmap before and after; save registers the steered model",
    tag: 'lens',
    params: indexId,
    body: { type: 'object', required: ['layer', 'channels', 'factor', 'dataset', 'index'], additionalProperties: false, properties: { layer: tensorName, channels: { type: 'array', minItems: 1, maxItems: 4096, items: channel }, factor: { type: 'number', minimum: -MAX_STEER_FACTOR, maximum: MAX_STEER_FACTOR }, dataset: datasetName, index: { type: 'integer', minimum: 0 }, save: { type: 'boolean' } } },
    responses: { 200: ['application/json', { type: 'object', required: ['layer', 'channels', 'factor', 'before', 'after'], properties: { layer: { type: 'string' }, channels: { type: 'array', items: { type: 'integer' } }, factor: { type: 'number' }, before: obj, after: obj, modelId: { type: 'string' } } }, 'before and after'] },
    handler: async (req: FastifyRequest<{ Params: { id: string }; Body: { layer: string; channels: number[]; factor: number; dataset: string; index: number; save?: boolean } }>) => lens.steer(req.params.id, req.body),
  });
}
