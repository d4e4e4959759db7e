/**
 * The persistence boundary of the workbench. Everything the service keeps (models, inputs, explanation results with
 * their provenance, jobs, artefact metadata) goes through this interface, so a PostgreSQL implementation can replace
 * the SQLite one without touching routes or jobs. Methods are async for that reason even where SQLite is synchronous.
 *
 * Ids: models, inputs and artefacts are the sha256 hex of their bytes (content addressing); results and jobs have
 * time-sortable opaque ids (see ids.ts).
 */

export interface TensorSpec {
  name: string;
  dtype: string;
  shape: (number | string)[];
}

/** How an image becomes the model's input tensor (see src/io/image.ts). */
export interface Preprocess {
  size?: [number, number];
  grayscale?: boolean;
  mean?: number[];
  std?: number[];
  /** Channel order of the tensor: 'rgb' (default) or 'bgr' (Caffe/OpenCV-trained models). */
  channelOrder?: 'rgb' | 'bgr';
  /** Tensor layout: 'nchw' (default, PyTorch) or 'nhwc' (TensorFlow/Keras exports). */
  layout?: 'nchw' | 'nhwc';
}

export interface ModelRecord {
  id: string;
  name: string;
  bytes: number;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  opset: number;
  /** Preprocessing used when an image is explained with this model and the request gives none. */
  preprocess?: Preprocess;
  /** sha256 of the model's tokenizer.json artefact (token models: the workbench's text box uses it). */
  tokenizer?: string;
  createdAt: string;
}

export interface InputRecord {
  /** sha256 of the input tensor's .npy bytes (also the artefact holding it). */
  id: string;
  dims: number[];
  /** Where it came from: a dataset sample, an uploaded image (with the preprocessing applied) or an uploaded .npy. */
  source: { kind: 'sample'; dataset: string; index: number } | { kind: 'image'; imageSha256: string; preprocess: Preprocess } | { kind: 'npy' };
  /** PNG shown under overlays, when the input came from an image or a dataset with images. */
  displaySha256?: string;
  createdAt: string;
}

/** The input as the user picked it: a dataset sample, or an uploaded file (with its name when the client sent one). */
export type InputSource = { kind: 'sample'; dataset: string; index: number } | { kind: 'image' | 'npy'; name?: string };

export interface Provenance {
  modelSha256: string;
  inputSha256: string;
  method: string;
  composite: string | null;
  params: Record<string, number | string>;
  target: number | 'pred';
  /** Segmentation/detection: the region whose output sum was explained (compiler/region.ts). */
  region?: { channel?: number; box?: number[] };
  xsysVersion: string;
  ortVersion: string;
  timingMs: { compile: number; run: number; total: number };
  /** Set on a result computed by POST /api/results/:id/reproduce. */
  reproducedFrom?: string;
  /** What was explained, as the user picked it (absent on results stored before it was recorded). */
  inputSource?: InputSource;
}

export interface ResultRecord {
  id: string;
  modelId: string;
  inputId: string;
  method: string;
  composite: string | null;
  params: Record<string, number | string>;
  /** The class explained (resolved: never 'pred'). */
  target: number;
  relevanceSum: number;
  topk: { class: number; score: number; prob: number }[];
  /** sha256 of the artefacts; `display` is the input as a picture (for overlays), when it has one. */
  artefacts: { heatmap: string | null; attribution: string; input: string; display?: string };
  provenance: Provenance;
  /** The job that produced it, if any. */
  jobId?: string;
  /**
   * Provenance key (hash of model, input, method, composite, every parameter and the asked target): asking for the
   * same explanation again finds this record instead of storing a copy. Absent on job results.
   */
  key?: string;
  /** How many times this explanation was asked for (1 when stored; each repeat adds one). */
  count?: number;
  /** When it was last asked for (ISO time), if it was asked again after createdAt. */
  lastAt?: string;
  createdAt: string;
}

export type JobState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';
export const TERMINAL_STATES: readonly JobState[] = ['done', 'failed', 'cancelled'];

export interface JobRecord {
  id: string;
  kind: string;
  params: Record<string, unknown>;
  state: JobState;
  progress: { done: number; total: number };
  error?: string;
  resultIds: string[];
  /** What the job produced as a whole (JSON), for kinds whose outcome is a summary rather than stored results (evaluate). */
  result?: Record<string, unknown>;
  /** How many times a run of it was started (a resumed job has attempts > 1). */
  attempts: number;
  createdAt: string;
  updatedAt: string;
}

