/**
 * The Store on PostgreSQL (node-postgres pool) for deployments with many users and a queue of workers. Rows live in
 * PostgreSQL with the same schema and migrations as SQLite; artefact bytes stay content-addressed files in the data
 * directory (written before the rows that refer to them commit, exactly as the SQLite store does). Every multi-row
 * write is one transaction on one pooled connection.
 */
import { join } from 'node:path';

import pg from 'pg';

import { ArtefactFiles, nodeFileOps, sha256Hex, type FileOps } from './artefact-files.js';
import { storeFailure, StoreError } from './errors.js';
import { LATEST_VERSION, MIGRATIONS } from './migrations.js';
import { inputFrom, json, jobFrom, modelFrom, resultFrom, shardFrom, type Row } from './rows.js';
import type { ArtefactRecord, ArtefactStore, InputRecord, InputStore, JobRecord, JobStore, ModelStore, ResultRecord, ResultStore, ShardRecord, Store } from './types.js';

export interface PostgresStoreOptions {
  /** postgres://user:password@host:port/database */
  url: string;
  /** Directory holding artefacts/ (the server's data directory). */
  dir: string;
  fileOps?: FileOps;
  /** Pool size (default 10). */
  maxConnections?: number;
}

/** Whether `s` names a PostgreSQL store (`--store postgres://…`). */
export function isPostgresUrl(s: string): boolean {
  return /^postgres(ql)?:\/\//.test(s);
}

