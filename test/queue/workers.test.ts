/**
 * Queue mode end to end with real processes: `xsys serve --queue` on a throwaway redis-server and `xsys worker`
 * children. A job over two workers stores results byte-identical to the embedded (in-process) run; a worker killed with
 * SIGKILL mid-shard has its shard retried by the other (BullMQ stalled-job detection) and the job completes with one
 * result per sample, none lost, none duplicated.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DEFAULT_COMPOSITE } from '../../src/composites/index.js';
import { buildReferences, readReferenceFile } from '../../src/concepts/store.js';
import { shardSource } from '../../src/jobs/concept-references-shards.js';
import { evaluateWork, mergeEvaluation } from '../../src/jobs/evaluate-shards.js';
import type { EvaluateParams, EvaluationOutcome } from '../../src/jobs/evaluate.js';
import { shardRanges, type ShardDataset, type ShardEnv } from '../../src/jobs/shardable.js';
import { encodeNpy, parseNpy, toFloat32 } from '../../src/io/npy.js';
import { ModelExplainer } from '../../src/methods/explainer.js';
import { skipReason, startRedis, type RedisServer } from '../helpers/services.js';
import { api, ensureBuilt, finished, killChildren, resultsByInput, serve, stop, waitFor, worker, writeDigits } from './helpers.js';

const skip = skipReason('redis');
let redis: RedisServer | undefined;
let tmp: string;
let digits: string;

beforeAll(async () => {
  ensureBuilt();
  tmp = mkdtempSync(join(tmpdir(), 'xsys-queue-'));
  digits = writeDigits(join(tmp, 'digits.npy'), 16);
  if (!skip) redis = await startRedis();
}, 180_000);
afterAll(async () => {
  killChildren();
  await redis?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

const job = (modelId: string, extra: Record<string, unknown> = {}) => ({ kind: 'explain-dataset', modelId, dataset: 'digits', method: 'lrp', composite: 'epsilon-gamma-box', ...extra });

describe.skipIf(skip !== undefined)('xsys serve --queue with xsys worker processes', () => {
  it('a job over 2 workers stores results byte-identical to the embedded run', async () => {
    const embedded = await serve(['--data-dir', join(tmp, 'embedded'), '--dataset', `digits=${digits}`]);
    const modelId = (await api(embedded.url, 'GET', '/api/models'))[0].id;
    const e = await api(embedded.url, 'POST', '/api/jobs', job(modelId));
    expect((await finished(embedded.url, e.id)).state).toBe('done');
    const expected = await resultsByInput(embedded.url, e.id);
    const heatmapBytes = Buffer.from(await (await fetch(`${embedded.url}/api/artefacts/${(expected.values().next().value as { artefacts: { heatmap: string } }).artefacts.heatmap}`)).arrayBuffer());
    await stop(embedded);

    const server = await serve(['--data-dir', join(tmp, 'queued'), '--dataset', `digits=${digits}`, '--queue', redis!.url, '--shard-size', '2']);
    const w1 = await worker(redis!.url, server.url, ['--cache-dir', join(tmp, 'c1')]);
    const w2 = await worker(redis!.url, server.url, ['--cache-dir', join(tmp, 'c2')]);
    const q = await api(server.url, 'POST', '/api/jobs', job(modelId));
    const done = await finished(server.url, q.id);
    expect(done).toMatchObject({ state: 'done', progress: { done: 16, total: 16 } });
    expect(done.resultIds).toHaveLength(16);
    const got = await resultsByInput(server.url, q.id);
    expect(got.size).toBe(16);
    expect(got).toEqual(expected);
    // Same hash, same bytes: the artefact itself is served identically.
    const first = got.get([...expected.keys()][0]!) as { artefacts: { heatmap: string } };
    expect(Buffer.from(await (await fetch(`${server.url}/api/artefacts/${first.artefacts.heatmap}`)).arrayBuffer()).equals(heatmapBytes)).toBe(true);
    // Both workers took part, and the Workers view saw them.
    const delivered = (c: { out: () => string }) => (c.out().match(new RegExp(`delivered`, 'g')) ?? []).length;
    expect(delivered(w1) + delivered(w2)).toBe(8);
    expect(delivered(w1)).toBeGreaterThan(0);
    expect(delivered(w2)).toBeGreaterThan(0);
    // Heartbeats come every 2 s: wait for the one after the last shard.
    const workers = await waitFor(async () => {
      const w = await api(server.url, 'GET', '/api/workers');
      return w.workers.reduce((n: number, x: { itemsDone: number }) => n + x.itemsDone, 0) === 16 ? w : undefined;
    }, 'the heartbeats', 10_000);
    expect(workers.workers.map((w: { id: string }) => w.id).sort()).toEqual([/worker (\S+) ready/.exec(w1.out())![1], /worker (\S+) ready/.exec(w2.out())![1]].sort());
    expect(await stop(w1)).toBe(0);
    expect(await stop(w2)).toBe(0);
    // A stopped worker removes its heartbeat.
    expect((await api(server.url, 'GET', '/api/workers')).workers).toEqual([]);
    await stop(server);
  });

  it('evaluate and concept-references jobs run as shards on 2 workers and merge to the outcome of the same shards computed here', async () => {
    const server = await serve(['--data-dir', join(tmp, 'kinds'), '--dataset', `digits=${digits}`, '--queue', redis!.url, '--shard-size', '4']);
    const modelId = (await api(server.url, 'GET', '/api/models'))[0].id;
    const w1 = await worker(redis!.url, server.url, ['--cache-dir', join(tmp, 'e1')]);
    const w2 = await worker(redis!.url, server.url, ['--cache-dir', join(tmp, 'e2')]);
    const evaluation = { kind: 'evaluate', modelId, dataset: 'digits', methods: [{ method: 'gradient' }], metrics: ['sparseness', 'random-logit'], batchSize: 4, seed: 5 };
    const e = await api(server.url, 'POST', '/api/jobs', evaluation);
    expect(e.progress).toEqual({ done: 0, total: 16 });
    // Uploaded masks (one per sample): stored as an artefact on the server, fetched by hash by the workers.
    const maskValues = new Float32Array(16 * 784);
    for (let r = 0; r < 16; r++) for (let y = 0; y < 5; y++) for (let x = 0; x < 5; x++) maskValues[r * 784 + (4 + r + y) * 28 + 20 - r + x] = 1;
    const maskBytes = encodeNpy(maskValues, [16, 1, 28, 28]);
    const masked = { kind: 'evaluate', modelId, dataset: 'digits', methods: [{ method: 'gradient' }], metrics: ['pointing-game', 'attribution-localisation'], batchSize: 4, seed: 5, masks: { npy: Buffer.from(maskBytes).toString('base64') } };
    const m = await api(server.url, 'POST', '/api/jobs', masked);
    const layer = (await api(server.url, 'GET', `/api/models/${modelId}/concepts/layers`))[0].tensor;
    const c = await api(server.url, 'POST', '/api/jobs', { kind: 'concept-references', modelId, dataset: 'digits', layers: [layer], k: 3 });
    const [eDone, cDone] = [await finished(server.url, e.id), await finished(server.url, c.id)];
    expect(eDone, eDone.error).toMatchObject({ state: 'done', progress: { done: 16, total: 16 } });
    expect(cDone, cDone.error).toMatchObject({ state: 'done', progress: { done: 16, total: 16 } });
    const mDone = await finished(server.url, m.id);
    expect(mDone, mDone.error).toMatchObject({ state: 'done', progress: { done: 16, total: 16 } });
    const delivered = (w: { out: () => string }, job: string) => (w.out().match(new RegExp(`of job ${job} delivered`, 'g')) ?? []).length;
    expect(delivered(w1, e.id) + delivered(w2, e.id)).toBe(4);
    expect(delivered(w1, c.id) + delivered(w2, c.id)).toBe(4);

    // The same shards computed in this process with the workers' functions give the same outcome.
    const explainer = await ModelExplainer.load('examples/mnist/mnist-cnn.onnx', { threads: 1 });
    const npy = parseNpy(readFileSync(digits), 'digits');
    const x = toFloat32(npy);
    const ds: ShardDataset = { name: 'digits', count: 16, sample: (i) => ({ data: x.slice(i * 784, (i + 1) * 784), dims: [1, 1, 28, 28] }), label: () => undefined };
    const maskSha = createHash('sha256').update(maskBytes).digest('hex');
    const artefact = async (sha: string): Promise<Uint8Array> => (sha === maskSha ? maskBytes : Promise.reject(new Error(`no artefact ${sha}`)));
    const env: ShardEnv = { model: async () => explainer, dataset: async () => ds, artefact, signal: new AbortController().signal, itemDone: () => undefined, threads: 1 };
    const params = { ...evaluation, indices: Array.from({ length: 16 }, (_, i) => i), target: 'pred', shardSize: 4 } as unknown as EvaluateParams & { shardSize: number };
    const expected = mergeEvaluation(params, await Promise.all(shardRanges(16, 4).map(async (r) => (await evaluateWork(env, params, r)).outcome as EvaluationOutcome)));
    expect(eDone.result.cells).toEqual(expected.cells);
    expect(eDone.result.provenance.sharding).toEqual({ shardSize: 4, shards: 4 });
    const maskedParams = { ...masked, masks: { artefact: maskSha, shape: [16, 1, 28, 28] }, indices: params.indices, target: 'pred', shardSize: 4 } as unknown as EvaluateParams & { shardSize: number };
    const maskedExpected = mergeEvaluation(maskedParams, await Promise.all(shardRanges(16, 4).map(async (r) => (await evaluateWork(env, maskedParams, r)).outcome as EvaluationOutcome)));
    expect(mDone.result.cells).toEqual(maskedExpected.cells);
    expect(mDone.result.cells.every((cell: { n: number }) => cell.n === 16)).toBe(true);

    const file = JSON.parse(readFileSync(join(tmp, 'kinds', 'concepts', `${cDone.result.referenceSet}.json`), 'utf8'));
    expect(file).toMatchObject({ complete: true, processed: 16, provenance: { model: { sha256: modelId }, dataset: { name: 'digits', size: 16 } } });
    const path = join(tmp, 'refs-here.json');
    await buildReferences({ model: explainer.model, source: shardSource(ds), spec: { layers: [layer], k: 3, composite: DEFAULT_COMPOSITE, targets: 'prediction', absNorm: true }, path, chunk: 4, threads: 1, modelSha256: modelId });
    expect(file.state).toEqual((await readReferenceFile(path)).state);
    // The references are usable: the server reads them back.
    expect((await api(server.url, 'GET', '/api/concepts/references')).some((r: { id: string; complete: boolean }) => r.id === cDone.result.referenceSet && r.complete)).toBe(true);
    await stop(w1);
    await stop(w2);
    await stop(server);
  });

  it('a worker killed with SIGKILL mid-shard: its shard is retried by the other, nothing lost or duplicated', async () => {
    const server = await serve(['--data-dir', join(tmp, 'kill'), '--dataset', `digits=${digits}`, '--queue', redis!.url, '--shard-size', '4']);
    const modelId = (await api(server.url, 'GET', '/api/models'))[0].id;
    // Occlusion with a 3×3 window at stride 1: ~700 model runs per sample, so the kill lands inside a shard.
    const victim = await worker(redis!.url, server.url, ['--cache-dir', join(tmp, 'k1'), '--stall-timeout', '5']);
    const q = await api(server.url, 'POST', '/api/jobs', { kind: 'explain-dataset', modelId, dataset: 'digits', method: 'occlusion', params: { window: 3, stride: 1 } });
    const started = await waitFor(() => /shard (\d+) of job \S+ started/.exec(victim.out())?.[1], 'the victim to start a shard');
    victim.child.kill('SIGKILL');
    await victim.exited;
    const survivor = await worker(redis!.url, server.url, ['--cache-dir', join(tmp, 'k2'), '--stall-timeout', '5']);
    const done = await finished(server.url, q.id);
    expect(done, `${done.error}\n${survivor.out()}\n${server.err()}`).toMatchObject({ state: 'done', progress: { done: 16, total: 16 } });
    expect(done.resultIds).toHaveLength(16);
    const results = await api(server.url, 'GET', `/api/results?jobId=${q.id}&limit=500`);
    expect(results).toHaveLength(16);
    expect(new Set(results.map((r: { inputId: string }) => r.inputId)).size).toBe(16);
    // The killed shard was computed again by the survivor.
    expect(survivor.out()).toMatch(new RegExp(`shard ${started} of job ${q.id} delivered`));
    await stop(survivor);
    await stop(server);
  });
});
