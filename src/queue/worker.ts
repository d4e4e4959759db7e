/**
 * `xsys worker`: takes shards from the BullMQ queue, computes them with the kind's ShardWork from the model and dataset
 * bytes it fetched by hash, and delivers the output to the server, which persists it. Workers never write the store.
 *
 * A shard is acknowledged to BullMQ only after the server confirmed the delivery; a worker that dies in between has its
 * shard retried elsewhere (BullMQ's stalled-job detection) and the server stores the redelivery once. A shard made by a
 * server of another xsys or ONNX Runtime version is refused (put back for another worker): this worker could not
 * reproduce its provenance.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';

import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';

import { XsysError } from '../errors.js';
import { parseNpy, toFloat32 } from '../io/npy.js';
import type { ShardDataset, ShardEnv, ShardWork } from '../jobs/shardable.js';
import { ModelExplainer } from '../methods/explainer.js';
import { parseModel } from '../onnx/model.js';
import { Limiter } from '../services/limiter.js';
import { ORT_VERSION, VERSION } from '../version.js';
import { BlobCache } from './blobs.js';
import { cancelKey, deliveryPath, HEARTBEAT_MS, HEARTBEAT_TTL_S, QUEUE_NAME, workerKey, type ShardDelivery, type ShardPayload, type WorkerInfo } from './protocol.js';
import { probeRedis, redactRedis, redisConnection } from './redis.js';
import { WORK_KINDS } from './work-kinds.js';

export interface ShardWorkerOptions {
  queue: string;
  /** The xsys server (model/dataset bytes, deliveries). */
  server: string;
  token?: string;
  /** ONNX Runtime intra-op threads per explanation (default: ORT's choice). */
  threads?: number;
  /** Shards processed at the same time (default 1). */
  concurrency?: number;
  /** Where fetched bytes are cached (by hash). */
  cacheDir: string;
  /** A shard whose worker stops renewing its lock for this long is retried elsewhere (default 30 s). */
  lockDurationMs?: number;
  /** How long a delivery is retried while the server is unreachable (default 10 min). */
  deliveryTimeoutMs?: number;
  log?: (line: string) => void;
  /** Job kinds besides the built-in ones (WORK_KINDS), e.g. an application's own dataset kind. */
  kinds?: Readonly<Record<string, ShardWork<any>>>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

type Running = WorkerInfo['running'][number];

export class ShardWorker {
  readonly id = `${hostname()}-${process.pid}-${randomBytes(2).toString('hex')}`;
  private readonly blobs: BlobCache;
  private readonly models = new Map<string, Promise<ModelExplainer>>();
  private readonly datasets = new Map<string, Promise<ShardDataset>>();
  private readonly running = new Map<string, Running>();
  private readonly startedAt = new Date().toISOString();
  private readonly stats = { shardsDone: 0, shardsFailed: 0, shardsRefused: 0, itemsDone: 0, busyMs: 0 };
  private worker?: Worker<ShardPayload>;
  private redis?: Redis;
  private workerConnection?: Redis;
  private heartbeat?: NodeJS.Timeout;
  private lastRedisError = '';
  private readonly log: (line: string) => void;
  /** Shards computing at once (--concurrency); BullMQ holds one more, which is delivering. */
  private readonly compute: Limiter;

  private constructor(private readonly options: ShardWorkerOptions) {
    this.compute = new Limiter(Math.max(1, options.concurrency ?? 1));
    this.log = options.log ?? ((line) => process.stdout.write(`${line}\n`));
    this.blobs = new BlobCache(join(options.cacheDir, 'blobs'), (path) => this.fetchBytes(path));
  }

  /** Connects (Redis down is a clear error), checks the server, and starts taking shards. */
  static async start(options: ShardWorkerOptions): Promise<ShardWorker> {
    await probeRedis(options.queue);
    const w = new ShardWorker(options);
    await w.checkServer();
    const onError = (err: Error): void => {
      if (err.message === w.lastRedisError) return;
      w.lastRedisError = err.message;
      w.log(`queue: Redis at ${redactRedis(options.queue)}: ${err.message} (reconnecting)`);
    };
    w.redis = redisConnection(options.queue, onError);
    const lockDuration = options.lockDurationMs ?? 30_000;
    w.workerConnection = redisConnection(options.queue, onError);
    w.worker = new Worker<ShardPayload>(QUEUE_NAME, (job, token) => w.process(job, token), {
      connection: w.workerConnection,
      // One shard more than computes at once: it delivers (the server persists it) while the next one computes.
      concurrency: Math.max(1, options.concurrency ?? 1) + 1,
      lockDuration,
      stalledInterval: Math.max(500, Math.round(lockDuration / 2)),
      // A shard may stall when its worker is killed; more than this and it is treated as poisoned.
      maxStalledCount: 3,
    });
    w.worker.on('error', (err) => onError(err));
    w.heartbeat = setInterval(() => void w.beat(), HEARTBEAT_MS);
    await w.beat();
    return w;
  }