/** A connection URL without its password, for messages. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}

// An arbitrary constant: the advisory lock held while migrating, so two servers starting at once migrate once.
const MIGRATION_LOCK = 0x78737973;

type Query = (text: string, values?: unknown[]) => Promise<Row[]>;

const resultValues = (r: ResultRecord): unknown[] => [r.id, r.modelId, r.inputId, r.method, r.composite, json(r.params), r.target, r.relevanceSum, json(r.topk), json(r.artefacts), json(r.provenance), r.jobId ?? null, r.key ?? null, r.count ?? 1, r.createdAt];
const inputValues = (i: InputRecord): unknown[] => [i.id, json(i.dims), json(i.source), i.displaySha256 ?? null, i.createdAt];
const SQL = {
  inputInsert: 'INSERT INTO inputs (id, dims, source, display_sha256, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING',
  resultInsert: 'INSERT INTO results (id, model_id, input_id, method, composite, params, target, relevance_sum, topk, artefacts, provenance, job_id, dedup_key, count, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)',
};

export class PostgresStore implements Store {
  readonly models: ModelStore;
  readonly inputs: InputStore;
  readonly results: ResultStore;
  readonly jobs: JobStore;
  readonly artefacts: ArtefactStore;

  private constructor(
    readonly pool: pg.Pool,
    readonly files: ArtefactFiles,
  ) {
    const q: Query = async (text, values) => {
      try {
        return (await pool.query(text, values)).rows as Row[];
      } catch (err) {
        throw storeFailure('a PostgreSQL query', err);
      }
    };
    const jobWithResults = async (r: Row | undefined): Promise<JobRecord | undefined> =>
      r ? jobFrom(r, (await q('SELECT id FROM results WHERE job_id = $1 ORDER BY id COLLATE "C"', [r.id])).map((x) => String(x.id))) : undefined;
    const jobGet = async (id: string): Promise<JobRecord | undefined> => jobWithResults((await q('SELECT * FROM jobs WHERE id = $1', [id]))[0]);

    this.models = {
      put: async (m) => {
        const inserted = await q('INSERT INTO models (id, name, bytes, inputs, outputs, opset, preprocess, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING RETURNING id', [
          m.id,
          m.name,
          m.bytes,
          json(m.inputs),
          json(m.outputs),
          m.opset,
          m.preprocess ? json(m.preprocess) : null,
          m.createdAt,
        ]);
        return { record: modelFrom((await q('SELECT * FROM models WHERE id = $1', [m.id]))[0]!), created: inserted.length === 1 };
      },
      get: async (id) => {
        const r = (await q('SELECT * FROM models WHERE id = $1', [id]))[0];
        return r ? modelFrom(r) : undefined;
      },
      list: async () => (await q('SELECT * FROM models ORDER BY created_at, id')).map(modelFrom),
      delete: async (id) => (await q('DELETE FROM models WHERE id = $1 RETURNING id', [id])).length === 1,
      update: async (id, patch) => {
        const args: unknown[] = [];
        const sets: string[] = [];
        const set = (col: string, v: unknown) => (args.push(v), sets.push(`${col} = $${args.length}`));
        if (patch.preprocess !== undefined) set('preprocess', json(patch.preprocess));
        if (patch.tokenizer !== undefined) set('tokenizer', patch.tokenizer);
        args.push(id);
        const rows = sets.length ? await q(`UPDATE models SET ${sets.join(', ')} WHERE id = $${args.length} RETURNING *`, args) : await q('SELECT * FROM models WHERE id = $1', [id]);
        return rows[0] ? modelFrom(rows[0]) : undefined;
      },
    };
    this.inputs = {
      put: async (i) => {
        await q(SQL.inputInsert, inputValues(i));
        return inputFrom((await q('SELECT * FROM inputs WHERE id = $1', [i.id]))[0]!);
      },
      get: async (id) => {
        const r = (await q('SELECT * FROM inputs WHERE id = $1', [id]))[0];
        return r ? inputFrom(r) : undefined;
      },
    };
    this.results = {
      get: async (id) => {
        const r = (await q('SELECT * FROM results WHERE id = $1', [id]))[0];
        return r ? resultFrom(r) : undefined;
      },
      list: async (query) => {
        const where: string[] = [];
        const args: unknown[] = [];
        const add = (sql: string, v: unknown) => (args.push(v), where.push(sql.replace('?', `$${args.length}`)));
        if (query.modelId) add('model_id = ?', query.modelId);
        if (query.jobId) add('job_id = ?', query.jobId);
        if (query.before) add('id COLLATE "C" < ?', query.before);
        const limit = Math.min(Math.max(1, Math.trunc(query.limit ?? 50)), 500);
        args.push(limit);
        // COLLATE "C": ids compare byte-wise, as in SQLite, whatever the database's locale.
        return (await q(`SELECT * FROM results ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id COLLATE "C" DESC LIMIT $${args.length}`, args)).map(resultFrom);
      },
      findByKey: async (key) => {
        const r = (await q('SELECT * FROM results WHERE dedup_key = $1 ORDER BY id COLLATE "C" DESC LIMIT 1', [key]))[0];
        return r ? resultFrom(r) : undefined;
      },
      // One statement: concurrent repeats each add one (the row lock serialises them).
      repeat: async (id) => {
        const r = (await q('UPDATE results SET count = count + 1, last_at = $1 WHERE id = $2 RETURNING *', [new Date().toISOString(), id]))[0];
        return r ? resultFrom(r) : undefined;
      },
      delete: async (id) => (await q('DELETE FROM results WHERE id = $1 RETURNING id', [id])).length === 1,
    };
    this.jobs = {
      create: async (j) => {
        await q('INSERT INTO jobs (id, kind, params, state, done, total, error, attempts, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)', [
          j.id,
          j.kind,
          json(j.params),
          j.state,
          j.progress.done,
          j.progress.total,
          j.error ?? null,
          j.attempts,
          j.createdAt,
          j.updatedAt,
        ]);
        return (await jobGet(j.id))!;
      },
      get: jobGet,
      list: async (limit = 100) => Promise.all((await q('SELECT * FROM jobs ORDER BY id COLLATE "C" DESC LIMIT $1', [limit])).map(async (r) => (await jobWithResults(r))!)),
      byState: async (states) => {
        if (states.length === 0) return [];
        return Promise.all((await q('SELECT * FROM jobs WHERE state = ANY($1) ORDER BY id COLLATE "C"', [states])).map(async (r) => (await jobWithResults(r))!));
      },
      update: async (id, patch) => {
        const args: unknown[] = [new Date().toISOString()];
        const sets: string[] = ['updated_at = $1'];
        const set = (col: string, v: unknown) => (args.push(v), sets.push(`${col} = $${args.length}`));
        if (patch.state !== undefined) set('state', patch.state);
        if (patch.progress !== undefined) (set('done', patch.progress.done), set('total', patch.progress.total));
        if (patch.error !== undefined) set('error', patch.error);
        if (patch.attempts !== undefined) set('attempts', patch.attempts);
        if (patch.result !== undefined) set('result', json(patch.result));
        args.push(id);
        const changed = await q(`UPDATE jobs SET ${sets.join(', ')} WHERE id = $${args.length} RETURNING id`, args);
        if (changed.length !== 1) throw new StoreError('corrupt', `job ${id} does not exist`);
        return (await jobGet(id))!;
      },
      shards: async (jobId) => (await q('SELECT * FROM job_shards WHERE job_id = $1 ORDER BY shard', [jobId])).map(shardFrom),
    };
    const artefactRecord = (r: Row): ArtefactRecord => ({ sha256: String(r.sha256), contentType: String(r.content_type), bytes: Number(r.bytes), createdAt: String(r.created_at) });
    const artefactRow = async (sha: string): Promise<Row | undefined> => (await q('SELECT * FROM artefacts WHERE sha256 = $1', [sha]))[0];
    this.artefacts = {
      put: async (bytes, contentType) => {
        const sha = sha256Hex(bytes);
        // File first, row second: a row never points at a missing file.
        await files.write(bytes, sha);
        await q('INSERT INTO artefacts (sha256, content_type, bytes, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (sha256) DO NOTHING', [sha, contentType, bytes.length, new Date().toISOString()]);
        return sha;
      },
      head: async (sha) => {
        const r = await artefactRow(sha);
        return r ? artefactRecord(r) : undefined;
      },
      get: async (sha) => {
        const r = await artefactRow(sha);
        if (!r) return undefined;
        const record = artefactRecord(r);
        const bytes = await files.read(sha, record.bytes);
        if (!bytes) throw new StoreError('corrupt', `artefact ${sha} is recorded but its file is missing`, 'the data directory was modified outside xsys');
        return { record, bytes };
      },
    };
  }

  /** Connects, migrates to the latest schema (refusing a newer one) and returns the store. */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    const pool = new pg.Pool({ connectionString: options.url, max: options.maxConnections ?? 10 });
    // An idle client losing its connection (server restart) must not crash the process; the next query reconnects.
    pool.on('error', () => undefined);
    try {
      await migratePostgres(pool);
    } catch (err) {
      await pool.end().catch(() => undefined);
      if (err instanceof StoreError) throw err;
      throw new StoreError('io', `cannot open the PostgreSQL store at ${redactUrl(options.url)}: ${(err as Error).message}`, 'check that PostgreSQL is running and the URL (user, password, database) is right', err);
    }
    return new PostgresStore(pool, new ArtefactFiles(join(options.dir, 'artefacts'), options.fileOps ?? nodeFileOps));
  }

  private async transaction<T>(what: string, fn: (query: Query) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw storeFailure(what, err);
    }
    try {
      await client.query('BEGIN');
      const value = await fn(async (text, values) => (await client.query(text, values)).rows as Row[]);
      await client.query('COMMIT');
      return value;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw storeFailure(what, err);
    } finally {
      client.release();
    }
  }

  async saveResult(result: ResultRecord, input: InputRecord, job?: { id: string; progress: { done: number; total: number } }): Promise<ResultRecord> {
    await this.transaction(`result ${result.id}`, async (q) => {
      await q(SQL.inputInsert, inputValues(input));
      await q(SQL.resultInsert, resultValues(result));
      if (job) await q('UPDATE jobs SET done = $1, total = $2, updated_at = $3 WHERE id = $4', [job.progress.done, job.progress.total, new Date().toISOString(), job.id]);
    });
    return result;
  }

  async saveShard(shard: ShardRecord, items: { result: ResultRecord; input: InputRecord }[]): Promise<{ stored: boolean; done: number }> {
    return this.transaction(`shard ${shard.index} of job ${shard.jobId}`, async (q) => {
      // The primary key serialises two deliveries of one shard: the second waits for the first to commit, then inserts nothing.
      const stored =
        (await q('INSERT INTO job_shards (job_id, shard, size, outcome, worker, created_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING shard', [
          shard.jobId,
          shard.index,
          shard.size,
          shard.outcome ? json(shard.outcome) : null,
          shard.worker ?? null,
          shard.createdAt,
        ])).length === 1;
      if (stored) {
        for (const { result, input } of items) {
          await q(SQL.inputInsert, inputValues(input));
          await q(SQL.resultInsert, resultValues(result));
        }
      }
      const done = Number((await q('SELECT COALESCE(SUM(size), 0) AS done FROM job_shards WHERE job_id = $1', [shard.jobId]))[0]!.done);
      if (stored) await q('UPDATE jobs SET done = $1, updated_at = $2 WHERE id = $3', [done, new Date().toISOString(), shard.jobId]);
      return { stored, done };
    });
  }

  async schemaVersion(): Promise<number> {
    const rows = (await this.pool.query('SELECT MAX(version) AS v FROM schema_migrations')).rows as { v: number }[];
    return Number(rows[0]!.v);
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }
}

/** Brings the database to `target` (default latest), each migration in one transaction with its schema_migrations row. */
export async function migratePostgres(pool: pg.Pool, target = LATEST_VERSION): Promise<number> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
    const current = async () => Number((await client.query('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations')).rows[0].v);
    const from = await current();
    if (from > LATEST_VERSION) {
      throw new StoreError('corrupt', `the store's schema is version ${from}, newer than this xsys understands (${LATEST_VERSION})`, 'upgrade xsys, or use another --store');
    }
    for (const m of MIGRATIONS) {
      if (m.version <= from || m.version > target) continue;
      try {
        await client.query('BEGIN');
        await client.query(m.postgres);
        await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [m.version, m.name, new Date().toISOString()]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw new StoreError('corrupt', `PostgreSQL migration ${m.version} (${m.name}) failed: ${(err as Error).message}`, undefined, err);
      }
    }
    return await current();
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    client.release();
  }
}
