/**
 * Background jobs: a FIFO queue run by a fixed number of workers, with state in the Store so that nothing is lost when
 * the server dies — on start-up `recover()` resumes jobs a crash left `running` (when their kind can resume) or marks
 * them failed with the reason. Progress goes to subscribers (the SSE route) as events.
 */
import { EventEmitter } from 'node:events';

import { InvalidArgumentError } from '../errors.js';
import { newId } from '../store/ids.js';
import { TERMINAL_STATES, type JobRecord, type Store } from '../store/types.js';
import type { ShardableKind } from './shardable.js';
import type { JobContext, JobHandler } from './types.js';

/** The abort reason when the server shuts down (a queue run leaves its shards queued; a user cancel removes them). */
export class JobStopping extends Error {
  override readonly name = 'JobStopping';
  constructor() {
    super('the server is shutting down');
  }
}

/** Runs shardable kinds elsewhere (the queue dispatcher, `xsys serve --queue`). */
export interface RemoteRunner {
  shardSize(kind: ShardableKind<Record<string, unknown>>): number;
  run(ctx: JobContext, kindName: string, kind: ShardableKind<Record<string, unknown>>): Promise<void>;
}

export type JobEventName = 'progress' | 'resumed' | 'done' | 'failed' | 'cancelled';
export interface JobEvent {
  event: JobEventName;
  job: JobRecord;
}

export const INTERRUPTED = 'interrupted by server restart';

export interface JobRunnerOptions {
  /** Jobs run at the same time (default 1: explanations already use all cores through ONNX Runtime). */
  concurrency?: number;
  /** Resume interrupted jobs of resumable kinds (default true); false marks them failed. */
  resume?: boolean;
  /** A job interrupted this many times is not resumed again (protects against a job that kills the server). */
  maxAttempts?: number;
  /**
   * Where shardable kinds run (queue mode). Such jobs only wait here for their shards, so they do not take one of the
   * `concurrency` slots, and they resume after a restart (their stored shards are kept).
   */
  remote?: RemoteRunner;
  /** First delay before writing a job failure again that the store refused (doubles per attempt, at most 30 s). */
  recordRetryMs?: number;
}

export class JobRunner {
  private readonly handlers = new Map<string, JobHandler<any>>(); // eslint-disable-line @typescript-eslint/no-explicit-any
  private readonly queue: string[] = [];
  private readonly running = new Map<string, { abort: AbortController; done: Promise<void> }>();
  /** Queued/running job ids whose kind runs on the queue (known when they are enqueued here). */
  private readonly kindsOf = new Map<string, 'remote'>();
  private localRunning = 0;
  private readonly events = new EventEmitter();
  private readonly concurrency: number;
  private readonly resume: boolean;
  private readonly maxAttempts: number;
  private readonly remote?: RemoteRunner;
  private stopped = false;
  /** Jobs whose failure could not be written yet (full disk), with the timer of the next attempt. */
  private readonly unrecorded = new Map<string, NodeJS.Timeout>();
  private readonly recordRetryMs: number;

  constructor(
    private readonly store: Store,
    options: JobRunnerOptions = {},
  ) {
    this.concurrency = Math.max(1, options.concurrency ?? 1);
    this.resume = options.resume ?? true;
    this.maxAttempts = options.maxAttempts ?? 3;
    this.remote = options.remote;
    this.recordRetryMs = options.recordRetryMs ?? 1000;
    this.events.setMaxListeners(0);
  }

  register<P extends Record<string, unknown>>(handler: JobHandler<P>): void {
    this.handlers.set(handler.kind, handler);
  }

  handler(kind: string): JobHandler<Record<string, unknown>> | undefined {
    return this.handlers.get(kind);
  }

  /** Whether jobs of this kind run on the queue. */
  private isRemote(handler: JobHandler<Record<string, unknown>> | undefined): boolean {
    return this.remote !== undefined && handler?.shards !== undefined;
  }

  kinds(): { kind: string; description: string; resumable: boolean; params: Record<string, unknown> }[] {
    return [...this.handlers.values()].map((h) => ({ kind: h.kind, description: h.description, resumable: h.resumable, params: h.paramsSchema }));
  }

