import type { FastifyReply, FastifyRequest } from 'fastify';

import { TERMINAL_STATES, type JobRecord } from '../../store/types.js';
import type { JobEvent } from '../../jobs/runner.js';
import type { ApiRoutes } from '../openapi.js';
import type { ServerContext } from '../context.js';
import { notFound } from '../problem.js';
import { ULID, jobRequestSchema } from '../schemas.js';

const idParams = { type: 'object', required: ['id'], properties: { id: ULID } };
type IdReq = FastifyRequest<{ Params: { id: string } }>;

/** Seconds between SSE comment lines that keep proxies from closing an idle stream. */
const HEARTBEAT_MS = 15_000;

export function jobRoutes(api: ApiRoutes, ctx: ServerContext): void {
  const get = async (id: string): Promise<JobRecord> => {
    const job = await ctx.store.jobs.get(id);
    if (!job) throw notFound(`no job with id ${id}`);
    return job;
  };
  api.add({
    method: 'POST',
    url: '/api/jobs',
    summary: "start a background job: {kind: 'explain-dataset' | 'evaluate', ...params} (GET /api/jobs/kinds lists each kind's parameters)",
    tag: 'jobs',
    body: jobRequestSchema,
    // Published as one schema per registered kind, so clients see each kind's parameters.
    documentedBody: () => ({
      oneOf: ctx.jobs.kinds().map((k) => ({
        type: 'object',
        description: k.description,
        required: ['kind', ...(((k.params.required as string[] | undefined) ?? []))],
        properties: { kind: { const: k.kind }, ...((k.params.properties as Record<string, unknown> | undefined) ?? {}) },
      })),
    }),
    responses: { 202: ['application/json', 'Job', 'queued'] },
    handler: async (req: FastifyRequest<{ Body: { kind: string } & Record<string, unknown> }>, reply: FastifyReply) => {
      const { kind, ...params } = req.body;
      return reply.code(202).send(await ctx.jobs.submit(kind, params));
    },
  });
  api.add({
    method: 'GET',
    url: '/api/jobs',
    summary: 'jobs, newest first',
    tag: 'jobs',
    querystring: { type: 'object', properties: { limit: { type: 'integer', minimum: 1, maximum: 500 } } },
    responses: { 200: ['application/json', { type: 'array', items: { $ref: '#/components/schemas/Job' } }, 'jobs'] },
    handler: async (req: FastifyRequest<{ Querystring: { limit?: number } }>) => ctx.store.jobs.list(req.query.limit ?? 100),
  });
  api.add({
    method: 'GET',
    url: '/api/jobs/kinds',
    summary: 'the job kinds this server runs, with their parameter schemas',
    tag: 'jobs',
    responses: { 200: ['application/json', { type: 'array', items: { type: 'object' } }, 'kinds'] },
    handler: async () => ctx.jobs.kinds(),
  });
  api.add({
    method: 'GET',
    url: '/api/jobs/:id',
    summary: 'one job',
    tag: 'jobs',
    params: idParams,
    responses: { 200: ['application/json', 'Job', 'the job'] },
    handler: async (req: IdReq) => get(req.params.id),
  });
  api.add({
    method: 'DELETE',
    url: '/api/jobs/:id',
    summary: 'cancel a job (returns once it has stopped; results stored so far stay)',
    tag: 'jobs',
    params: idParams,
    responses: { 200: ['application/json', 'Job', 'the job, cancelled (or already finished)'] },
    handler: async (req: IdReq) => {
      await get(req.params.id);
      return (await ctx.jobs.cancel(req.params.id))!;
    },
  });
  api.add({
    method: 'GET',
    url: '/api/jobs/:id/events',
    summary: 'server-sent events: progress (also sent first, with the current state), resumed, done, failed, cancelled; data is the Job',
    tag: 'jobs',
    params: idParams,
    responses: { 200: ['text/event-stream', null, 'event stream; it ends after the terminal event'] },
    handler: async (req: IdReq, reply: FastifyReply) => {
      const job = await get(req.params.id);
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
      const send = (event: string, data: JobRecord): void => {
        res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      };
      const terminalEvent = (j: JobRecord): string => (j.state === 'done' ? 'done' : j.state);
      // Subscribe before reading the state again, so no event falls between the snapshot and the subscription.
      let closed = false;
      const finish = (): void => {
        if (closed) return;
        closed = true;
        clearInterval(beat);
        unsubscribe();
        res.end();
      };
      const unsubscribe = ctx.jobs.subscribe(job.id, (e: JobEvent) => {
        if (closed) return;
        send(e.event, e.job);
        if (TERMINAL_STATES.includes(e.job.state) && e.event !== 'progress') finish();
      });
      const beat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
      req.raw.on('close', finish);
      const now = await get(job.id);
      if (closed) return; // the terminal event arrived (and ended the stream) while the state was being read
      if (TERMINAL_STATES.includes(now.state)) {
        send(terminalEvent(now), now);
        finish();
      } else send('progress', now);
    },
  });
}
