/**
 * Queue mode semantics and faults, with the server and workers in this process (real Redis, real HTTP, real store):
 * cancellation, a poisoned shard, a shard from another xsys version, Redis down at start and lost mid-job, a server
 * restart while a worker keeps working, and the worker's hash-verified download cache.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Queue } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import type { ShardableKind } from '../../src/jobs/shardable.js';
import type { JobHandler } from '../../src/jobs/types.js';
import { BlobCache, sha256Of } from '../../src/queue/blobs.js';
import { QUEUE_NAME, shardJobId, type ShardPayload } from '../../src/queue/protocol.js';
import { ShardWorker } from '../../src/queue/worker.js';
import { ORT_VERSION } from '../../src/version.js';
import { freePort, skipReason, startRedis, type RedisServer } from '../helpers/services.js';
import { startBench, type TestBench } from '../server/helpers.js';
import { waitFor, writeDigits } from './helpers.js';

const skip = skipReason('redis');
let redis: RedisServer | undefined;
let tmp: string;
let digits: string;
const open: { close(): Promise<unknown> }[] = [];

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'xsys-qfault-'));
  digits = writeDigits(join(tmp, 'digits.npy'), 8, 11);
  if (!skip) redis = await startRedis();
}, 120_000);
// Every server and worker a test started is closed after it, even when it failed: a worker left running would take
// the next test's shards and deliver them to a server that is gone.
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close().catch(() => undefined);
});
afterAll(async () => {
  await redis?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

async function queuedBench(options: { dir?: string; port?: number; extra?: (wb: TestBench) => void } = {}): Promise<{ wb: TestBench; url: string; modelId: string }> {
  const wb = await startBench({ queue: redis!.url, shardSize: 2, shardAttempts: 3, datasets: [{ name: 'digits', npy: digits }], ...(options.dir ? { dir: options.dir } : {}) });
  open.push({ close: () => wb.dispose() });
  options.extra?.(wb);
  const url = await wb.app.listen({ host: '127.0.0.1', port: options.port ?? 0 });
  const modelId = (await wb.context.store.models.list())[0]!.id;
  return { wb, url, modelId };
}

async function startWorker(server: string, extra: Partial<Parameters<typeof ShardWorker.start>[0]> = {}): Promise<{ w: ShardWorker; log: string[] }> {
  const log: string[] = [];
  const w = await ShardWorker.start({ queue: redis!.url, server, threads: 1, cacheDir: join(tmp, `cache-${Math.random()}`), lockDurationMs: 5000, log: (l) => log.push(l), ...extra });
  open.push(w);
  return { w, log };
}

const occlusion = (modelId: string) => ({ modelId, dataset: 'digits', method: 'occlusion', params: { window: 3, stride: 1 } });

describe.skipIf(skip !== undefined)('queue mode semantics', () => {
  it('cancelling removes pending shards and stops the running one; nothing is stored after', async () => {
    const { wb, url, modelId } = await queuedBench();
    const { w, log } = await startWorker(url);
    const job = await wb.context.jobs.submit('explain-dataset', occlusion(modelId));
    await waitFor(async () => ((await wb.context.store.jobs.get(job.id))!.progress.done >= 2 ? true : undefined), 'the first shard');
    await waitFor(() => (w.info().running.length ? true : undefined), 'the second shard to run');
    const cancelled = await wb.context.jobs.cancel(job.id);
    expect(cancelled!.state).toBe('cancelled');
    const q = new Queue(QUEUE_NAME, { connection: { url: redis!.url } });
    const ids = [0, 1, 2, 3].map((i) => shardJobId(job.id, i));
    // Pending shards are gone; the running one stops at its next item and fails as cancelled (not retried).
    await waitFor(async () => {
      const states = await Promise.all(ids.map(async (id) => (await q.getJob(id)) ? await q.getJobState(id) : 'gone'));
      return states.every((s) => s === 'gone' || s === 'failed' || s === 'completed') ? true : undefined;
    }, 'the shards to be gone');
    await waitFor(() => (w.info().running.length === 0 ? true : undefined), 'the worker to stop the shard');
    expect(log.join('\n')).toMatch(new RegExp(`shard \\d+ of job ${job.id} (failed: job ${job.id} was cancelled|not stored)`));
    const stored = (await wb.context.store.jobs.get(job.id))!;
    await new Promise((r) => setTimeout(r, 1000));
    expect((await wb.context.store.results.list({ jobId: job.id, limit: 500 })).length).toBe(stored.resultIds.length);
    expect(stored.resultIds.length).toBeLessThan(8);
    await q.close();
  });

  it('a poisoned shard is retried a bounded number of times, then the job fails with its reason', async () => {
    let attempts = 0;
    const poison: ShardableKind<{ n: number }> = {
      defaultShardSize: 2,
      items: (p) => p.n,
      needs: () => ({ modelSha256: '0'.repeat(64), dataset: { name: 'digits', sha256: '0'.repeat(64) } }),
      work: async (_env, _p, range) => {
        if (range.index === 1) {
          attempts++;
          throw new Error('sample 3 is poisoned');
        }
        return { items: [] };
      },
      persist: async (job, range, _o, worker) => store!.saveShard({ jobId: job.id, index: range.index, size: range.count, worker, createdAt: 't' }, []),
    };
    let store: TestBench['store'] | undefined;
    const handler: JobHandler<{ n: number }> = { kind: 'poison', description: 'test', paramsSchema: {}, resumable: false, prepare: async () => ({ params: { n: 4 }, total: 4 }), run: async () => undefined, shards: poison };
    const { wb, url } = await queuedBench({ extra: (b) => b.context.jobs.register(handler) });
    store = wb.store;
    const { w } = await startWorker(url, { kinds: { poison: poison.work } });
    const job = await wb.context.jobs.submit('poison', {});
    const failed = await waitFor(async () => {
      const j = (await wb.context.store.jobs.get(job.id))!;
      return j.state === 'failed' ? j : undefined;
    }, 'the job to fail', 60_000);
    expect(failed.error).toMatch(/^shard 1 \(items 2–3\) failed 3 time\(s\): sample 3 is poisoned/);
    expect(attempts).toBe(3);
  });

  it('a worker refuses a shard made by another xsys version and puts it back', async () => {
    const { wb, url } = await queuedBench();
    const { w, log } = await startWorker(url);
    const q = new Queue(QUEUE_NAME, { connection: { url: redis!.url } });
    const payload: ShardPayload = { jobId: '01FOREIGN00000000000000000', kind: 'explain-dataset', range: { index: 0, start: 0, count: 1 }, params: {}, needs: { modelSha256: '1'.repeat(64), dataset: { name: 'digits', sha256: '2'.repeat(64) } }, xsysVersion: '99.0.0', ortVersion: ORT_VERSION, queuedAt: Date.now() };
    await q.add('explain-dataset', payload, { jobId: shardJobId(payload.jobId, 0), attempts: 3 });
    await waitFor(() => (w.info().shardsRefused >= 1 ? true : undefined), 'the refusal');
    expect(log.join('\n')).toContain('refusing shard 0 of job 01FOREIGN00000000000000000: made by xsys 99.0.0');
    const bj = (await q.getJob(shardJobId(payload.jobId, 0)))!;
    // Not failed and not consumed: waiting for a worker that can reproduce it.
    expect(['delayed', 'waiting']).toContain(await bj.getState());
    expect(bj.attemptsMade).toBe(0);
    await bj.remove();
    await q.close();
  });

  it('Redis lost mid-job (restarted empty): server and worker reconnect, lost shards are queued again, nothing lost or duplicated', async () => {
    const { wb, url, modelId } = await queuedBench();
    const { w } = await startWorker(url);
    const job = await wb.context.jobs.submit('explain-dataset', occlusion(modelId));
    await waitFor(async () => ((await wb.context.store.jobs.get(job.id))!.progress.done >= 2 ? true : undefined), 'the first shard');
    await redis!.restart({ downMs: 500 });
    const done = await waitFor(async () => {
      const j = (await wb.context.store.jobs.get(job.id))!;
      return j.state === 'running' || j.state === 'queued' ? undefined : j;
    }, 'the job', 120_000);
    expect(done).toMatchObject({ state: 'done', progress: { done: 8, total: 8 } });
    const results = await wb.context.store.results.list({ jobId: job.id, limit: 500 });
    expect(results).toHaveLength(8);
    expect(new Set(results.map((r) => r.inputId)).size).toBe(8);
  });

  it('a job survives a server restart while the worker keeps working', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xsys-qrestart-'));
    const port = await freePort();
    const first = await queuedBench({ dir, port });
    const { w, log } = await startWorker(first.url);
    const job = await first.wb.context.jobs.submit('explain-dataset', occlusion(first.modelId));
    await waitFor(async () => ((await first.wb.context.store.jobs.get(job.id))!.progress.done >= 2 ? true : undefined), 'the first shard');
    await first.wb.close();
    // The worker keeps computing; its deliveries wait for the server.
    await waitFor(() => (w.info().running.length ? true : undefined), 'a shard running while the server is down');
    const second = await queuedBench({ dir, port });
    const done = await waitFor(async () => {
      const j = (await second.wb.context.store.jobs.get(job.id))!;
      return j.state === 'running' || j.state === 'queued' ? undefined : j;
    }, 'the job', 120_000);
    // Stopped gracefully, the job was left queued and ran again (attempt 2) on the new server, keeping its stored shards.
    expect(done).toMatchObject({ state: 'done', progress: { done: 8, total: 8 }, attempts: 2 });
    expect(done.resultIds).toHaveLength(8);
    const results = await second.wb.context.store.results.list({ jobId: job.id, limit: 500 });
    expect(new Set(results.map((r) => r.inputId)).size).toBe(8);
    expect(log.join('\n')).toMatch(/delivered/);
    rmSync(dir, { recursive: true, force: true });
  });

  it('Redis down at start is a clear error for the server and the worker', async () => {
    const port = await freePort();
    await expect(startBench({ queue: `redis://127.0.0.1:${port}` })).rejects.toThrow(new RegExp(`cannot reach Redis at redis://127\\.0\\.0\\.1:${port}`));
    await expect(ShardWorker.start({ queue: `redis://127.0.0.1:${port}`, server: 'http://127.0.0.1:1', cacheDir: tmp })).rejects.toThrow(/cannot reach Redis/);
  });
});

describe('the worker download cache', () => {
  it('verifies bytes by sha256: a wrong download is refused, a corrupted cache file is fetched again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xsys-blobs-'));
    const good = new Uint8Array([1, 2, 3, 4]);
    const sha = sha256Of(good);
    let served = new Uint8Array([9, 9, 9]);
    let fetches = 0;
    const cache = new BlobCache(dir, async () => (fetches++, served));
    await expect(cache.get(sha, '/m', 'model m')).rejects.toThrow(`model m: the server sent bytes with sha256 ${sha256Of(served)}, expected ${sha}`);
    served = good;
    expect([...(await cache.get(sha, '/m', 'model m'))]).toEqual([1, 2, 3, 4]);
    expect(fetches).toBe(2);
    // Cached: a new cache object on the same directory reads the file without fetching.
    expect([...(await new BlobCache(dir, async () => { throw new Error('no fetch expected'); }).get(sha, '/m', 'm'))]).toEqual([1, 2, 3, 4]);
    // Corrupted on disk: fetched again.
    writeFileSync(join(dir, sha), new Uint8Array([0]));
    const again = new BlobCache(dir, async () => (fetches++, good));
    expect([...(await again.get(sha, '/m', 'm'))]).toEqual([1, 2, 3, 4]);
    expect(fetches).toBe(3);
    expect(() => again.get('../etc/passwd', '/m', 'm')).toThrow(/not a sha256/);
    rmSync(dir, { recursive: true, force: true });
  });
});
