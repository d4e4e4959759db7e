/**
 * Localisation masks for `evaluate` jobs (pointing game, attribution localisation, top-k intersection, relevance
 * mass/rank accuracy, AUC): the workbench's counterpart of `xsys evaluate --masks`. A request gives either
 *   { threshold: T } — a pixel belongs to the mask when its [0, 1] intensity (the dataset sample with its mean/std
 *                      normalisation undone), averaged over channels, exceeds T; 0.5 marks MNIST's strokes — or
 *   { npy: base64 }  — binary masks as .npy: one per dataset sample ([count, …]) or one per evaluated sample in
 *                      order ([len(indices), …]); [n, …x], [n, 1, h, w] or [n, h, w], broadcast over channels.
 * An uploaded .npy is stored as a content-addressed artefact and the job keeps only its sha256, so job listings stay
 * small. Every mask is checked (binary, non-empty) at submission, before any work.
 */
import { broadcastMasks, thresholdMasks, validateMasks } from '../data/masks.js';
import { FileFormatError, InputDataError, InvalidArgumentError } from '../errors.js';
import { parseNpy, toFloat32 } from '../io/npy.js';
import type { DatasetRegistry } from '../services/datasets.js';
import type { ArtefactStore, Preprocess } from '../store/types.js';

/** What a request may give. */
export type MaskRequest = { threshold: number } | { npy: string };
/**
 * What the job keeps: the threshold with the dataset's normalisation (so a queue worker, which has the samples but not
 * the registry, derives the same masks), or the uploaded file's artefact.
 */
export type StoredMasks = { threshold: number; normalisation?: Pick<Preprocess, 'mean' | 'std'> } | { artefact: string; shape: number[] };

export const masksSchema = {
  description: "localisation masks (metrics of the 'localisation' category need them): {threshold: T} — pixels whose [0, 1] intensity exceeds T — or {npy: base64 .npy of binary masks, one per dataset sample or one per evaluated sample}",
  oneOf: [
    { type: 'object', required: ['threshold'], properties: { threshold: { type: 'number', minimum: 0, maximum: 1 } }, additionalProperties: false },
    { type: 'object', required: ['npy'], properties: { npy: { type: 'string', minLength: 1 } }, additionalProperties: false },
  ],
} as const;

const NPY = 'application/x-npy';

/** The samples' [0, 1] intensities: the dataset's normalisation (x − mean) / std undone, per channel. */
export function intensityOf(x: Float32Array, shape: readonly number[], pre: Preprocess): Float32Array {
  if (pre.mean === undefined && pre.std === undefined) return x;
  const n = shape[0]!;
  const channels = shape.length >= 4 ? shape[1]! : 1;
  const plane = x.length / n / channels;
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const c = Math.floor(i / plane) % channels;
    const mean = pre.mean?.[pre.mean.length === 1 ? 0 : c] ?? 0;
    const std = pre.std?.[pre.std.length === 1 ? 0 : c] ?? 1;
    out[i] = x[i]! * std + mean;
  }
  return out;
}

/**
 * Where the evaluated samples sit among the job's: a queue shard evaluates positions offset … offset+len(indices)−1 of
 * the job's `total` samples, the in-process run all of them (offset 0).
 */
export interface MaskRows {
  /** Dataset indices of the samples evaluated here. */
  indices: readonly number[];
  /** Position of the first of them among the job's evaluated samples. */
  offset: number;
  /** Samples the job evaluates in all. */
  total: number;
  /** Samples in the dataset. */
  datasetCount: number;
  dataset: string;
}

/** The rows of `masks` (shape `shape`) for the evaluated samples: by dataset index, or in order when one per evaluated sample. */
function rowsFor(values: Float32Array, shape: number[], xShape: readonly number[], at: MaskRows): Float32Array {
  const n = shape[0];
  const { indices, offset, total, datasetCount: count, dataset } = at;
  const rows = n === count ? count : n === total ? total : -1;
  if (rows < 0) throw new InputDataError(`masks.npy holds ${n} masks; dataset '${dataset}' has ${count} samples and ${total} are evaluated`, `give one mask per dataset sample (${count}) or one per evaluated sample (${total}), in order`);
  const full = broadcastMasks(values, shape, [rows, ...xShape.slice(1)], 'masks.npy');
  const per = full.length / rows;
  const out = new Float32Array(indices.length * per);
  // One per dataset sample: by dataset index; one per evaluated sample: by position among the job's samples.
  indices.forEach((i, k) => {
    const row = n === count ? i : offset + k;
    out.set(full.subarray(row * per, (row + 1) * per), k * per);
  });
  return out;
}

/**
 * Checks a request's masks against the evaluated samples (`x`, `shape` from datasetFromRegistry) and returns what the
 * job stores; an uploaded .npy is stored as an artefact.
 */
