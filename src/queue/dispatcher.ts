/**
 * The server side of queue mode (`xsys serve --queue redis://…`): a shardable job becomes BullMQ jobs, one per shard;
 * workers compute them and deliver the results over HTTP; the server persists each shard once (Store.saveShard) and
 * finishes the job when every shard is stored.
 *
 * Delivery is at least once (a worker may die after delivering and before acknowledging, a stalled shard is retried
 * elsewhere), so persistence is idempotent by (job, shard). The waiting loop also reconciles with Redis every second:
 * a shard that is neither stored nor known to BullMQ (Redis restarted empty) is queued again, and a shard BullMQ gave up
 * on (its attempts exhausted) fails the job with its reason.
 */
import { hostname } from 'node:os';

import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';

import { XsysError } from '../errors.js';
import type { JobStopping } from '../jobs/runner.js';
import { shardRanges, type ShardableKind, type ShardOutput, type ShardRange } from '../jobs/shardable.js';
import type { JobContext } from '../jobs/types.js';
import type { JobRecord, Store } from '../store/types.js';
import { ORT_VERSION, VERSION } from '../version.js';
import { cancelKey, QUEUE_NAME, shardJobId, WORKER_KEY_PATTERN, type ShardPayload, type WorkerInfo } from './protocol.js';
import { probeRedis, redactRedis, redisConnection } from './redis.js';

export interface DispatcherOptions {
  /** Items per shard (default: the kind's). */
  shardSize?: number;
  /** Attempts per shard before the job fails (default 3). */
  attempts?: number;
  /** Milliseconds between reconciliations with Redis (default 1000). */
  reconcileMs?: number;
}

interface Waiter {
  ctx: JobContext;
  total: number;
  wake: () => void;
}

export class QueueDispatcher {
  private readonly waiters = new Map<string, Waiter>();
  private readonly attempts: number;
  private readonly reconcileMs: number;
  private lastRedisError = '';

  private constructor(
    readonly url: string,
    private readonly store: Store,
    private readonly redis: Redis,
    private readonly queue: Queue,
    private readonly queueConnection: Redis,
    private readonly options: DispatcherOptions,
  ) {
    this.attempts = Math.max(1, options.attempts ?? 3);
    this.reconcileMs = options.reconcileMs ?? 1000;
  }

  /** Connects (a Redis that is down is a clear error here) and returns the dispatcher. */
  static async open(url: string, store: Store, options: DispatcherOptions = {}): Promise<QueueDispatcher> {
    await probeRedis(url);
    let d: QueueDispatcher | undefined;
    const redis = redisConnection(url, (err) => d?.redisError(err));
    const connection = redisConnection(url, (err) => d?.redisError(err));
    const queue = new Queue(QUEUE_NAME, { connection });
    queue.on('error', (err) => d?.redisError(err));
    d = new QueueDispatcher(url, store, redis, queue, connection, options);
    return d;
  }

  private redisError(err: Error): void {
    // One line per distinct error, not one per reconnect attempt.
    if (err.message === this.lastRedisError) return;
    this.lastRedisError = err.message;
    process.stderr.write(`xsys: queue: Redis at ${redactRedis(this.url)}: ${err.message} (reconnecting)\n`);
  }

  /** The shard size a new job of this kind gets (recorded in its params, so a resumed job keeps its shards). */
  shardSize(kind: ShardableKind<Record<string, unknown>>): number {
    return this.options.shardSize ?? kind.defaultShardSize;
  }

  /** The shard ranges of a job (from the shard size recorded at submission). */
  rangesOf(job: JobRecord, kind: ShardableKind<Record<string, unknown>>): ShardRange[] {
    const size = Number(job.params.shardSize) > 0 ? Number(job.params.shardSize) : this.shardSize(kind);
    return shardRanges(kind.items(job.params), size);
  }

  /** Runs a job as shards on the queue and returns when all are stored (merged, for kinds that merge). */
  async run(ctx: JobContext, kindName: string, kind: ShardableKind<Record<string, unknown>>): Promise<void> {
    const job = ctx.job;
    const ranges = this.rangesOf(job, kind);
    const total = kind.items(job.params);
    let wake: () => void = () => undefined;
    const waiter: Waiter = { ctx, total, wake: () => wake() };
    this.waiters.set(job.id, waiter);
    try {
      await this.redis.del(cancelKey(job.id));
      const storedNow = new Set((await this.store.jobs.shards(job.id)).map((s) => s.index));
      const missing = ranges.filter((r) => !storedNow.has(r.index));
      // A shard that failed for good in an earlier run of this job (then failed): this run tries it afresh. Only a
      // resumed run can have one, so a new job goes to the queue without a round trip per shard.
      for (const r of ctx.resumed ? missing : []) {
        const existing = await this.queue.getJob(shardJobId(job.id, r.index));
        if (existing && (await existing.isFailed())) await existing.remove();
      }
      await this.enqueue(job, kindName, kind, missing);
      for (;;) {
        if (ctx.signal.aborted) {
          if (!isStopping(ctx.signal.reason)) await this.cancelShards(job.id, ranges);
          throw ctx.signal.reason;
        }
        const stored = await this.store.jobs.shards(job.id);
        if (stored.length >= ranges.length) {
          if (kind.merge) await ctx.saveResult(await kind.merge(job.params, stored.sort((a, b) => a.index - b.index).map((s) => s.outcome ?? {}), job));
          await ctx.progress(total, total, { persisted: true });
          return;
        }
        await this.reconcile(job, kindName, kind, ranges, new Set(stored.map((s) => s.index)));
        await new Promise<void>((resolve) => {
          const done = (): void => {
            clearTimeout(timer);
            ctx.signal.removeEventListener('abort', done);
            resolve();
          };
          const timer = setTimeout(done, this.reconcileMs);
          wake = done;
          ctx.signal.addEventListener('abort', done, { once: true });
        });
      }
    } finally {
      this.waiters.delete(job.id);
    }
  }