  private headers(): Record<string, string> {
    return this.options.token ? { authorization: `Bearer ${this.options.token}` } : {};
  }

  private async checkServer(): Promise<void> {
    let res: Response;
    try {
      res = await fetch(new URL('/api/health', this.options.server), { signal: AbortSignal.timeout(5000) });
    } catch (err) {
      throw new XsysError(`cannot reach the xsys server at ${this.options.server}: ${(err as Error).message}`, { hint: 'start xsys serve --queue … first, or fix --server', exitCode: 3 });
    }
    const health = (await res.json().catch(() => ({}))) as { version?: string };
    if (health.version !== VERSION) this.log(`warning: the server runs xsys ${health.version ?? '?'}, this worker ${VERSION}: its shards will be refused`);
  }

  private async fetchBytes(path: string): Promise<Uint8Array> {
    const res = await fetch(new URL(path, this.options.server), { headers: this.headers() });
    if (!res.ok) throw new XsysError(`GET ${path} on the server: HTTP ${res.status} ${(await res.text()).slice(0, 300)}`);
    return new Uint8Array(await res.arrayBuffer());
  }

  private model(sha256: string): Promise<ModelExplainer> {
    let p = this.models.get(sha256);
    if (!p) {
      p = this.blobs.get(sha256, `/api/models/${sha256}/file`, `model ${sha256.slice(0, 12)}`).then((bytes) => ModelExplainer.load(parseModel(bytes, sha256), { threads: this.options.threads }));
      this.models.set(sha256, p);
      p.catch(() => this.models.delete(sha256));
    }
    return p;
  }

  private dataset(name: string, sha256: string): Promise<ShardDataset> {
    let p = this.datasets.get(sha256);
    if (!p) {
      p = (async () => {
        const bytes = await this.blobs.get(sha256, `/api/datasets/${encodeURIComponent(name)}/file`, `dataset '${name}'`);
        const a = parseNpy(bytes, `dataset ${name}`);
        const data = toFloat32(a);
        const count = a.shape[0]!;
        const shape = a.shape.slice(1);
        const per = data.length / count;
        const labels = await this.labels(name);
        return {
          name,
          count,
          sample: (index: number) => {
            if (!Number.isInteger(index) || index < 0 || index >= count) throw new XsysError(`dataset '${name}' has samples 0–${count - 1}, not ${index}`);
            return { data: data.slice(index * per, (index + 1) * per), dims: [1, ...shape] };
          },
          label: (index: number) => labels?.[index],
        };
      })();
      this.datasets.set(sha256, p);
      p.catch(() => this.datasets.delete(sha256));
    }
    return p;
  }

  private async labels(name: string): Promise<number[] | undefined> {
    const list = JSON.parse(new TextDecoder().decode(await this.fetchBytes('/api/datasets'))) as { name: string; labels?: number[] }[];
    return list.find((d) => d.name === name)?.labels;
  }