export async function prepareMasks(raw: unknown, ctx: { datasets: DatasetRegistry; artefacts: ArtefactStore; dataset: string; indices: readonly number[]; x: Float32Array; shape: number[] }): Promise<StoredMasks> {
  const spec = raw as Partial<{ threshold: unknown; npy: unknown }> | null;
  if (!spec || typeof spec !== 'object') throw new InvalidArgumentError('masks', 'must be {threshold: T} or {npy: base64 .npy}');
  if (spec.threshold !== undefined) {
    const t = Number(spec.threshold);
    if (typeof spec.threshold !== 'number' || !Number.isFinite(t) || t < 0 || t > 1) throw new InvalidArgumentError('masks.threshold', `must be a number in 0 … 1, not ${JSON.stringify(spec.threshold)}`);
    const pre = ctx.datasets.summaryOf(ctx.dataset).preprocess;
    const stored: StoredMasks = { threshold: t, ...(pre.mean !== undefined || pre.std !== undefined ? { normalisation: { ...(pre.mean ? { mean: pre.mean } : {}), ...(pre.std ? { std: pre.std } : {}) } } : {}) };
    masksOf(stored, ctx, undefined);
    return stored;
  }
  if (typeof spec.npy !== 'string' || !/^[A-Za-z0-9+/\r\n]+={0,2}\s*$/.test(spec.npy)) throw new InvalidArgumentError('masks.npy', 'must be a base64-encoded .npy file');
  const bytes = new Uint8Array(Buffer.from(spec.npy, 'base64'));
  const arr = parseNpy(bytes, 'masks.npy');
  if (arr.shape.length < 2) throw new FileFormatError('masks.npy', `masks need shape [n, …], got [${arr.shape.join(', ')}]`);
  masksOf({ artefact: '', shape: arr.shape }, ctx, toFloat32(arr));
  return { artefact: await ctx.artefacts.put(bytes, NPY), shape: arr.shape };
}

/** The masks of the evaluated samples, shape of `x`; validated (binary, none empty). */
export async function loadJobMasks(stored: StoredMasks, ctx: { datasets: DatasetRegistry; artefacts: ArtefactStore; dataset: string; indices: readonly number[]; x: Float32Array; shape: number[] }): Promise<Float32Array> {
  if ('threshold' in stored) return masksOf(stored, ctx, undefined);
  const a = await ctx.artefacts.get(stored.artefact);
  if (!a) throw new InputDataError(`the job's masks (artefact ${stored.artefact}) are no longer stored`, 'start the evaluation again with the masks');
  return masksOf(stored, ctx, toFloat32(parseNpy(a.bytes, 'masks.npy')));
}

/**
 * The masks of a queue shard's samples (`x`, `shape`: the shard's), from what the job stored: thresholds computed
 * here, an uploaded file from its bytes (which the worker fetched by the artefact's sha256). Validated as in-process.
 */
export function shardJobMasks(stored: StoredMasks, bytes: Uint8Array | undefined, x: Float32Array, shape: number[], at: MaskRows): Float32Array {
  if ('threshold' in stored) return thresholdJobMasks(stored, x, shape, at.indices);
  if (!bytes) throw new InputDataError(`the job's masks (artefact ${stored.artefact}) were not fetched`, 'the shard needs the uploaded masks file');
  const arr = parseNpy(bytes, 'masks.npy');
  if (arr.shape.join() !== stored.shape.join()) throw new FileFormatError('masks.npy', `the fetched masks have shape [${arr.shape.join(', ')}], the job stored [${stored.shape.join(', ')}]`);
  const masks = rowsFor(toFloat32(arr), stored.shape, shape, at);
  validateMasks(masks, shape, at.indices.map(String), 'masks.npy');
  return masks;
}

/** Threshold masks of samples `x` (shape `shape`, named by their dataset indices); validated. */
export function thresholdJobMasks(stored: { threshold: number; normalisation?: Pick<Preprocess, 'mean' | 'std'> }, x: Float32Array, shape: number[], indices: readonly number[]): Float32Array {
  const masks = thresholdMasks(intensityOf(x, shape, stored.normalisation ?? {}), shape, stored.threshold);
  validateMasks(masks, shape, indices.map(String), `masks (threshold ${stored.threshold})`);
  return masks;
}

function masksOf(stored: StoredMasks, ctx: { datasets: DatasetRegistry; dataset: string; indices: readonly number[]; x: Float32Array; shape: number[] }, values: Float32Array | undefined): Float32Array {
  if ('threshold' in stored) return thresholdJobMasks(stored, ctx.x, ctx.shape, ctx.indices);
  const at: MaskRows = { indices: ctx.indices, offset: 0, total: ctx.indices.length, datasetCount: ctx.datasets.summaryOf(ctx.dataset).count, dataset: ctx.dataset };
  const masks = rowsFor(values!, stored.shape, ctx.shape, at);
  validateMasks(masks, ctx.shape, ctx.indices.map(String), 'masks.npy');
  return masks;
}