  private async enqueue(job: JobRecord, kindName: string, kind: ShardableKind<Record<string, unknown>>, ranges: ShardRange[]): Promise<void> {
    if (ranges.length === 0) return;
    const needs = kind.needs(job.params);
    const queuedAt = Date.now();
    // Same BullMQ job id for the same shard: adding a shard that is already waiting or running is a no-op.
    await this.queue.addBulk(
      ranges.map((range) => ({
        name: kindName,
        data: { jobId: job.id, kind: kindName, range, params: job.params, needs, xsysVersion: VERSION, ortVersion: ORT_VERSION, queuedAt } satisfies ShardPayload,
        opts: { jobId: shardJobId(job.id, range.index), attempts: this.attempts, backoff: { type: 'fixed', delay: 500 }, removeOnComplete: true, removeOnFail: { age: 7 * 24 * 3600 } },
      })),
    );
  }

  /** Re-queues shards Redis lost; fails the job when BullMQ gave up on a shard. */
  private async reconcile(job: JobRecord, kindName: string, kind: ShardableKind<Record<string, unknown>>, ranges: ShardRange[], stored: Set<number>): Promise<void> {
    const lost: ShardRange[] = [];
    for (const r of ranges) {
      if (stored.has(r.index)) continue;
      const bj = await this.queue.getJob(shardJobId(job.id, r.index));
      if (!bj) {
        lost.push(r);
        continue;
      }
      if (bj.finishedOn && bj.failedReason && (await bj.isFailed())) {
        await this.cancelShards(job.id, ranges);
        throw new XsysError(`shard ${r.index} (items ${r.start}–${r.start + r.count - 1}) failed ${bj.attemptsMade} time(s): ${bj.failedReason}`);
      }
    }
    if (lost.length === 0) return;
    // Stored meanwhile (delivered and acknowledged since the read above)? Then it is not lost.
    const now = new Set((await this.store.jobs.shards(job.id)).map((s) => s.index));
    await this.enqueue(job, kindName, kind, lost.filter((r) => !now.has(r.index)));
  }

  /** Removes a job's pending shards and tells workers running its shards to stop. */
  private async cancelShards(jobId: string, ranges: ShardRange[]): Promise<void> {
    await this.redis.set(cancelKey(jobId), '1', 'EX', 24 * 3600);
    for (const r of ranges) {
      // remove() refuses an active (locked) shard: its worker sees the cancel key and stops.
      await this.queue.remove(shardJobId(jobId, r.index)).catch(() => 0);
    }
  }

  /** A worker delivered a shard: persist it (once) and wake the job's loop. */
  async deliver(job: JobRecord, kind: ShardableKind<Record<string, unknown>>, range: ShardRange, output: ShardOutput, worker: string): Promise<{ stored: boolean; done: number }> {
    const outcome = await kind.persist(job, range, output, worker);
    const waiter = this.waiters.get(job.id);
    if (waiter && outcome.stored) {
      await waiter.ctx.progress(outcome.done, waiter.total, { persisted: true });
      waiter.wake();
    }
    return outcome;
  }

  /** Live workers (from their heartbeats). */
  async workers(): Promise<WorkerInfo[]> {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await this.redis.scan(cursor, 'MATCH', WORKER_KEY_PATTERN, 'COUNT', 200);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0' && keys.length < 10_000);
    if (keys.length === 0) return [];
    const values = await this.redis.mget(...keys);
    return values
      .flatMap((v) => {
        try {
          return v ? [JSON.parse(v) as WorkerInfo] : [];
        } catch {
          return [];
        }
      })
      .sort((a, b) => a.id.localeCompare(b.id));
  }

  /** Shard counts of the queue (all jobs). */
  async counts(): Promise<Record<string, number>> {
    return this.queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'prioritized');
  }

  describe(): { url: string; server: string } {
    return { url: redactRedis(this.url), server: hostname() };
  }

  async close(): Promise<void> {
    await this.queue.close().catch(() => undefined);
    // Connections we made are ours to close (BullMQ leaves connections it was given open).
    this.queueConnection.disconnect();
    this.redis.disconnect();
  }
}

function isStopping(reason: unknown): reason is JobStopping {
  return (reason as { name?: string } | undefined)?.name === 'JobStopping';
}
