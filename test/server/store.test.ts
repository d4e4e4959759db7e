import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { ArtefactFiles, nodeFileOps, sha256Hex, type FileOps } from '../../src/store/artefact-files.js';
import { StoreError } from '../../src/store/errors.js';
import { isId, newId } from '../../src/store/ids.js';
import { LATEST_VERSION, MIGRATIONS, migrate } from '../../src/store/migrations.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { PostgresStore } from '../../src/store/postgres.js';
import type { InputRecord, ResultRecord, Store } from '../../src/store/types.js';
import { skipReason, startPostgres, type PostgresServer } from '../helpers/services.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'xsys-store-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name);
}

const input = (id: string): InputRecord => ({ id, dims: [1, 2], source: { kind: 'npy' }, createdAt: '2026-01-01T00:00:00.000Z' });
const result = (id: string, inputId: string): ResultRecord => ({
  id,
  modelId: 'a'.repeat(64),
  inputId,
  method: 'gradient',
  composite: null,
  params: {},
  target: 3,
  relevanceSum: 1.5,
  topk: [{ class: 3, score: 2, prob: 0.9 }],
  artefacts: { heatmap: null, attribution: 'b'.repeat(64), input: inputId },
  provenance: { modelSha256: 'a'.repeat(64), inputSha256: inputId, method: 'gradient', composite: null, params: {}, target: 'pred', xsysVersion: '0', ortVersion: '1', timingMs: { compile: 0, run: 1, total: 2 } },
  createdAt: '2026-01-01T00:00:00.000Z',
});

describe('ids', () => {
  it('are time-sortable and strictly increasing within one millisecond', () => {
    const ids = Array.from({ length: 1000 }, () => newId(1_700_000_000_000));
    expect(ids.every(isId)).toBe(true);
    for (let i = 1; i < ids.length; i++) expect(ids[i]! > ids[i - 1]!).toBe(true);
    expect(newId(1_700_000_000_001) > ids[ids.length - 1]!).toBe(true);
    expect(isId('../../etc/passwd')).toBe(false);
  });
});

