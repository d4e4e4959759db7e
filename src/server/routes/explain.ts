import type { FastifyReply, FastifyRequest } from 'fastify';

import { parseNpy, toFloat32 } from '../../io/npy.js';
import type { ApiRoutes } from '../openapi.js';
import type { ServerContext } from '../context.js';
import type { ExplainRequest } from '../../services/explain-service.js';
import type { MethodSpec } from '../../methods/types.js';
import { HttpProblem, notFound } from '../problem.js';
import { SHA256, ULID, cmapQuery, compareRequestSchema, explainRequestSchema } from '../schemas.js';

const ResultWithTopk = { $ref: '#/components/schemas/ResultRecord' };

export function explainRoutes(api: ApiRoutes, ctx: ServerContext): void {
  api.add({
    method: 'POST',
    url: '/api/explain',
    summary: 'explain one input with one method; the result is stored (history) with its artefacts and provenance',
    tag: 'explain',
    body: explainRequestSchema,
    responses: { 200: ['application/json', ResultWithTopk, 'the stored result with the top classes'] },
    handler: async (req: FastifyRequest<{ Body: ExplainRequest }>) => ctx.explainer.explain(req.body),
  });
  api.add({
    method: 'POST',
    url: '/api/compare',
    summary: 'explain one input with several methods',
    tag: 'explain',
    body: compareRequestSchema,
    responses: { 200: ['application/json', { type: 'object', required: ['results'], properties: { results: { type: 'array', items: ResultWithTopk } } }, 'one result per method, in request order'] },
    handler: async (req: FastifyRequest<{ Body: Omit<ExplainRequest, 'method'> & { methods: MethodSpec[] } }>) => {
      const { methods, ...rest } = req.body;
      return { results: await ctx.explainer.compare(rest, methods) };
    },
  });
  api.add({
    method: 'GET',
    url: '/api/results',
    summary: 'history: stored results, newest first',
    tag: 'results',
    querystring: { type: 'object', properties: { modelId: SHA256, jobId: ULID, before: ULID, limit: { type: 'integer', minimum: 1, maximum: 500 } } },
    responses: { 200: ['application/json', { type: 'array', items: ResultWithTopk }, 'results'] },
    handler: async (req: FastifyRequest<{ Querystring: { modelId?: string; jobId?: string; before?: string; limit?: number } }>) => ctx.store.results.list(req.query),
  });
  api.add({
    method: 'GET',
    url: '/api/results/:id',
    summary: 'one result with its provenance',
    tag: 'results',
    params: { type: 'object', required: ['id'], properties: { id: ULID } },
    responses: { 200: ['application/json', ResultWithTopk, 'the result'] },
    handler: async (req: FastifyRequest<{ Params: { id: string } }>) => {
      const r = await ctx.store.results.get(req.params.id);
      if (!r) throw notFound(`no result with id ${req.params.id}`);
      return r;
    },
  });
  api.add({
    method: 'DELETE',
    url: '/api/results/:id',
    summary: 'delete a result from History (its artefacts stay: they are content-addressed and may be shared)',
    tag: 'results',
    params: { type: 'object', required: ['id'], properties: { id: ULID } },
    responses: { 204: ['', null, 'deleted'] },
    handler: async (req: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply) => {
      if (!(await ctx.store.results.delete(req.params.id))) throw notFound(`no result with id ${req.params.id}`);
      return reply.code(204).send();
    },
  });
  api.add({
    method: 'POST',
    url: '/api/results/:id/reproduce',
    summary: 'recompute a result from its record and report the difference (maxRelDiff is relative to max |original|)',
    tag: 'results',
    params: { type: 'object', required: ['id'], properties: { id: ULID } },
    responses: { 200: ['application/json', 'Reproduction', 'the comparison; the recomputed result is stored too'] },
    handler: async (req: FastifyRequest<{ Params: { id: string } }>) => ctx.explainer.reproduce(req.params.id),
  });
  api.add({
    method: 'GET',
    url: '/api/artefacts/:sha256',
    summary: 'artefact bytes (PNG heatmap, .npy attribution or input, ONNX); ?cmap= renders a .npy attribution as a heatmap',
    tag: 'results',
    params: { type: 'object', required: ['sha256'], properties: { sha256: SHA256 } },
    querystring: { type: 'object', properties: { cmap: cmapQuery } },
    responses: { 200: ['application/octet-stream', null, 'the artefact, with its content type'] },
    handler: async (req: FastifyRequest<{ Params: { sha256: string }; Querystring: { cmap?: string } }>, reply: FastifyReply) => {
      const a = await ctx.store.artefacts.get(req.params.sha256);
      if (!a) throw notFound(`no artefact ${req.params.sha256}`);
      reply.header('cache-control', 'public, max-age=31536000, immutable').header('etag', `"${a.record.sha256}"`).header('x-content-type-options', 'nosniff');
      if (req.query.cmap) {
        if (a.record.contentType !== 'application/x-npy') throw new HttpProblem(400, 'invalid-argument', 'Invalid argument', 'cmap: only .npy attributions can be re-rendered');
        const arr = parseNpy(a.bytes, req.params.sha256);
        const png = await ctx.explainer.renderHeatmap(toFloat32(arr), arr.shape.slice(1), req.query.cmap);
        return reply.type('image/png').send(Buffer.from(png));
      }
      return reply.type(a.record.contentType).send(Buffer.from(a.bytes.buffer, a.bytes.byteOffset, a.bytes.byteLength));
    },
  });
}
