/**
 * Versioned schema migrations of the stores (SQLite and PostgreSQL: the same versions and names, each in its dialect;
 * the columns are the same so src/store/rows.ts maps rows of both). Each migration runs once, inside a transaction together with the
 * row recording it in `schema_migrations`, so a store is always exactly at one version. Never edit a released
 * migration: append a new one (a store written by an older xsys is upgraded on open).
 */
import type Database from 'better-sqlite3';

import { StoreError } from './errors.js';

export interface Migration {
  version: number;
  name: string;
  /** SQLite. */
  up: string;
  /** PostgreSQL (JSON stays TEXT so both stores return identical records). */
  postgres: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    up: `
      CREATE TABLE artefacts (sha256 TEXT PRIMARY KEY, content_type TEXT NOT NULL, bytes INTEGER NOT NULL, created_at TEXT NOT NULL);
      CREATE TABLE models (id TEXT PRIMARY KEY, name TEXT NOT NULL, bytes INTEGER NOT NULL, inputs TEXT NOT NULL,
        outputs TEXT NOT NULL, opset INTEGER NOT NULL, created_at TEXT NOT NULL);
      CREATE TABLE inputs (id TEXT PRIMARY KEY, dims TEXT NOT NULL, source TEXT NOT NULL, display_sha256 TEXT, created_at TEXT NOT NULL);
      CREATE TABLE results (id TEXT PRIMARY KEY, model_id TEXT NOT NULL, input_id TEXT NOT NULL, method TEXT NOT NULL,
        composite TEXT, params TEXT NOT NULL, target INTEGER NOT NULL, relevance_sum REAL NOT NULL, topk TEXT NOT NULL,
        artefacts TEXT NOT NULL, provenance TEXT NOT NULL, created_at TEXT NOT NULL);
      CREATE INDEX results_model ON results (model_id, id);
      CREATE TABLE jobs (id TEXT PRIMARY KEY, kind TEXT NOT NULL, params TEXT NOT NULL, state TEXT NOT NULL,
        done INTEGER NOT NULL, total INTEGER NOT NULL, error TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
    `,
    postgres: `
      CREATE TABLE artefacts (sha256 TEXT PRIMARY KEY, content_type TEXT NOT NULL, bytes BIGINT NOT NULL, created_at TEXT NOT NULL);
      CREATE TABLE models (id TEXT PRIMARY KEY, name TEXT NOT NULL, bytes BIGINT NOT NULL, inputs TEXT NOT NULL,
        outputs TEXT NOT NULL, opset INTEGER NOT NULL, created_at TEXT NOT NULL);
      CREATE TABLE inputs (id TEXT PRIMARY KEY, dims TEXT NOT NULL, source TEXT NOT NULL, display_sha256 TEXT, created_at TEXT NOT NULL);
      CREATE TABLE results (id TEXT PRIMARY KEY, model_id TEXT NOT NULL, input_id TEXT NOT NULL, method TEXT NOT NULL,
        composite TEXT, params TEXT NOT NULL, target INTEGER NOT NULL, relevance_sum DOUBLE PRECISION NOT NULL, topk TEXT NOT NULL,
        artefacts TEXT NOT NULL, provenance TEXT NOT NULL, created_at TEXT NOT NULL);
      CREATE INDEX results_model ON results (model_id, id);
      CREATE TABLE jobs (id TEXT PRIMARY KEY, kind TEXT NOT NULL, params TEXT NOT NULL, state TEXT NOT NULL,
        done INTEGER NOT NULL, total INTEGER NOT NULL, error TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
    `,
  },
  {
    version: 2,
    name: 'job results, resume attempts, model preprocessing',
    up: `
      ALTER TABLE results ADD COLUMN job_id TEXT;
      CREATE INDEX results_job ON results (job_id, id);
      ALTER TABLE jobs ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
      CREATE INDEX jobs_state ON jobs (state, id);
      ALTER TABLE models ADD COLUMN preprocess TEXT;
    `,
    postgres: `
      ALTER TABLE results ADD COLUMN job_id TEXT;
      CREATE INDEX results_job ON results (job_id, id);
      ALTER TABLE jobs ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
      CREATE INDEX jobs_state ON jobs (state, id);
      ALTER TABLE models ADD COLUMN preprocess TEXT;
    `,
  },
  {
    version: 3,
    name: 'job outcome (the summary a job produces, e.g. an evaluation)',
    up: `
      ALTER TABLE jobs ADD COLUMN result TEXT;
    `,
    postgres: `
      ALTER TABLE jobs ADD COLUMN result TEXT;
    `,
  },
  {
    version: 4,
    name: 'job shards (idempotent persistence of queued work: a shard delivered twice is stored once)',
    up: `
      CREATE TABLE job_shards (job_id TEXT NOT NULL, shard INTEGER NOT NULL, size INTEGER NOT NULL, outcome TEXT,
        worker TEXT, created_at TEXT NOT NULL, PRIMARY KEY (job_id, shard));
    `,
    postgres: `
      CREATE TABLE job_shards (job_id TEXT NOT NULL, shard INTEGER NOT NULL, size INTEGER NOT NULL, outcome TEXT,
        worker TEXT, created_at TEXT NOT NULL, PRIMARY KEY (job_id, shard));
    `,
  },
  {
    version: 5,
    name: 'results deduplicated by provenance (key, count, last asked); a tokenizer stored with a model',
    up: `
      ALTER TABLE models ADD COLUMN tokenizer TEXT;
      ALTER TABLE results ADD COLUMN dedup_key TEXT;
      ALTER TABLE results ADD COLUMN count INTEGER NOT NULL DEFAULT 1;
      ALTER TABLE results ADD COLUMN last_at TEXT;
      CREATE INDEX results_key ON results (dedup_key, id);
    `,
    postgres: `
      ALTER TABLE models ADD COLUMN tokenizer TEXT;
      ALTER TABLE results ADD COLUMN dedup_key TEXT;
      ALTER TABLE results ADD COLUMN count INTEGER NOT NULL DEFAULT 1;
      ALTER TABLE results ADD COLUMN last_at TEXT;
      CREATE INDEX results_key ON results (dedup_key, id);
    `,
  },
];

export const LATEST_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

export function currentVersion(db: Database.Database): number {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
  const row = db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null };
  return row.v ?? 0;
}

/** Brings the database to `target` (default: latest). Refuses a database from a newer xsys. */
export function migrate(db: Database.Database, target = LATEST_VERSION): number {
  const from = currentVersion(db);
  if (from > LATEST_VERSION) {
    throw new StoreError('corrupt', `the store's schema is version ${from}, newer than this xsys understands (${LATEST_VERSION})`, 'upgrade xsys, or use another --data-dir');
  }
  for (const m of MIGRATIONS) {
    if (m.version <= from || m.version > target) continue;
    db.transaction(() => {
      db.exec(m.up);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, new Date().toISOString());
    })();
  }
  return currentVersion(db);
}
