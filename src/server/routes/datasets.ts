import type { FastifyReply, FastifyRequest } from 'fastify';

import { encodeNpy } from '../../io/npy.js';
import type { ApiRoutes } from '../openapi.js';
import type { ServerContext } from '../context.js';

export function datasetRoutes(api: ApiRoutes, ctx: ServerContext): void {
  api.add({
    method: 'GET',
    url: '/api/datasets',
    summary: 'registered datasets',
    tag: 'datasets',
    responses: { 200: ['application/json', { type: 'array', items: { $ref: '#/components/schemas/Dataset' } }, 'datasets'] },
    handler: async () => ctx.datasets.list(),
  });
  api.add({
    method: 'GET',
    url: '/api/datasets/:name/samples/:index',
    summary: 'one sample as PNG, or (?format=npy) as the preprocessed tensor',
    tag: 'datasets',
    params: { type: 'object', required: ['name', 'index'], properties: { name: { type: 'string', pattern: '^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$' }, index: { type: 'integer', minimum: 0 } } },
    querystring: { type: 'object', properties: { format: { type: 'string', enum: ['png', 'npy'] } } },
    responses: { 200: ['image/png', null, 'the sample (application/x-npy with ?format=npy)'] },
    handler: async (req: FastifyRequest<{ Params: { name: string; index: number }; Querystring: { format?: string } }>, reply: FastifyReply) => {
      const { name, index } = req.params;
      if (req.query.format === 'npy') {
        const t = ctx.datasets.sample(name, index);
        return reply.type('application/x-npy').send(Buffer.from(encodeNpy(t.data, t.dims)));
      }
      return reply.type('image/png').header('cache-control', 'public, max-age=3600').send(Buffer.from(await ctx.datasets.png(name, index)));
    },
  });
}