  /** Start-up: requeue queued jobs; resume or fail jobs a crash left running. */
  async recover(): Promise<{ resumed: string[]; failed: string[] }> {
    const resumed: string[] = [];
    const failed: string[] = [];
    for (const job of await this.store.jobs.byState(['running', 'queued'])) {
      const handler = this.handlers.get(job.kind);
      if (job.state === 'queued') {
        this.enqueue(job.id, handler);
        continue;
      }
      const why = !handler
        ? `${INTERRUPTED}; job kind '${job.kind}' is not available in this server`
        : !handler.resumable && !this.isRemote(handler)
          ? `${INTERRUPTED}; '${job.kind}' jobs cannot resume`
          : !this.resume
            ? `${INTERRUPTED}; resuming is disabled (--no-resume)`
            : job.attempts >= this.maxAttempts
              ? `${INTERRUPTED} ${job.attempts} times; not resumed again`
              : undefined;
      if (why) {
        this.emit('failed', await this.store.jobs.update(job.id, { state: 'failed', error: why }));
        failed.push(job.id);
      } else {
        await this.store.jobs.update(job.id, { state: 'queued' });
        this.enqueue(job.id, handler);
        resumed.push(job.id);
      }
    }
    this.pump();
    return { resumed, failed };
  }

  async submit(kind: string, params: Record<string, unknown>): Promise<JobRecord> {
    const handler = this.handlers.get(kind);
    if (!handler) throw new InvalidArgumentError('kind', `unknown job kind '${kind}'`, `kinds available in this server: ${[...this.handlers.keys()].join(', ')}`);
    const prepared = await handler.prepare(params);
    const now = new Date().toISOString();
    // The shard size is fixed at submission, so a job resumed after a restart has the same shards.
    const stored = this.isRemote(handler) ? { ...prepared.params, shardSize: this.remote!.shardSize(handler.shards!) } : prepared.params;
    // On the queue, progress counts the shards' items (what workers report), whatever unit the in-process run counts.
    const total = this.isRemote(handler) ? handler!.shards!.items(prepared.params) : prepared.total;
    const job = await this.store.jobs.create({ id: newId(), kind, params: stored, state: 'queued', progress: { done: 0, total }, resultIds: [], attempts: 0, createdAt: now, updatedAt: now });
    this.enqueue(job.id, handler);
    this.pump();
    return job;
  }

  private enqueue(id: string, handler: JobHandler<Record<string, unknown>> | undefined): void {
    if (this.isRemote(handler)) this.kindsOf.set(id, 'remote');
    this.queue.push(id);
  }

  /** Cancels a queued or running job and resolves once it has stopped. Terminal jobs are returned unchanged. */
  async cancel(id: string): Promise<JobRecord | undefined> {
    const job = await this.store.jobs.get(id);
    if (!job || TERMINAL_STATES.includes(job.state)) return job;
    const run = this.running.get(id);
    if (run) {
      run.abort.abort();
      await run.done;
      return this.store.jobs.get(id);
    }
    const at = this.queue.indexOf(id);
    if (at >= 0) this.queue.splice(at, 1);
    this.kindsOf.delete(id);
    const cancelled = await this.store.jobs.update(id, { state: 'cancelled' });
    this.emit('cancelled', cancelled);
    return cancelled;
  }

  subscribe(id: string, listener: (e: JobEvent) => void): () => void {
    const name = `job:${id}`;
    this.events.on(name, listener);
    return () => this.events.off(name, listener);
  }

  private emit(event: JobEventName, job: JobRecord): void {
    this.events.emit(`job:${job.id}`, { event, job } satisfies JobEvent);
  }

  private pump(): void {
    for (let i = 0; !this.stopped && i < this.queue.length; ) {
      const id = this.queue[i]!;
      const remote = this.kindsOf.get(id) === 'remote';
      if (!remote && this.localRunning >= this.concurrency) {
        i++;
        continue;
      }
      this.queue.splice(i, 1);
      const abort = new AbortController();
      const entry = { abort, done: Promise.resolve() };
      this.running.set(id, entry);
      if (!remote) this.localRunning++;
      entry.done = this.execute(id, abort.signal)
        .catch((err: unknown) => {
          // Only the store can fail here (recording the outcome itself failed, e.g. a full disk). The job stays
          // `running` in the store and the next start resumes or fails it; this process must not crash over it.
          process.stderr.write(`xsys: could not record the outcome of job ${id}: ${(err as Error).message}\n`);
        })
        .finally(() => {
          this.running.delete(id);
          if (!remote) this.localRunning--;
          this.kindsOf.delete(id);
          this.pump();
        });
    }
  }

