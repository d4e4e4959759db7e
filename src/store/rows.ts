/**
 * Row ↔ record mapping shared by the SQLite and PostgreSQL stores: both keep the same columns (JSON as TEXT, snake
 * case), so a record read from either store is identical.
 */
import type { InputRecord, JobRecord, JobState, ModelRecord, ResultRecord, ShardRecord } from './types.js';

export type Row = Record<string, unknown>;

export const json = (v: unknown): string => JSON.stringify(v);
export const parse = <T>(v: unknown): T => JSON.parse(String(v)) as T;

export function modelFrom(r: Row): ModelRecord {
  return {
    id: String(r.id),
    name: String(r.name),
    bytes: Number(r.bytes),
    inputs: parse(r.inputs),
    outputs: parse(r.outputs),
    opset: Number(r.opset),
    ...(r.preprocess ? { preprocess: parse(r.preprocess) } : {}),
    ...(r.tokenizer ? { tokenizer: String(r.tokenizer) } : {}),
    createdAt: String(r.created_at),
  };
}

export function inputFrom(r: Row): InputRecord {
  return {
    id: String(r.id),
    dims: parse(r.dims),
    source: parse(r.source),
    ...(r.display_sha256 ? { displaySha256: String(r.display_sha256) } : {}),
    createdAt: String(r.created_at),
  };
}

export function resultFrom(r: Row): ResultRecord {
  return {
    id: String(r.id),
    modelId: String(r.model_id),
    inputId: String(r.input_id),
    method: String(r.method),
    composite: r.composite === null ? null : String(r.composite),
    params: parse(r.params),
    target: Number(r.target),
    relevanceSum: Number(r.relevance_sum),
    topk: parse(r.topk),
    artefacts: parse(r.artefacts),
    provenance: parse(r.provenance),
    ...(r.job_id ? { jobId: String(r.job_id) } : {}),
    ...(r.dedup_key ? { key: String(r.dedup_key) } : {}),
    count: r.count === undefined || r.count === null ? 1 : Number(r.count),
    ...(r.last_at ? { lastAt: String(r.last_at) } : {}),
    createdAt: String(r.created_at),
  };
}

export function jobFrom(r: Row, resultIds: string[]): JobRecord {
  return {
    id: String(r.id),
    kind: String(r.kind),
    params: parse(r.params),
    state: String(r.state) as JobState,
    progress: { done: Number(r.done), total: Number(r.total) },
    ...(r.error ? { error: String(r.error) } : {}),
    resultIds,
    ...(r.result ? { result: parse<Record<string, unknown>>(r.result) } : {}),
    attempts: Number(r.attempts),
    createdAt: String(r.created_at),
    updatedAt: String(r.updated_at),
  };
}

export function shardFrom(r: Row): ShardRecord {
  return {
    jobId: String(r.job_id),
    index: Number(r.shard),
    size: Number(r.size),
    ...(r.outcome ? { outcome: parse<Record<string, unknown>>(r.outcome) } : {}),
    ...(r.worker ? { worker: String(r.worker) } : {}),
    createdAt: String(r.created_at),
  };
}
