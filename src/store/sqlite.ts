/**
 * The Store on SQLite (better-sqlite3) plus content-addressed artefact files. WAL mode lets history reads proceed
 * while a job writes; every multi-row write is one transaction; artefact files are written before the rows that refer
 * to them commit, so after any failure (crash, full disk) each committed row's artefacts exist.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import Database from 'better-sqlite3';

import { ArtefactFiles, nodeFileOps, sha256Hex, type FileOps } from './artefact-files.js';
import { storeFailure, StoreError } from './errors.js';
import { migrate } from './migrations.js';
import { inputFrom, json, jobFrom, modelFrom, resultFrom, shardFrom, type Row } from './rows.js';
import type { ArtefactRecord, ArtefactStore, InputRecord, InputStore, JobRecord, JobStore, ModelStore, ResultQuery, ResultRecord, ResultStore, ShardRecord, Store } from './types.js';

export interface SqliteStoreOptions {
  /** Directory holding xsys.db and artefacts/. Created if missing. */
  dir: string;
  /** File operations for artefacts (tests inject failures). */
  fileOps?: FileOps;
}

export class SqliteStore implements Store {
  readonly db: Database.Database;
  readonly files: ArtefactFiles;
  readonly models: ModelStore;
  readonly inputs: InputStore;
  readonly results: ResultStore;
  readonly jobs: JobStore;
  readonly artefacts: ArtefactStore;