  private async process(job: Job<ShardPayload>, token?: string): Promise<void> {
    const p = job.data;
    const work = this.options.kinds?.[p.kind] ?? WORK_KINDS[p.kind];
    const refusal =
      p.xsysVersion !== VERSION || p.ortVersion !== ORT_VERSION
        ? `made by xsys ${p.xsysVersion} / ONNX Runtime ${p.ortVersion}, this worker runs ${VERSION} / ${ORT_VERSION}`
        : !work
          ? `job kind '${p.kind}' is not known to this worker`
          : undefined;
    if (refusal) {
      this.stats.shardsRefused++;
      this.log(`refusing shard ${p.range.index} of job ${p.jobId}: ${refusal}`);
      // Back to the queue (after a pause, so another worker takes it); this does not count as a failed attempt.
      await job.moveToDelayed(Date.now() + 2000, token);
      throw new DelayedError();
    }
    if (await this.redis!.exists(cancelKey(p.jobId))) throw new UnrecoverableError(`job ${p.jobId} was cancelled`);
    const abort = new AbortController();
    const poll = setInterval(() => {
      void this.redis!.exists(cancelKey(p.jobId)).then(
        (n) => n && abort.abort(new UnrecoverableError(`job ${p.jobId} was cancelled`)),
        () => undefined,
      );
    }, 500);
    let t0 = performance.now();
    const entry: Running = { jobId: p.jobId, kind: p.kind, shard: p.range.index, start: p.range.start, count: p.range.count, done: 0, startedAt: new Date().toISOString() };
    const key = `${p.jobId}.${p.range.index}`;
    try {
      const env: ShardEnv = {
        model: () => this.model(p.needs.modelSha256),
        dataset: () => this.dataset(p.needs.dataset.name, p.needs.dataset.sha256),
        artefact: async (sha256) => {
          // Only what the server listed for this shard: a job's params cannot make a worker fetch anything else.
          if (!p.needs.artefacts?.includes(sha256)) throw new UnrecoverableError(`shard ${p.range.index} of job ${p.jobId} reads artefact ${sha256.slice(0, 12)}, which its needs do not list`);
          return this.blobs.get(sha256, `/api/artefacts/${sha256}`, `artefact ${sha256.slice(0, 12)}`);
        },
        ...(this.options.threads !== undefined ? { threads: this.options.threads } : {}),
        signal: abort.signal,
        itemDone: () => {
          entry.done++;
          this.stats.itemsDone++;
        },
      };
      const output = await this.compute.run(() => {
        t0 = performance.now();
        entry.startedAt = new Date().toISOString();
        this.running.set(key, entry);
        this.log(`shard ${p.range.index} of job ${p.jobId} started at ${Date.now()} (${p.range.count} items, attempt ${job.attemptsMade + 1}, queued ${Date.now() - p.queuedAt} ms ago)`);
        return work!(env, p.params, p.range);
      });
      if (abort.signal.aborted) throw abort.signal.reason;
      await this.deliver(p, { worker: this.id, start: p.range.start, count: p.range.count, output });
      this.stats.shardsDone++;
      this.log(`shard ${p.range.index} of job ${p.jobId} delivered at ${Date.now()} (${Math.round(performance.now() - t0)} ms)`);
    } catch (err) {
      if (!(err instanceof DelayedError)) {
        this.stats.shardsFailed++;
        this.log(`shard ${p.range.index} of job ${p.jobId} failed: ${(err as Error).message}`);
      }
      throw err;
    } finally {
      clearInterval(poll);
      this.stats.busyMs += performance.now() - t0;
      this.running.delete(key);
    }
  }

  /** POSTs a shard's output; retries while the server is unreachable or restarting, gives up on a refusal. */
  private async deliver(p: ShardPayload, body: ShardDelivery): Promise<void> {
    const until = Date.now() + (this.options.deliveryTimeoutMs ?? 10 * 60_000);
    const url = new URL(deliveryPath(p.jobId, p.range.index), this.options.server);
    for (let wait = 250; ; wait = Math.min(wait * 2, 5000)) {
      let res: Response | undefined;
      let why: string;
      try {
        res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...this.headers() }, body: JSON.stringify(body) });
        if (res.ok) return;
        const text = (await res.text()).slice(0, 500);
        // 409: the job is over (cancelled, failed, done) — nothing to deliver to; the shard is finished here.
        if (res.status === 409) {
          this.log(`shard ${p.range.index} of job ${p.jobId} not stored: ${text}`);
          return;
        }
        if (res.status < 500 && res.status !== 429) throw new UnrecoverableError(`the server refused shard ${p.range.index} of job ${p.jobId}: HTTP ${res.status} ${text}`);
        why = `HTTP ${res.status}`;
      } catch (err) {
        if (err instanceof UnrecoverableError) throw err;
        why = (err as Error).message;
      }
      if (Date.now() > until) throw new XsysError(`could not deliver shard ${p.range.index} of job ${p.jobId} to ${this.options.server}: ${why}`);
      await new Promise((r) => setTimeout(r, wait));
    }
  }

  info(): WorkerInfo {
    return {
      id: this.id,
      host: hostname(),
      pid: process.pid,
      xsysVersion: VERSION,
      ortVersion: ORT_VERSION,
      threads: this.options.threads ?? null,
      concurrency: Math.max(1, this.options.concurrency ?? 1),
      startedAt: this.startedAt,
      lastSeen: new Date().toISOString(),
      running: [...this.running.values()],
      shardsDone: this.stats.shardsDone,
      shardsFailed: this.stats.shardsFailed,
      shardsRefused: this.stats.shardsRefused,
      itemsDone: this.stats.itemsDone,
      itemsPerSecond: this.stats.busyMs > 0 ? this.stats.itemsDone / (this.stats.busyMs / 1000) : 0,
    };
  }

  private async beat(): Promise<void> {
    await this.redis?.set(workerKey(this.id), JSON.stringify(this.info()), 'EX', HEARTBEAT_TTL_S).catch(() => undefined);
  }

  /** Stops taking shards, lets running ones finish (and deliver), and removes the heartbeat. */
  async close(): Promise<void> {
    if (this.heartbeat) clearInterval(this.heartbeat);
    await this.worker?.close();
    await this.redis?.del(workerKey(this.id)).catch(() => undefined);
    this.workerConnection?.disconnect();
    this.redis?.disconnect();
  }
}
