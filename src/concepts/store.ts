/**
 * Reference samples on disk: one JSON file holding the provenance (model and dataset hashes, the statistics spec)
 * and the merged state. It is rewritten atomically after every chunk of samples, so an interrupted build leaves
 * the last complete chunk and resumes after it; a build or a read against a different model or dataset is refused.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { ModelProto } from 'onnx-buf';
import { FileFormatError, InvalidArgumentError, XsysError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { serializeModel } from '../onnx/model.js';
import { VERSION } from '../version.js';
import { collectRange, mergeStates, stateFromJson, stateToJson, StatisticsEngine, validateSpec, type ReferenceSpec, type ReferenceState, type ReferenceStateJson, type SampleSource } from './references.js';

export interface ReferenceProvenance {
  format: 'xsys-concept-references';
  version: 1;
  xsys: string;
  model: { sha256: string; name?: string };
  dataset: { sha256: string; size: number; name?: string };
  spec: ReferenceSpec;
  createdAt: string;
  updatedAt: string;
}

export interface ReferenceFile {
  provenance: ReferenceProvenance;
  /** Samples processed so far (a prefix of the dataset); equal to dataset.size when complete. */
  processed: number;
  complete: boolean;
  state: ReferenceStateJson;
}

export function sha256Of(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** A fingerprint of a sample source: the SHA-256 of its samples' float32 bytes, read in batches. */
export function sourceFingerprint(source: SampleSource): string {
  const h = createHash('sha256');
  h.update(JSON.stringify([source.size, source.sampleShape]));
  for (let b = 0; b < source.size; b += 1024) {
    const t = source.batch(b, Math.min(1024, source.size - b));
    h.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
  return h.digest('hex');
}

export async function readReferenceFile(path: string): Promise<ReferenceFile> {
  let json: ReferenceFile;
  try {
    json = JSON.parse(await readFile(path, 'utf8')) as ReferenceFile;
  } catch (e) {
    throw new FileFormatError(path, `cannot read concept references (${(e as Error).message})`);
  }
  if (json?.provenance?.format !== 'xsys-concept-references' || !json.state) throw new FileFormatError(path, 'not an xsys concept-references file');
  return json;
}

/** Reads references and checks they were built for this model (and dataset, when given). */
export async function loadReferences(path: string, expect: { modelSha256?: string; datasetSha256?: string } = {}): Promise<{ file: ReferenceFile; state: ReferenceState }> {
  const file = await readReferenceFile(path);
  checkProvenance(file.provenance, expect, path);
  return { file, state: stateFromJson(file.state) };
}

function checkProvenance(p: ReferenceProvenance, expect: { modelSha256?: string; datasetSha256?: string }, path: string): void {
  if (expect.modelSha256 && p.model.sha256 !== expect.modelSha256) {
    throw new XsysError(`${path}: the references were built for a different model (hash mismatch: ${p.model.sha256.slice(0, 12)}… ≠ ${expect.modelSha256.slice(0, 12)}…)`, { hint: 'the model changed since the references were built: rebuild them (xsys concepts build … --restart)' });
  }
  if (expect.datasetSha256 && p.dataset.sha256 !== expect.datasetSha256) {
    throw new XsysError(`${path}: the references were built on a different dataset (hash mismatch: ${p.dataset.sha256.slice(0, 12)}… ≠ ${expect.datasetSha256.slice(0, 12)}…)`, { hint: 'rebuild them on this dataset (--restart)' });
  }
}

/** The provenance of a references file built now for this model, dataset and spec. */
export function referenceProvenance(o: { modelSha256: string; modelName?: string; datasetSha256: string; datasetSize: number; datasetName?: string; spec: ReferenceSpec }, now = new Date().toISOString()): ReferenceProvenance {
  return {
    format: 'xsys-concept-references',
    version: 1,
    xsys: VERSION,
    model: { sha256: o.modelSha256, ...(o.modelName ? { name: o.modelName } : {}) },
    dataset: { sha256: o.datasetSha256, size: o.datasetSize, ...(o.datasetName ? { name: o.datasetName } : {}) },
    spec: o.spec,
    createdAt: now,
    updatedAt: now,
  };
}

/** Writes a complete references file from a merged state (e.g. the shards of a queue job), atomically. */
export async function writeReferences(path: string, provenance: ReferenceProvenance, state: ReferenceState): Promise<ReferenceFile> {
  const covered = state.ranges.length === 1 && state.ranges[0]![0] === 0 && state.ranges[0]![1] === provenance.dataset.size;
  if (!covered) throw new XsysError(`references for ${path} cover samples ${JSON.stringify(state.ranges)}, not the whole dataset of ${provenance.dataset.size}`);
  const file: ReferenceFile = { provenance, processed: provenance.dataset.size, complete: true, state: stateToJson(state) };
  await writeFileAtomic(path, new TextEncoder().encode(JSON.stringify(file)));
  return file;
}

export interface BuildOptions {
  model: ModelProto;
  modelName?: string;
  source: SampleSource;
  datasetName?: string;
  spec: ReferenceSpec;
  /** Where the references file is written (and resumed from). */
  path: string;
  /** Ignore an existing file instead of resuming it. */
  restart?: boolean;
  /** Samples per ORT run (default 32) and per saved chunk (default 512). */
  batch?: number;
  chunk?: number;
  threads?: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
  /** Precomputed hashes (e.g. the model id a server already has); computed otherwise. */
  modelSha256?: string;
  datasetSha256?: string;
}

/**
 * Builds (or resumes) the reference samples of a dataset: every argument is checked and the statistics graph is
 * compiled before anything is written. Returns the final file; on cancel, throws after saving the last chunk.
 */
export async function buildReferences(o: BuildOptions): Promise<ReferenceFile> {
  validateSpec(o.spec);
  if (o.source.size === 0) throw new InvalidArgumentError('dataset', 'the dataset is empty: there is nothing to build references from');
  const batch = o.batch ?? 32;
  const chunk = o.chunk ?? 512;
  if (!Number.isInteger(batch) || batch < 1 || batch > 1024) throw new InvalidArgumentError('batch', 'must be an integer in 1…1024');
  if (!Number.isInteger(chunk) || chunk < 1) throw new InvalidArgumentError('chunk', 'must be a positive integer');
  const modelSha256 = o.modelSha256 ?? sha256Of(serializeModel(o.model));
  const datasetSha256 = o.datasetSha256 ?? sourceFingerprint(o.source);
  const engine = await StatisticsEngine.create(o.model, o.spec, o.threads);
  const now = new Date().toISOString();
  let file: ReferenceFile | undefined;
  let state: ReferenceState | undefined;
  if (!o.restart) {
    const existing = await readReferenceFile(o.path).catch((e: unknown) => {
      if (e instanceof FileFormatError && /ENOENT|no such file/.test(e.message)) return undefined;
      throw e;
    });
    if (existing) {
      checkProvenance(existing.provenance, { modelSha256, datasetSha256 }, o.path);
      if (JSON.stringify(existing.provenance.spec) !== JSON.stringify(o.spec)) {
        throw new XsysError(`${o.path}: existing references were built with other settings (${JSON.stringify(existing.provenance.spec)})`, { hint: 'pass the same layers, k, composite and targets to resume, or --restart' });
      }
      file = existing;
      state = stateFromJson(existing.state);
    }
  }
  file ??= {
    provenance: referenceProvenance({ modelSha256, modelName: o.modelName, datasetSha256, datasetSize: o.source.size, datasetName: o.datasetName, spec: o.spec }, now),
    processed: 0,
    complete: false,
    state: { ranges: [], classCount: {}, layers: {} },
  };
  const total = o.source.size;
  o.onProgress?.(file.processed, total);
  for (let start = file.processed; start < total; start += chunk) {
    if (o.signal?.aborted) throw new XsysError('cancelled');
    const end = Math.min(total, start + chunk);
    const part = await collectRange(engine, o.source, o.spec, start, end, { batch, signal: o.signal, onBatch: (d) => o.onProgress?.(start + d, total) });
    state = state ? mergeStates([state, part]) : part;
    file = { ...file, processed: end, complete: end === total, state: stateToJson(state), provenance: { ...file.provenance, updatedAt: new Date().toISOString() } };
    await writeFileAtomic(o.path, new TextEncoder().encode(JSON.stringify(file)));
  }
  return file;
}
