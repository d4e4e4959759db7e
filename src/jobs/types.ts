import type { JobRecord } from '../store/types.js';
import type { ShardableKind } from './shardable.js';

/** What a running job can see and do. */
export interface JobContext {
  /** The job as persisted when this run started; `progress.done` is where a resumed run continues. */
  readonly job: JobRecord;
  /** Aborted when the job is cancelled (or the server shuts down); handlers check it between units of work. */
  readonly signal: AbortSignal;
  /** Whether this run continues a run interrupted by a server restart. */
  readonly resumed: boolean;
  /**
   * Reports progress to subscribers. `persisted` says the handler already wrote this progress to the store in the same
   * transaction as the unit's results (so a crash never leaves progress ahead of, or behind, what is stored).
   */
  progress(done: number, total: number, options?: { resultId?: string; persisted?: boolean }): Promise<void>;
  /** Stores what the job produced as a whole (JSON); the job becomes `done` only after this has committed. */
  saveResult(result: Record<string, unknown>): Promise<void>;
}

/**
 * A job kind. The runner knows nothing about what jobs do: each kind registers a handler, so a new kind (e.g.
 * `evaluate` once metrics exist) is one new file and one `register` call.
 */
export interface JobHandler<P extends Record<string, unknown> = Record<string, unknown>> {
  kind: string;
  description: string;
  /** JSON schema of the params (also published in /openapi.json and GET /api/jobs/kinds). */
  paramsSchema: Record<string, unknown>;
  /** Whether a run interrupted by a restart can continue from its persisted progress. */
  resumable: boolean;
  /** Checks and normalises the params (throwing a typed error for bad ones); returns them and the amount of work. */
  prepare(params: Record<string, unknown>): Promise<{ params: P; total: number }>;
  run(ctx: JobContext, params: P): Promise<void>;
  /** Set by dataset kinds that can run as shards on a queue of workers (`xsys serve --queue`); see shardable.ts. */
  shards?: ShardableKind<P>;
}