  private async execute(id: string, signal: AbortSignal): Promise<void> {
    let job = await this.store.jobs.get(id);
    if (!job || job.state !== 'queued') return;
    const handler = this.handlers.get(job.kind);
    if (!handler) {
      this.emit('failed', await this.store.jobs.update(id, { state: 'failed', error: `job kind '${job.kind}' is not available in this server` }));
      return;
    }
    const resumed = job.attempts > 0;
    job = await this.store.jobs.update(id, { state: 'running', attempts: job.attempts + 1 });
    if (resumed) this.emit('resumed', job);
    let current = job;
    const ctx: JobContext = {
      job,
      signal,
      resumed,
      progress: async (done, total, options = {}) => {
        if (options.persisted && !options.resultId) {
          // Written by someone else (a queue delivery, with its shard): the stored job is the truth, results included.
          current = (await this.store.jobs.get(id)) ?? current;
        } else {
          current = options.persisted ? { ...current, progress: { done, total }, resultIds: options.resultId ? [...current.resultIds, options.resultId] : current.resultIds } : await this.store.jobs.update(id, { progress: { done, total } });
        }
        this.emit('progress', current);
      },
      saveResult: async (result) => {
        current = await this.store.jobs.update(id, { result });
      },
    };
    try {
      if (this.isRemote(handler)) await this.remote!.run(ctx, job.kind, handler.shards!);
      else await handler.run(ctx, job.params);
      if (signal.aborted) throw signal.reason;
      this.emit('done', await this.store.jobs.update(id, { state: 'done' }));
    } catch (err) {
      if (signal.aborted) {
        // Stopped by a shutdown, not by a user: back to the queue (no event), so the next start continues it.
        if (this.stopped) await this.store.jobs.update(id, { state: 'queued' });
        else this.emit('cancelled', await this.store.jobs.update(id, { state: 'cancelled' }));
      } else {
        const hint = (err as { hint?: string }).hint;
        await this.fail(current, `${(err as Error).message}${hint ? ` (hint: ${hint})` : ''}`);
      }
    }
  }

  /**
   * Records a job as failed. When the store cannot write even that (the disk that failed the job is still full), the
   * subscribers get the terminal event anyway — an SSE stream must end, not wait for a state that never comes — and
   * the failed state is written as soon as the store accepts writes again (retried with backoff while running).
   */
  private async fail(job: JobRecord, error: string): Promise<void> {
    try {
      this.emit('failed', await this.store.jobs.update(job.id, { state: 'failed', error }));
    } catch (err) {
      process.stderr.write(`xsys: could not record the outcome of job ${job.id}: ${(err as Error).message}; retrying\n`);
      this.emit('failed', { ...job, state: 'failed', error, updatedAt: new Date().toISOString() });
      this.retryRecord(job.id, { state: 'failed', error }, 0);
    }
  }

  private retryRecord(id: string, patch: { state: 'failed'; error: string }, attempt: number): void {
    if (this.stopped) return;
    const timer = setTimeout(() => {
      this.unrecorded.delete(id);
      this.store.jobs.update(id, patch).catch(() => this.retryRecord(id, patch, attempt + 1));
    }, Math.min(30_000, this.recordRetryMs * 2 ** attempt));
    timer.unref();
    this.unrecorded.set(id, timer);
  }

  /** Graceful shutdown: running jobs are stopped and left queued, so the next start continues them. */
  async stop(): Promise<void> {
    this.stopped = true;
    // Failures not yet written stay 'running' in the store: the next start resumes or fails them.
    for (const t of this.unrecorded.values()) clearTimeout(t);
    this.unrecorded.clear();
    const runs = [...this.running.values()];
    for (const r of runs) r.abort.abort(new JobStopping());
    await Promise.all(runs.map((r) => r.done));
  }
}
