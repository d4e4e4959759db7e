/**
 * Routes of queue mode: workers fetch a dataset's bytes by hash and deliver shard outputs here; the Workers panel reads
 * the live workers. Deliveries need a write token like every other write; without --queue they answer 409.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';

import { TERMINAL_STATES } from '../../store/types.js';
import type { ShardDelivery } from '../../queue/protocol.js';
import type { ApiRoutes } from '../openapi.js';
import type { ServerContext } from '../context.js';
import { HttpProblem, notFound } from '../problem.js';
import { ULID } from '../schemas.js';

const notQueued = (): HttpProblem => new HttpProblem(409, 'no-queue', 'Not in queue mode', 'this server runs jobs in-process', 'start xsys serve with --queue redis://host:port to use workers');

const workerSchema = {
  type: 'object',
  required: ['id', 'host', 'pid', 'xsysVersion', 'running', 'shardsDone', 'itemsDone', 'itemsPerSecond', 'lastSeen'],
  properties: {
    id: { type: 'string' },
    host: { type: 'string' },
    pid: { type: 'integer' },
    xsysVersion: { type: 'string' },
    ortVersion: { type: 'string' },
    threads: { type: ['integer', 'null'] },
    concurrency: { type: 'integer' },
    startedAt: { type: 'string' },
    lastSeen: { type: 'string' },
    running: { type: 'array', items: { type: 'object', properties: { jobId: { type: 'string' }, kind: { type: 'string' }, shard: { type: 'integer' }, start: { type: 'integer' }, count: { type: 'integer' }, done: { type: 'integer' }, startedAt: { type: 'string' } } } },
    shardsDone: { type: 'integer' },
    shardsFailed: { type: 'integer' },
    shardsRefused: { type: 'integer' },
    itemsDone: { type: 'integer' },
    itemsPerSecond: { type: 'number' },
  },
};

export function queueRoutes(api: ApiRoutes, ctx: ServerContext): void {
  api.add({
    method: 'GET',
    url: '/api/workers',
    summary: 'queue mode: the live workers (from their heartbeats), what they run and their throughput; the queue’s shard counts',
    tag: 'queue',
    responses: {
      200: [
        'application/json',
        {
          type: 'object',
          required: ['queue', 'workers'],
          properties: {
            queue: { type: ['object', 'null'], properties: { url: { type: 'string' }, counts: { type: 'object', additionalProperties: { type: 'integer' } } } },
            workers: { type: 'array', items: workerSchema },
          },
        },
        'workers (empty, with queue null, without --queue)',
      ],
    },
    handler: async () => {
      if (!ctx.queue) return { queue: null, workers: [] };
      const [workers, counts] = await Promise.all([ctx.queue.workers(), ctx.queue.counts()]);
      return { queue: { url: ctx.queue.describe().url, counts }, workers };
    },
  });
  api.add({
    method: 'GET',
    url: '/api/datasets/:name/file',
    summary: 'the dataset as one float32 .npy [N, ...sample] (what queue workers fetch); its sha256 is in x-content-sha256',
    tag: 'queue',
    params: { type: 'object', required: ['name'], properties: { name: { type: 'string', pattern: '^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$' } } },
    responses: { 200: ['application/x-npy', null, 'the samples'] },
    handler: async (req: FastifyRequest<{ Params: { name: string } }>, reply: FastifyReply) => {
      const file = ctx.datasets.file(req.params.name);
      return reply.type('application/x-npy').header('x-content-sha256', file.sha256).send(Buffer.from(file.bytes.buffer, file.bytes.byteOffset, file.bytes.byteLength));
    },
  });
  api.add({
    method: 'POST',
    url: '/api/queue/jobs/:id/shards/:index',
    summary: 'a worker delivers a computed shard; stored once however often it is delivered (stored: false for a repeat)',
    tag: 'queue',
    params: { type: 'object', required: ['id', 'index'], properties: { id: ULID, index: { type: 'integer', minimum: 0 } } },
    body: {
      type: 'object',
      required: ['worker', 'start', 'count', 'output'],
      properties: {
        worker: { type: 'string', maxLength: 200 },
        start: { type: 'integer', minimum: 0 },
        count: { type: 'integer', minimum: 1 },
        output: { type: 'object', required: ['items'], properties: { items: { type: 'array', items: { type: 'object' } }, outcome: { type: 'object' } } },
      },
    },
    responses: { 200: ['application/json', { type: 'object', properties: { stored: { type: 'boolean' }, done: { type: 'integer' } } }, 'persisted (or already stored)'] },
    handler: async (req: FastifyRequest<{ Params: { id: string; index: number }; Body: ShardDelivery }>) => {
      if (!ctx.queue) throw notQueued();
      const job = await ctx.store.jobs.get(req.params.id);
      if (!job) throw notFound(`no job with id ${req.params.id}`);
      if (TERMINAL_STATES.includes(job.state)) throw new HttpProblem(409, 'job-finished', 'Job finished', `job ${job.id} is ${job.state}; the shard is not stored`);
      const kind = ctx.jobs.handler(job.kind)?.shards;
      if (!kind) throw new HttpProblem(409, 'not-shardable', 'Not a queued kind', `'${job.kind}' jobs do not run on the queue`);
      const range = ctx.queue.rangesOf(job, kind)[req.params.index];
      const b = req.body;
      if (!range || range.start !== b.start || range.count !== b.count) throw new HttpProblem(400, 'invalid-argument', 'Invalid argument', `job ${job.id} has no shard ${req.params.index} covering items ${b.start}–${b.start + b.count - 1}`);
      return ctx.queue.deliver(job, kind, range, b.output, b.worker);
    },
  });
}
