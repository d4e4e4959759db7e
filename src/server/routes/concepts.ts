import type { FastifyRequest } from 'fastify';
import { COMPOSITE_CHOICES } from '../../composites/index.js';
import { MAX_K } from '../../concepts/references.js';
import { REFERENCE_STATS, type ReferenceStat } from '../../concepts/atlas.js';
import type { ApiRoutes } from '../openapi.js';
import type { ConceptService } from '../../services/concept-service.js';
import { SHA256 } from '../schemas.js';

const tensorName = { type: 'string', minLength: 1, maxLength: 512 };
const channelList = { type: 'array', items: { type: 'object', required: ['channel', 'relevance', 'share'], properties: { channel: { type: 'integer' }, relevance: { type: 'number' }, share: { type: 'number' } } } };
const refSetId = { type: 'string', pattern: '^[0-9a-f]{24}$' };
const box = { type: 'array', items: { type: 'integer' }, minItems: 4, maxItems: 4 };

/** Routes of the Concepts view (CRP). Everything is bounded: concepts ≤ 32, reference samples ≤ MAX_K per request. */
export function conceptRoutes(api: ApiRoutes, concepts: ConceptService): void {
  api.add({
    method: 'GET',
    url: '/api/models/:id/concepts/layers',
    summary: 'the layers of a model whose channels can be explained as concepts (convolution and linear outputs)',
    tag: 'concepts',
    params: { type: 'object', required: ['id'], properties: { id: SHA256 } },
    responses: { 200: ['application/json', { type: 'array', items: { type: 'object', required: ['tensor', 'opType', 'shape', 'channels'], properties: { tensor: { type: 'string' }, opType: { type: 'string' }, shape: { type: 'array' }, channels: { type: 'integer' } } } }, 'layers in graph order'] },
    handler: async (req: FastifyRequest<{ Params: { id: string } }>) => concepts.layers(req.params.id),
  });
  api.add({
    method: 'POST',
    url: '/api/concepts/explain',
    summary: "a dataset sample's prediction explained by concepts: the top channels of a layer with their relevance shares and conditional heatmaps (CRP, one run), optionally split into sub-concepts of a lower layer",
    tag: 'concepts',
    body: {
      type: 'object',
      required: ['modelId', 'dataset', 'index', 'layer'],
      additionalProperties: false,
      properties: {
        modelId: SHA256,
        dataset: { type: 'string', pattern: '^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$' },
        index: { type: 'integer', minimum: 0 },
        layer: tensorName,
        lower: tensorName,
        target: { anyOf: [{ type: 'integer', minimum: 0 }, { const: 'pred' }] },
        top: { type: 'integer', minimum: 1, maximum: 32 },
        composite: { type: 'string', enum: COMPOSITE_CHOICES },
      },
    },
    responses: {
      200: [
        'application/json',
        { type: 'object', required: ['target', 'layer', 'total', 'channels', 'concepts'], properties: { target: { type: 'integer' }, layer: { type: 'string' }, lower: { type: 'string' }, total: { type: 'number' }, channels: { type: 'integer' }, concepts: { type: 'array', items: { type: 'object', required: ['channel', 'relevance', 'share', 'heatmap'], properties: { channel: { type: 'integer' }, relevance: { type: 'number' }, share: { type: 'number' }, heatmap: { type: 'string', description: 'PNG data URL' }, subConcepts: channelList } } } } },
        'the concepts, most relevant first',
      ],
    },
    handler: async (req: FastifyRequest<{ Body: { modelId: string; dataset: string; index: number; layer: string; lower?: string; target?: number | 'pred'; top?: number; composite?: string } }>) => concepts.explain(req.body),
  });
  api.add({
    method: 'GET',
    url: '/api/concepts/references',
    summary: 'reference-sample sets (built by the concept-references job), with their progress',
    tag: 'concepts',
    querystring: { type: 'object', properties: { modelId: SHA256 } },
    responses: { 200: ['application/json', { type: 'array', items: { type: 'object', required: ['id', 'modelId', 'dataset', 'spec', 'processed', 'total', 'complete'], properties: { id: { type: 'string' }, modelId: { type: 'string' }, dataset: { type: 'string' }, spec: { type: 'object' }, processed: { type: 'integer' }, total: { type: 'integer' }, complete: { type: 'boolean' } } } }, 'reference sets'] },
    handler: async (req: FastifyRequest<{ Querystring: { modelId?: string } }>) => concepts.list(req.query.modelId),
  });
  api.add({
    method: 'GET',
    url: '/api/concepts/references/:id/samples',
    summary: "a channel's reference samples (by relevance, activation or maximal activation; per class with cls), each cropped to where the concept's conditional relevance exceeds threshold × its maximum",
    tag: 'concepts',
    params: { type: 'object', required: ['id'], properties: { id: refSetId } },
    querystring: { type: 'object', required: ['layer', 'channel'], properties: { layer: tensorName, channel: { type: 'integer', minimum: 0, maximum: 1_000_000 }, n: { type: 'integer', minimum: 1, maximum: MAX_K }, stat: { type: 'string', enum: [...REFERENCE_STATS] }, cls: { type: 'integer', minimum: 0 }, threshold: { type: 'number', minimum: 0, exclusiveMaximum: 1 } } },
    responses: { 200: ['application/json', { type: 'array', items: { type: 'object', required: ['index', 'value', 'target', 'box', 'crop', 'heatmap'], properties: { index: { type: 'integer' }, value: { type: 'number' }, target: { type: 'integer' }, box, crop: { type: 'string' }, heatmap: { type: 'string' } } } }, 'best first'] },
    handler: async (req: FastifyRequest<{ Params: { id: string }; Querystring: { layer: string; channel: number; n?: number; stat?: ReferenceStat; cls?: number; threshold?: number } }>) => concepts.samples(req.params.id, req.query),
  });
  api.add({
    method: 'GET',
    url: '/api/concepts/references/:id/atlas',
    summary: "a class's concept atlas: the channels with the highest mean relevance for the class over the dataset, with reference samples; compare a second class",
    tag: 'concepts',
    params: { type: 'object', required: ['id'], properties: { id: refSetId } },
    querystring: { type: 'object', required: ['layer', 'cls'], properties: { layer: tensorName, cls: { type: 'integer', minimum: 0 }, compare: { type: 'integer', minimum: 0 }, top: { type: 'integer', minimum: 1, maximum: 64 }, refs: { type: 'integer', minimum: 0, maximum: MAX_K } } },
    responses: { 200: ['application/json', { type: 'object', required: ['layer', 'cls', 'samples', 'concepts'], properties: { layer: { type: 'string' }, cls: { type: 'integer' }, samples: { type: 'integer' }, concepts: { type: 'array' }, comparison: { type: 'object' } } }, 'the atlas'] },
    handler: async (req: FastifyRequest<{ Params: { id: string }; Querystring: { layer: string; cls: number; compare?: number; top?: number; refs?: number } }>) => concepts.atlas(req.params.id, req.query),
  });
}