describe('SqliteStore', () => {
  it('uses WAL and is at the latest schema version', async () => {
    const s = SqliteStore.open({ dir: tempDir() });
    expect(s.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(await s.schemaVersion()).toBe(LATEST_VERSION);
    await s.close();
  });

  it('upgrades a version-1 store, keeping its rows', async () => {
    const dir = tempDir();
    // A database exactly as an xsys with schema 1 left it (that version's code wrote these rows).
    const v1 = new Database(join(dir, 'xsys.db'));
    expect(migrate(v1, 1)).toBe(1);
    v1.prepare("INSERT INTO jobs (id, kind, params, state, done, total, error, created_at, updated_at) VALUES ('01JOB00000000000000000000A', 'explain-dataset', '{}', 'running', 3, 8, NULL, 't', 't')").run();
    v1.prepare("INSERT INTO models (id, name, bytes, inputs, outputs, opset, created_at) VALUES (?, 'old.onnx', 10, '[]', '[]', 13, 't')").run('c'.repeat(64));
    v1.close();

    const s = SqliteStore.open({ dir });
    expect(await s.schemaVersion()).toBe(LATEST_VERSION);
    const job = await s.jobs.get('01JOB00000000000000000000A');
    expect(job).toMatchObject({ state: 'running', progress: { done: 3, total: 8 }, attempts: 0, resultIds: [] });
    const m = await s.models.get('c'.repeat(64));
    expect(m).toMatchObject({ name: 'old.onnx', opset: 13 });
    expect(m!.preprocess).toBeUndefined();
    expect(job!.result).toBeUndefined();
    const rows = s.db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as { version: number }[];
    expect(rows.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
    // Migration 3: a job's result (e.g. an evaluation outcome) is stored as JSON and read back.
    const done = await s.jobs.update('01JOB00000000000000000000A', { state: 'done', result: { cells: [{ mean: 0.25, scores: [0.5, null] }] } });
    expect(done.result).toEqual({ cells: [{ mean: 0.25, scores: [0.5, null] }] });
    await s.close();
  });

  it('refuses a store written by a newer xsys', () => {
    const dir = tempDir();
    SqliteStore.open({ dir }).db.prepare("INSERT INTO schema_migrations VALUES (99, 'future', 't')").run();
    expect(() => SqliteStore.open({ dir })).toThrow(/version 99, newer/);
  });

  it('a migration that fails leaves the store at the previous version', () => {
    const db = new Database(':memory:');
    migrate(db, 1);
    db.exec('ALTER TABLE results ADD COLUMN job_id TEXT'); // makes migration 2's ALTER fail half-way
    expect(() => migrate(db)).toThrow(/duplicate column/);
    expect((db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number }).v).toBe(1);
    // Nothing of migration 2 that came before the failing statement survived either.
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'results_job'").get()).toBeUndefined();
  });
});

/**
 * The store contract, run against every Store implementation: SQLite always, PostgreSQL on a throwaway cluster when
 * its binaries are installed (always under CI).
 */
interface StoreKind {
  name: string;
  open(dir: string, fileOps?: FileOps): Promise<Store>;
  skip?: string;
}

let pgServer: PostgresServer | undefined;
let pgDatabases = 0;
const pgSkip = skipReason('postgres');
const KINDS: StoreKind[] = [
  { name: 'SQLite', open: async (dir, fileOps) => SqliteStore.open({ dir, fileOps }) },
  {
    name: 'PostgreSQL',
    ...(pgSkip ? { skip: pgSkip } : {}),
    // One cluster for the file, a fresh database per store: tests stay independent without an initdb each.
    open: async (dir, fileOps) => PostgresStore.open({ url: await pgServer!.createDatabase(`t${++pgDatabases}`), dir, fileOps }),
  },
];

beforeAll(async () => {
  if (!pgSkip) pgServer = await startPostgres();
}, 120_000);
afterAll(async () => {
  await pgServer?.stop();
});

describe.each(KINDS)('Store contract on $name', (kind) => {
  if (kind.skip) {
    it.skip(`skipped: ${kind.skip}`, () => undefined);
    return;
  }

  it('is at the latest schema version', async () => {
    const s = await kind.open(tempDir());
    expect(await s.schemaVersion()).toBe(LATEST_VERSION);
    await s.close();
  });

  it('saves a result, its input and job progress in one transaction', async () => {
    const s = await kind.open(tempDir());
    const now = new Date().toISOString();
    const job = await s.jobs.create({ id: newId(), kind: 'k', params: {}, state: 'running', progress: { done: 0, total: 2 }, resultIds: [], attempts: 1, createdAt: now, updatedAt: now });
    const r1 = { ...result(newId(), 'd'.repeat(64)), jobId: job.id };
    await s.saveResult(r1, input('d'.repeat(64)), { id: job.id, progress: { done: 1, total: 2 } });
    expect(await s.jobs.get(job.id)).toMatchObject({ progress: { done: 1, total: 2 }, resultIds: [r1.id] });
    expect(await s.results.get(r1.id)).toEqual({ ...r1, count: 1 });

    // A failing insert (duplicate result id) must roll back the new input row and the job progress with it.
    const dup = { ...result(r1.id, 'e'.repeat(64)), jobId: job.id };
    await expect(s.saveResult(dup, input('e'.repeat(64)), { id: job.id, progress: { done: 2, total: 2 } })).rejects.toBeInstanceOf(StoreError);
    expect(await s.inputs.get('e'.repeat(64))).toBeUndefined();
    expect((await s.jobs.get(job.id))!.progress.done).toBe(1);
    await s.close();
  });

  it('finds a result by its provenance key, counts repeats and deletes', async () => {
    const s = await kind.open(tempDir());
    const a = { ...result(newId(), 'f'.repeat(64)), key: 'k1', count: 1 };
    const b = { ...result(newId(), 'f'.repeat(64)), key: 'k2', count: 1 };
    await s.saveResult(a, input('f'.repeat(64)));
    await s.saveResult(b, input('f'.repeat(64)));
    expect((await s.results.findByKey('k1'))?.id).toBe(a.id);
    expect(await s.results.findByKey('nope')).toBeUndefined();
    const again = await s.results.repeat(a.id);
    expect(again).toMatchObject({ id: a.id, count: 2, key: 'k1' });
    expect(Date.parse(again!.lastAt!)).toBeGreaterThan(0);
    expect((await s.results.repeat(a.id))!.count).toBe(3);
    expect(await s.results.repeat('0'.repeat(26))).toBeUndefined();
    expect(await s.results.delete(a.id)).toBe(true);
    expect(await s.results.delete(a.id)).toBe(false);
    expect(await s.results.get(a.id)).toBeUndefined();
    expect(await s.results.findByKey('k1')).toBeUndefined();
    expect((await s.results.list({})).map((r) => r.id)).toEqual([b.id]);
    await s.close();
  });

  it('lists results newest first, filtered and paged', async () => {
    const s = await kind.open(tempDir());
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = { ...result(newId(), 'f'.repeat(64)), modelId: i % 2 ? 'a'.repeat(64) : '9'.repeat(64) };
      ids.push(r.id);
      await s.saveResult(r, input('f'.repeat(64)));
    }
    expect((await s.results.list({})).map((r) => r.id)).toEqual([...ids].reverse());
    expect((await s.results.list({ modelId: 'a'.repeat(64) })).map((r) => r.id)).toEqual([ids[3], ids[1]]);
    expect((await s.results.list({ before: ids[3], limit: 2 })).map((r) => r.id)).toEqual([ids[2], ids[1]]);
    await s.close();
  });

  it('stores artefacts content-addressed and idempotently', async () => {
    const dir = tempDir();
    const s = await kind.open(dir);
    const bytes = new TextEncoder().encode('heatmap bytes');
    const sha = await s.artefacts.put(bytes, 'image/png');
    expect(sha).toBe(sha256Hex(bytes));
    expect(await s.artefacts.put(bytes, 'image/png')).toBe(sha);
    expect(filesUnder(join(dir, 'artefacts'))).toEqual([sha]);
    const got = await s.artefacts.get(sha);
    expect(got!.record).toMatchObject({ sha256: sha, contentType: 'image/png', bytes: bytes.length });
    expect(Buffer.from(got!.bytes).toString()).toBe('heatmap bytes');
    expect(await s.artefacts.get('0'.repeat(64))).toBeUndefined();
    await s.close();
  });

  it('a full disk is a clear StoreError, leaves no partial file and no row', async () => {
    const dir = tempDir();
    let full = true;
    const ops: FileOps = {
      ...nodeFileOps,
      writeFile: async (p, b) => {
        if (full) {
          // Like a real ENOSPC: part of the data reached the temp file before the write failed.
          await nodeFileOps.writeFile(p, b.subarray(0, 3));
          throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        }
        return nodeFileOps.writeFile(p, b);
      },
    };
    const s = await kind.open(dir, ops);
    const bytes = new Uint8Array([1, 2, 3, 4, 5]);
    const err = await s.artefacts.put(bytes, 'application/x-npy').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).reason).toBe('full');
    expect((err as StoreError).message).toMatch(/no space left/);
    expect(filesUnder(join(dir, 'artefacts'))).toEqual([]);
    expect(await s.artefacts.head(sha256Hex(bytes))).toBeUndefined();
    full = false;
    expect(await s.artefacts.put(bytes, 'application/x-npy')).toBe(sha256Hex(bytes));
    await s.close();
  });

  it('detects an artefact file changed on disk and refuses paths that are not hashes', async () => {
    const dir = tempDir();
    const files = new ArtefactFiles(dir);
    const sha = await files.write(new Uint8Array([9, 9, 9]));
    await expect(files.read(sha, 4)).rejects.toThrow(/3 bytes on disk, 4 recorded/);
    expect(() => files.pathOf('../../etc/passwd')).toThrow(StoreError);
  });

  it('concurrent puts of the same model make one record', async () => {
    const s = await kind.open(tempDir());
    const m = { id: '7'.repeat(64), name: 'x.onnx', bytes: 1, inputs: [], outputs: [], opset: 17, createdAt: 't' };
    const outcomes = await Promise.all(Array.from({ length: 5 }, () => s.models.put(m)));
    expect(outcomes.filter((o) => o.created)).toHaveLength(1);
    expect(await s.models.list()).toHaveLength(1);
    await s.close();
  });

  it('creates, lists and updates jobs; byState is oldest first', async () => {
    const s = await kind.open(tempDir());
    const now = new Date().toISOString();
    const ids = [newId(), newId(), newId()];
    for (const [k, id] of ids.entries()) await s.jobs.create({ id, kind: 'k', params: { n: k }, state: k === 1 ? 'running' : 'queued', progress: { done: 0, total: 4 }, resultIds: [], attempts: 0, createdAt: now, updatedAt: now });
    expect((await s.jobs.list()).map((j) => j.id)).toEqual([...ids].reverse());
    expect((await s.jobs.list(1)).map((j) => j.id)).toEqual([ids[2]]);
    expect((await s.jobs.byState(['queued'])).map((j) => j.id)).toEqual([ids[0], ids[2]]);
    expect(await s.jobs.byState([])).toEqual([]);
    const updated = await s.jobs.update(ids[1]!, { state: 'failed', error: 'boom', attempts: 2, progress: { done: 3, total: 4 }, result: { mean: 0.5, scores: [1, null] } });
    expect(updated).toMatchObject({ id: ids[1], kind: 'k', params: { n: 1 }, state: 'failed', error: 'boom', attempts: 2, progress: { done: 3, total: 4 }, result: { mean: 0.5, scores: [1, null] } });
    expect(await s.jobs.get(ids[1]!)).toEqual(updated);
    await expect(s.jobs.update('01NOSUCHJOB000000000000000', { state: 'done' })).rejects.toThrow(/does not exist/);
    expect(await s.jobs.get('01NOSUCHJOB000000000000000')).toBeUndefined();
    await s.close();
  });

  it('stores models and inputs, and deletes models', async () => {
    const s = await kind.open(tempDir());
    const m = { id: '6'.repeat(64), name: 'm.onnx', bytes: 1234, inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 1, 28, 28] }], outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 10] }], opset: 17, preprocess: { size: [28, 28] as [number, number], grayscale: true, mean: [0.1307], std: [0.3081] }, createdAt: 't' };
    expect((await s.models.put(m)).record).toEqual(m);
    expect(await s.models.get(m.id)).toEqual(m);
    const i = { ...input('5'.repeat(64)), source: { kind: 'sample' as const, dataset: 'd', index: 7 }, displaySha256: '4'.repeat(64) };
    expect(await s.inputs.put(i)).toEqual(i);
    expect(await s.inputs.get(i.id)).toEqual(i);
    // Settings changed later (the Models view): preprocessing replaced, a tokenizer attached; the rest untouched.
    const pre = { size: [32, 32] as [number, number], channelOrder: 'bgr' as const, layout: 'nhwc' as const };
    expect(await s.models.update(m.id, { preprocess: pre })).toEqual({ ...m, preprocess: pre });
    expect(await s.models.update(m.id, { tokenizer: '3'.repeat(64) })).toEqual({ ...m, preprocess: pre, tokenizer: '3'.repeat(64) });
    expect(await s.models.get(m.id)).toEqual({ ...m, preprocess: pre, tokenizer: '3'.repeat(64) });
    expect(await s.models.update('0'.repeat(64), { tokenizer: '3'.repeat(64) })).toBeUndefined();
    expect(await s.models.delete(m.id)).toBe(true);
    expect(await s.models.delete(m.id)).toBe(false);
    expect(await s.models.list()).toEqual([]);
    await s.close();
  });

  it('stores a shard and its results once, however often it is delivered', async () => {
    const s = await kind.open(tempDir());
    const now = new Date().toISOString();
    const job = await s.jobs.create({ id: newId(), kind: 'k', params: {}, state: 'running', progress: { done: 0, total: 5 }, resultIds: [], attempts: 1, createdAt: now, updatedAt: now });
    const items = (n: number) => Array.from({ length: n }, (_, k) => {
      const inputId = (k + 1).toString(16).repeat(64).slice(0, 64);
      return { result: { ...result(newId(), inputId), jobId: job.id, target: k }, input: input(inputId) };
    });
    const first = items(3);
    expect(await s.saveShard({ jobId: job.id, index: 0, size: 3, worker: 'w1', createdAt: now }, first)).toEqual({ stored: true, done: 3 });
    // The same shard again (a redelivery after a worker died before acknowledging): nothing is added.
    expect(await s.saveShard({ jobId: job.id, index: 0, size: 3, worker: 'w2', createdAt: now }, items(3))).toEqual({ stored: false, done: 3 });
    expect(await s.saveShard({ jobId: job.id, index: 1, size: 2, outcome: { sum: 1.5 }, createdAt: now }, [])).toEqual({ stored: true, done: 5 });
    const stored = await s.jobs.get(job.id);
    expect(stored!.progress).toEqual({ done: 5, total: 5 });
    expect(stored!.resultIds).toEqual(first.map((x) => x.result.id));
    expect(await s.jobs.shards(job.id)).toEqual([
      { jobId: job.id, index: 0, size: 3, worker: 'w1', createdAt: now },
      { jobId: job.id, index: 1, size: 2, outcome: { sum: 1.5 }, createdAt: now },
    ]);
    // Concurrent deliveries of one shard store it once.
    const again = await Promise.all([0, 1, 2].map(() => s.saveShard({ jobId: job.id, index: 2, size: 1, createdAt: now }, items(1))));
    expect(again.filter((o) => o.stored)).toHaveLength(1);
    expect((await s.results.list({ jobId: job.id })).length).toBe(4);
    await s.close();
  });
});

