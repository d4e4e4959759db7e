/**
 * What server and workers agree on: the BullMQ queue name, the shard payload, the Redis keys for cancellation and
 * worker heartbeats, and the HTTP routes workers call.
 */
import type { ShardNeeds, ShardRange } from '../jobs/shardable.js';

export const QUEUE_NAME = 'xsys-shards';
/** Key prefix of everything xsys keeps in Redis (BullMQ's keys are `bull:xsys-shards:…`). */
export const KEY_PREFIX = 'xsys:';
export const cancelKey = (jobId: string): string => `${KEY_PREFIX}cancel:${jobId}`;
export const workerKey = (workerId: string): string => `${KEY_PREFIX}worker:${workerId}`;
export const WORKER_KEY_PATTERN = `${KEY_PREFIX}worker:*`;
/** A worker missing this many ms of heartbeats is gone (its key expires). */
export const HEARTBEAT_MS = 2000;
export const HEARTBEAT_TTL_S = 10;

/** BullMQ job id of a shard (BullMQ forbids ':' in custom ids). */
export const shardJobId = (jobId: string, index: number): string => `${jobId}.${index}`;

/** The data of one BullMQ job: everything a worker needs to compute a shard, without access to the server's store. */
export interface ShardPayload {
  jobId: string;
  kind: string;
  range: ShardRange;
  params: Record<string, unknown>;
  needs: ShardNeeds;
  /** Versions the server runs: a worker whose versions differ cannot reproduce the provenance and refuses the shard. */
  xsysVersion: string;
  ortVersion: string;
  /** When the server queued it (epoch ms), for the submission → first-shard latency. */
  queuedAt: number;
}

/** A worker's heartbeat (stored as JSON under workerKey, expiring after HEARTBEAT_TTL_S). */
export interface WorkerInfo {
  id: string;
  host: string;
  pid: number;
  xsysVersion: string;
  ortVersion: string;
  threads: number | null;
  concurrency: number;
  startedAt: string;
  lastSeen: string;
  running: { jobId: string; kind: string; shard: number; start: number; count: number; done: number; startedAt: string }[];
  shardsDone: number;
  shardsFailed: number;
  shardsRefused: number;
  itemsDone: number;
  /** Items per second over the worker's busy time. */
  itemsPerSecond: number;
}

/** POST body of a delivery (`/api/queue/jobs/:id/shards/:index`). */
export interface ShardDelivery {
  worker: string;
  start: number;
  count: number;
  output: { items: Record<string, unknown>[]; outcome?: Record<string, unknown> };
}

export const deliveryPath = (jobId: string, index: number): string => `/api/queue/jobs/${jobId}/shards/${index}`;
