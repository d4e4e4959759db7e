import type { FastifyReply, FastifyRequest } from 'fastify';

import { HttpProblem } from '../problem.js';
import type { ApiRoutes } from '../openapi.js';
import type { ServerContext } from '../context.js';
import { SHA256 } from '../schemas.js';
import { COMPOSITE_CHOICES } from '../../composites/index.js';

const idParams = { type: 'object', required: ['id'], properties: { id: SHA256 } };
type IdReq = FastifyRequest<{ Params: { id: string } }>;

export function modelRoutes(api: ApiRoutes, ctx: ServerContext): void {
  api.add({
    method: 'GET',
    url: '/api/models',
    summary: 'list models',
    tag: 'models',
    responses: { 200: ['application/json', { type: 'array', items: { $ref: '#/components/schemas/ModelSummary' } }, 'models, oldest first'] },
    handler: async () => ctx.store.models.list(),
  });
  api.add({
    method: 'POST',
    url: '/api/models',
    summary: 'upload an ONNX model (validated: parsed and inspected by the compiler before it is stored)',
    tag: 'models',
    querystring: { type: 'object', properties: { name: { type: 'string', maxLength: 200 } } },
    rawBody: { contentType: 'application/octet-stream', description: 'the .onnx file, at most --max-upload-mb' },
    responses: { 201: ['application/json', 'ModelSummary', 'stored'], 200: ['application/json', 'ModelSummary', 'a model with the same bytes already existed'] },
    handler: async (req: FastifyRequest<{ Querystring: { name?: string } }>, reply: FastifyReply) => {
      const body = req.body;
      if (!(body instanceof Buffer)) throw new HttpProblem(415, 'unsupported-media-type', 'Unsupported media type', 'send the ONNX file as the raw body with Content-Type: application/octet-stream');
      const { record, created } = await ctx.models.register(new Uint8Array(body.buffer, body.byteOffset, body.byteLength), req.query.name || 'model.onnx');
      return reply.code(created ? 201 : 200).send(record);
    },
  });
  api.add({
    method: 'GET',
    url: '/api/models/:id',
    summary: 'a model with its op histogram, the rule each node gets under a composite, and unsupported nodes',
    tag: 'models',
    params: idParams,
    querystring: { type: 'object', properties: { composite: { type: 'string', enum: COMPOSITE_CHOICES } } },
    responses: { 200: ['application/json', 'ModelDetail', 'the model'] },
    handler: async (req: FastifyRequest<{ Params: { id: string }; Querystring: { composite?: string } }>) => ctx.models.detail(req.params.id, req.query.composite),
  });
  api.add({
    method: 'GET',
    url: '/api/models/:id/file',
    summary: 'the ONNX bytes (for explanation on the device)',
    tag: 'models',
    params: idParams,
    responses: { 200: ['application/octet-stream', null, 'the .onnx file'] },
    handler: async (req: IdReq, reply: FastifyReply) => {
      const bytes = await ctx.models.bytes(req.params.id);
      return reply.type('application/octet-stream').header('cache-control', 'public, max-age=31536000, immutable').send(Buffer.from(bytes));
    },
  });
  api.add({
    method: 'DELETE',
    url: '/api/models/:id',
    summary: 'delete a model (its results stay, with provenance)',
    tag: 'models',
    params: idParams,
    responses: { 204: ['', null, 'deleted'] },
    handler: async (req: IdReq, reply: FastifyReply) => {
      await ctx.models.delete(req.params.id);
      return reply.code(204).send();
    },
  });
}