  private constructor(db: Database.Database, files: ArtefactFiles) {
    this.db = db;
    this.files = files;
    const d = db;
    const guard = <T>(what: string, fn: () => T): T => {
      try {
        return fn();
      } catch (err) {
        throw storeFailure(what, err);
      }
    };
    const q = {
      modelInsert: d.prepare('INSERT OR IGNORE INTO models (id, name, bytes, inputs, outputs, opset, preprocess, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
      modelGet: d.prepare('SELECT * FROM models WHERE id = ?'),
      modelList: d.prepare('SELECT * FROM models ORDER BY created_at, id'),
      modelDelete: d.prepare('DELETE FROM models WHERE id = ?'),
      inputInsert: d.prepare('INSERT OR IGNORE INTO inputs (id, dims, source, display_sha256, created_at) VALUES (?, ?, ?, ?, ?)'),
      inputGet: d.prepare('SELECT * FROM inputs WHERE id = ?'),
      resultInsert: d.prepare('INSERT INTO results (id, model_id, input_id, method, composite, params, target, relevance_sum, topk, artefacts, provenance, job_id, dedup_key, count, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)'),
      resultGet: d.prepare('SELECT * FROM results WHERE id = ?'),
      resultByKey: d.prepare('SELECT * FROM results WHERE dedup_key = ? ORDER BY id DESC LIMIT 1'),
      resultRepeat: d.prepare('UPDATE results SET count = count + 1, last_at = ? WHERE id = ?'),
      resultDelete: d.prepare('DELETE FROM results WHERE id = ?'),
      jobInsert: d.prepare('INSERT INTO jobs (id, kind, params, state, done, total, error, attempts, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)'),
      jobGet: d.prepare('SELECT * FROM jobs WHERE id = ?'),
      jobList: d.prepare('SELECT * FROM jobs ORDER BY id DESC LIMIT ?'),
      jobResults: d.prepare('SELECT id FROM results WHERE job_id = ? ORDER BY id'),
      jobProgress: d.prepare('UPDATE jobs SET done = ?, total = ?, updated_at = ? WHERE id = ?'),
      artefactInsert: d.prepare('INSERT OR IGNORE INTO artefacts (sha256, content_type, bytes, created_at) VALUES (?, ?, ?, ?)'),
      artefactGet: d.prepare('SELECT * FROM artefacts WHERE sha256 = ?'),
      shardInsert: d.prepare('INSERT OR IGNORE INTO job_shards (job_id, shard, size, outcome, worker, created_at) VALUES (?, ?, ?, ?, ?, ?)'),
      shardList: d.prepare('SELECT * FROM job_shards WHERE job_id = ? ORDER BY shard'),
      shardDone: d.prepare('SELECT COALESCE(SUM(size), 0) AS done FROM job_shards WHERE job_id = ?'),
      jobDone: d.prepare('UPDATE jobs SET done = ?, updated_at = ? WHERE id = ?'),
    };
    const jobWithResults = (r: Row | undefined): JobRecord | undefined => (r ? jobFrom(r, (q.jobResults.all(r.id) as Row[]).map((x) => String(x.id))) : undefined);

    this.models = {
      put: async (m) => {
        const created = guard('model', () =>
          d.transaction(() => q.modelInsert.run(m.id, m.name, m.bytes, json(m.inputs), json(m.outputs), m.opset, m.preprocess ? json(m.preprocess) : null, m.createdAt).changes === 1)(),
        );
        return { record: modelFrom(q.modelGet.get(m.id) as Row), created };
      },
      get: async (id) => {
        const r = q.modelGet.get(id) as Row | undefined;
        return r ? modelFrom(r) : undefined;
      },
      list: async () => (q.modelList.all() as Row[]).map(modelFrom),
      delete: async (id) => guard('model deletion', () => q.modelDelete.run(id).changes === 1),
      update: async (id, patch) => {
        const sets: string[] = [];
        const args: unknown[] = [];
        if (patch.preprocess !== undefined) (sets.push('preprocess = ?'), args.push(json(patch.preprocess)));
        if (patch.tokenizer !== undefined) (sets.push('tokenizer = ?'), args.push(patch.tokenizer));
        if (sets.length) guard('model update', () => d.prepare(`UPDATE models SET ${sets.join(', ')} WHERE id = ?`).run(...args, id));
        const r = q.modelGet.get(id) as Row | undefined;
        return r ? modelFrom(r) : undefined;
      },
    };
    this.inputs = {
      put: async (i) => {
        guard('input', () => q.inputInsert.run(i.id, json(i.dims), json(i.source), i.displaySha256 ?? null, i.createdAt));
        return inputFrom(q.inputGet.get(i.id) as Row);
      },
      get: async (id) => {
        const r = q.inputGet.get(id) as Row | undefined;
        return r ? inputFrom(r) : undefined;
      },
    };
    this.results = {
      get: async (id) => {
        const r = q.resultGet.get(id) as Row | undefined;
        return r ? resultFrom(r) : undefined;
      },
      list: async (query: ResultQuery) => {
        const where: string[] = [];
        const args: unknown[] = [];
        if (query.modelId) (where.push('model_id = ?'), args.push(query.modelId));
        if (query.jobId) (where.push('job_id = ?'), args.push(query.jobId));
        if (query.before) (where.push('id < ?'), args.push(query.before));
        const limit = Math.min(Math.max(1, Math.trunc(query.limit ?? 50)), 500);
        const sql = `SELECT * FROM results ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
        return (d.prepare(sql).all(...args, limit) as Row[]).map(resultFrom);
      },
      findByKey: async (key) => {
        const r = q.resultByKey.get(key) as Row | undefined;
        return r ? resultFrom(r) : undefined;
      },
      repeat: async (id) => {
        if (guard('result repeat', () => q.resultRepeat.run(new Date().toISOString(), id).changes) !== 1) return undefined;
        return resultFrom(q.resultGet.get(id) as Row);
      },
      delete: async (id) => guard('result deletion', () => q.resultDelete.run(id).changes === 1),
    };
    this.jobs = {
      create: async (j) => {
        guard('job', () => q.jobInsert.run(j.id, j.kind, json(j.params), j.state, j.progress.done, j.progress.total, j.error ?? null, j.attempts, j.createdAt, j.updatedAt));
        return jobWithResults(q.jobGet.get(j.id) as Row)!;
      },
      get: async (id) => jobWithResults(q.jobGet.get(id) as Row | undefined),
      list: async (limit = 100) => (q.jobList.all(limit) as Row[]).map((r) => jobWithResults(r)!),
      byState: async (states) => {
        if (states.length === 0) return [];
        const rows = d.prepare(`SELECT * FROM jobs WHERE state IN (${states.map(() => '?').join(', ')}) ORDER BY id`).all(...states) as Row[];
        return rows.map((r) => jobWithResults(r)!);
      },
      update: async (id, patch) => {
        const sets: string[] = ['updated_at = ?'];
        const args: unknown[] = [new Date().toISOString()];
        if (patch.state !== undefined) (sets.push('state = ?'), args.push(patch.state));
        if (patch.progress !== undefined) (sets.push('done = ?', 'total = ?'), args.push(patch.progress.done, patch.progress.total));
        if (patch.error !== undefined) (sets.push('error = ?'), args.push(patch.error));
        if (patch.attempts !== undefined) (sets.push('attempts = ?'), args.push(patch.attempts));
        if (patch.result !== undefined) (sets.push('result = ?'), args.push(json(patch.result)));
        const changed = guard('job update', () => d.prepare(`UPDATE jobs SET ${sets.join(', ')} WHERE id = ?`).run(...args, id).changes);
        if (changed !== 1) throw new StoreError('corrupt', `job ${id} does not exist`);
        return jobWithResults(q.jobGet.get(id) as Row)!;
      },
      shards: async (jobId) => (q.shardList.all(jobId) as Row[]).map(shardFrom),
    };
    const artefactRecord = (r: Row): ArtefactRecord => ({ sha256: String(r.sha256), contentType: String(r.content_type), bytes: Number(r.bytes), createdAt: String(r.created_at) });
    this.artefacts = {
      put: async (bytes, contentType) => {
        const sha = sha256Hex(bytes);
        // File first, row second: a row never points at a missing file.
        await files.write(bytes, sha);
        guard('artefact record', () => q.artefactInsert.run(sha, contentType, bytes.length, new Date().toISOString()));
        return sha;
      },
      head: async (sha) => {
        const r = q.artefactGet.get(sha) as Row | undefined;
        return r ? artefactRecord(r) : undefined;
      },
      get: async (sha) => {
        const r = q.artefactGet.get(sha) as Row | undefined;
        if (!r) return undefined;
        const record = artefactRecord(r);
        const bytes = await files.read(sha, record.bytes);
        if (!bytes) throw new StoreError('corrupt', `artefact ${sha} is recorded but its file is missing`, 'the data directory was modified outside xsys');
        return { record, bytes };
      },
    };
    this.saveResultTx = d.transaction((result: ResultRecord, input: InputRecord, job?: { id: string; progress: { done: number; total: number } }) => {
      q.inputInsert.run(input.id, json(input.dims), json(input.source), input.displaySha256 ?? null, input.createdAt);
      q.resultInsert.run(result.id, result.modelId, result.inputId, result.method, result.composite, json(result.params), result.target, result.relevanceSum, json(result.topk), json(result.artefacts), json(result.provenance), result.jobId ?? null, result.key ?? null, result.count ?? 1, result.createdAt);
      if (job) q.jobProgress.run(job.progress.done, job.progress.total, new Date().toISOString(), job.id);
    });
    this.saveShardTx = d.transaction((shard: ShardRecord, items: { result: ResultRecord; input: InputRecord }[]) => {
      const stored = q.shardInsert.run(shard.jobId, shard.index, shard.size, shard.outcome ? json(shard.outcome) : null, shard.worker ?? null, shard.createdAt).changes === 1;
      if (stored) {
        for (const { result, input } of items) {
          q.inputInsert.run(input.id, json(input.dims), json(input.source), input.displaySha256 ?? null, input.createdAt);
          q.resultInsert.run(result.id, result.modelId, result.inputId, result.method, result.composite, json(result.params), result.target, result.relevanceSum, json(result.topk), json(result.artefacts), json(result.provenance), result.jobId ?? null, result.key ?? null, result.count ?? 1, result.createdAt);
        }
      }
      const done = Number((q.shardDone.get(shard.jobId) as Row).done);
      if (stored) q.jobDone.run(done, new Date().toISOString(), shard.jobId);
      return { stored, done };
    });
  }

  async saveShard(shard: ShardRecord, items: { result: ResultRecord; input: InputRecord }[]): Promise<{ stored: boolean; done: number }> {
    try {
      return this.saveShardTx(shard, items);
    } catch (err) {
      throw storeFailure(`shard ${shard.index} of job ${shard.jobId}`, err);
    }
  }

  private readonly saveShardTx: (shard: ShardRecord, items: { result: ResultRecord; input: InputRecord }[]) => { stored: boolean; done: number };
  private readonly saveResultTx: (result: ResultRecord, input: InputRecord, job?: { id: string; progress: { done: number; total: number } }) => void;

  static open(options: SqliteStoreOptions): SqliteStore {
    let db: Database.Database;
    try {
      mkdirSync(options.dir, { recursive: true });
      db = new Database(join(options.dir, 'xsys.db'));
      db.pragma('journal_mode = WAL');
      // NORMAL is durable across application crashes in WAL mode (only an OS crash can lose the last commits).
      db.pragma('synchronous = NORMAL');
      db.pragma('busy_timeout = 5000');
      migrate(db);
    } catch (err) {
      throw storeFailure(`the store in ${options.dir}`, err);
    }
    return new SqliteStore(db, new ArtefactFiles(join(options.dir, 'artefacts'), options.fileOps ?? nodeFileOps));
  }

  async saveResult(result: ResultRecord, input: InputRecord, job?: { id: string; progress: { done: number; total: number } }): Promise<ResultRecord> {
    try {
      this.saveResultTx(result, input, job);
    } catch (err) {
      throw storeFailure(`result ${result.id}`, err);
    }
    return result;
  }

  async schemaVersion(): Promise<number> {
    const row = this.db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number };
    return row.v;
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