describe('PostgresStore', () => {
  it.skipIf(pgSkip !== undefined)('upgrades a version-1 database, keeping its rows, and refuses a newer one', async () => {
    const pg = (await import('pg')).default;
    const url = await pgServer!.createDatabase('upgrade');
    const pool = new pg.Pool({ connectionString: url });
    const { migratePostgres } = await import('../../src/store/postgres.js');
    expect(await migratePostgres(pool, 1)).toBe(1);
    await pool.query("INSERT INTO jobs (id, kind, params, state, done, total, error, created_at, updated_at) VALUES ('01JOB00000000000000000000A', 'explain-dataset', '{}', 'running', 3, 8, NULL, 't', 't')");
    const s = await PostgresStore.open({ url, dir: tempDir() });
    expect(await s.schemaVersion()).toBe(LATEST_VERSION);
    expect(await s.jobs.get('01JOB00000000000000000000A')).toMatchObject({ state: 'running', progress: { done: 3, total: 8 }, attempts: 0, resultIds: [] });
    await s.close();
    await pool.query("INSERT INTO schema_migrations VALUES (99, 'future', 't')");
    await pool.end();
    await expect(PostgresStore.open({ url, dir: tempDir() })).rejects.toThrow(/version 99, newer/);
  });

  it('a server that is not there is a clear StoreError naming the URL without its password', async () => {
    const err = await PostgresStore.open({ url: 'postgres://me:secret@127.0.0.1:1/none', dir: tempDir() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).message).toMatch(/cannot open the PostgreSQL store at postgres:\/\/me:\*\*\*@127\.0\.0\.1:1\/none/);
    expect((err as StoreError).message).not.toMatch(/secret/);
  });
});