/**
 * One shard of a job run on the queue (a range of the job's work items), recorded when its results are persisted. The
 * (job, shard) key makes persistence idempotent: BullMQ delivers at least once, so a shard may arrive twice.
 */
export interface ShardRecord {
  jobId: string;
  index: number;
  /** Work items the shard covered (a job's progress is the sum over its stored shards). */
  size: number;
  /** The shard's partial outcome, for kinds that merge shards into a job result (JSON). */
  outcome?: Record<string, unknown>;
  /** Which worker delivered it. */
  worker?: string;
  createdAt: string;
}

export interface ArtefactRecord {
  sha256: string;
  contentType: string;
  bytes: number;
  createdAt: string;
}

export interface ResultQuery {
  modelId?: string;
  jobId?: string;
  /** Only results with an id smaller than this (cursor for paging back in history). */
  before?: string;
  limit?: number;
}

export interface ModelStore {
  /** Inserts unless a model with this id exists; `created` tells which happened (concurrent uploads → one record). */
  put(model: ModelRecord): Promise<{ record: ModelRecord; created: boolean }>;
  get(id: string): Promise<ModelRecord | undefined>;
  list(): Promise<ModelRecord[]>;
  /** Changes a model's settings (preprocessing, tokenizer); undefined when there is no such model. */
  update(id: string, patch: { preprocess?: Preprocess; tokenizer?: string }): Promise<ModelRecord | undefined>;
  delete(id: string): Promise<boolean>;
}

export interface InputStore {
  put(input: InputRecord): Promise<InputRecord>;
  get(id: string): Promise<InputRecord | undefined>;
}

export interface ResultStore {
  get(id: string): Promise<ResultRecord | undefined>;
  list(query: ResultQuery): Promise<ResultRecord[]>;
  /** The newest result stored with this provenance key. */
  findByKey(key: string): Promise<ResultRecord | undefined>;
  /** Records one more request for a stored result (count + 1, lastAt now); undefined when it no longer exists. */
  repeat(id: string): Promise<ResultRecord | undefined>;
  /** Deletes a result (its artefacts stay: they are content-addressed and may be shared). */
  delete(id: string): Promise<boolean>;
}

export interface JobStore {
  create(job: JobRecord): Promise<JobRecord>;
  get(id: string): Promise<JobRecord | undefined>;
  list(limit?: number): Promise<JobRecord[]>;
  /** Jobs in one of the given states, oldest first. */
  byState(states: JobState[]): Promise<JobRecord[]>;
  update(id: string, patch: Partial<Pick<JobRecord, 'state' | 'progress' | 'error' | 'attempts' | 'result'>>): Promise<JobRecord>;
  /** The stored shards of a job, by index. */
  shards(jobId: string): Promise<ShardRecord[]>;
}

export interface ArtefactStore {
  /** Stores bytes under their sha256 (idempotent) and returns the hash. */
  put(bytes: Uint8Array, contentType: string): Promise<string>;
  get(sha256: string): Promise<{ record: ArtefactRecord; bytes: Uint8Array } | undefined>;
  head(sha256: string): Promise<ArtefactRecord | undefined>;
}

export interface Store {
  readonly models: ModelStore;
  readonly inputs: InputStore;
  readonly results: ResultStore;
  readonly jobs: JobStore;
  readonly artefacts: ArtefactStore;
  /**
   * Saves a result atomically: its artefacts are written first (content-addressed files, so an orphan after a failure
   * is harmless), then the result row, the input row and — for a job — the job's progress in one transaction.
   */
  saveResult(result: ResultRecord, input: InputRecord, job?: { id: string; progress: { done: number; total: number } }): Promise<ResultRecord>;
  /**
   * Saves a shard of a queued job and its results in one transaction, once: when the shard is already stored nothing is
   * written and `stored` is false. The job's progress becomes the total size of its stored shards (`done`).
   */
  saveShard(shard: ShardRecord, items: { result: ResultRecord; input: InputRecord }[]): Promise<{ stored: boolean; done: number }>;
  /** The schema version the store is at. */
  schemaVersion(): Promise<number>;
  close(): Promise<void>;
}
