/**
 * Shardable job kinds: a dataset job whose work is a list of items (dataset samples) that can be split into shards —
 * contiguous ranges of item positions — computed anywhere (a queue worker on another machine), persisted by the server
 * and, for kinds with a job-level outcome, merged deterministically.
 *
 * The contract a kind fulfils so the queue can run it:
 *  - `items(params)`: how many items the job has (positions 0 … n−1);
 *  - `needs(params)`: the content-addressed inputs a worker must fetch (model bytes, dataset bytes);
 *  - `work(env, params, range)`: computes one shard from those inputs alone (no store, no server state), returning
 *    JSON (binary parts base64) — it must give the same output wherever and however often it runs;
 *  - `persist(job, range, output)`: the server stores a delivered shard, idempotently (Store.saveShard);
 *  - `merge(params, outcomes, job)`: the job's result from the shard outcomes in shard order, so it does not depend on
 *    the number of workers or the order shards finished (it may also write the job's artefact, e.g. a references file).
 * A new dataset kind (concept statistics, SpRAy, …) implements this next to its JobHandler and sets `handler.shards`.
 */
import type { ModelExplainer } from '../methods/explainer.js';
import type { Tensor } from '../runtime/tensor.js';
import type { JobRecord } from '../store/types.js';

/** A contiguous range of a job's item positions. */
export interface ShardRange {
  /** The shard's number (0-based); the idempotency key together with the job id. */
  index: number;
  start: number;
  count: number;
}

/** A dataset as a worker sees it: samples by index, fetched by content hash. */
export interface ShardDataset {
  name: string;
  count: number;
  sample(index: number): Tensor;
  label(index: number): number | undefined;
}

/** What a worker provides to a kind's `work`: the job's model and dataset, fetched by the hashes in `needs`. */
export interface ShardEnv {
  model(): Promise<ModelExplainer>;
  dataset(): Promise<ShardDataset>;
  /** The bytes of an artefact listed in the shard's `needs.artefacts`, fetched by hash and verified. */
  artefact(sha256: string): Promise<Uint8Array>;
  /** ONNX Runtime intra-op threads the worker was started with (`--threads`), for kinds that create their own sessions. */
  threads?: number;
  /** Aborted when the job is cancelled; `work` checks it between items. */
  signal: AbortSignal;
  /** Items of this shard finished so far (for the worker's heartbeat). */
  itemDone(): void;
}

/** A shard's output, as delivered to the server: JSON only (binary parts as base64). */
export interface ShardOutput {
  /** Per-item outputs, in position order. */
  items: Record<string, unknown>[];
  /** The shard's part of a job-level outcome (kinds with `merge`). */
  outcome?: Record<string, unknown>;
}

/** Content-addressed inputs of a job. */
export interface ShardNeeds {
  modelSha256: string;
  dataset: { name: string; sha256: string };
  /** Stored artefacts the shard reads (an uploaded masks file …), by sha256: the only ones `env.artefact` fetches. */
  artefacts?: string[];
}

/**
 * The worker half of a kind: computes one shard from the job's params and the fetched inputs alone. It has no server
 * dependencies, so workers register it by kind name (src/queue/work-kinds.ts).
 */
export type ShardWork<P extends Record<string, unknown> = Record<string, unknown>> = (env: ShardEnv, params: P, range: ShardRange) => Promise<ShardOutput>;

/** The server half of a kind. */
export interface ShardableKind<P extends Record<string, unknown> = Record<string, unknown>> {
  /** Items per shard unless the server is told otherwise. */
  defaultShardSize: number;
  items(params: P): number;
  needs(params: P): ShardNeeds;
  work: ShardWork<P>;
  /** Stores a delivered shard once (a redelivery stores nothing); returns the job's progress after it. */
  persist(job: JobRecord, range: ShardRange, output: ShardOutput, worker: string): Promise<{ stored: boolean; done: number }>;
  merge?(params: P, outcomes: Record<string, unknown>[], job: JobRecord): Record<string, unknown> | Promise<Record<string, unknown>>;
}

/** Splits n items into shards of `size` (the last may be smaller). */
export function shardRanges(n: number, size: number): ShardRange[] {
  const out: ShardRange[] = [];
  for (let start = 0, index = 0; start < n; start += size, index++) out.push({ index, start, count: Math.min(size, n - start) });
  return out;
}

export const b64 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
export const unb64 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'base64'));
