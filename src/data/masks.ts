/**
 * Localisation masks: the ground-truth region per sample that localisation metrics compare attributions with.
 *
 * Masks come from a file (.npy or IDX; [n, ...x], [n, 1, h, w] or [n, h, w], broadcast over channels) or are
 * derived with `threshold:T`: a pixel belongs to the mask when its intensity (the input scaled to [0, 1] before
 * mean/std; the raw input for .npy datasets), averaged over channels, exceeds T. On MNIST, `threshold:0.5` marks the
 * digit's stroke — the only region that can carry class evidence on a black background.
 * Masks must be binary and non-empty for every sample: anything else is an error naming the sample, because a
 * localisation score against an empty or fuzzy region would be meaningless.
 */
import { extname } from 'node:path';

import { InputDataError, InvalidArgumentError } from '../errors.js';
import { toFloat32 } from '../io/npy.js';
import { readNpy } from '../io/npy-file.js';
import { readIdx } from './idx.js';
import type { Dataset } from './types.js';

/**
 * Loads or derives masks for `ds` (see the module comment for `spec`). Result has the shape of ds.x. A mask file
 * describes the whole source (`range.total` samples); the rows of ds (from `range.offset`) are taken from it.
 */
export async function loadMasks(spec: string, ds: Pick<Dataset, 'x' | 'shape' | 'intensity' | 'names'>, range?: { offset: number; total: number }): Promise<Float32Array> {
  const m = /^threshold:(.+)$/.exec(spec);
  if (m) {
    const t = Number(m[1]);
    if (!Number.isFinite(t)) throw new InvalidArgumentError('--masks', `'${spec}': threshold must be a number`);
    const masks = thresholdMasks(ds.intensity ?? ds.x, ds.shape, t);
    validateMasks(masks, ds.shape, ds.names, `--masks ${spec}`);
    return masks;
  }
  let values: Float32Array;
  let shape: number[];
  if (extname(spec).toLowerCase() === '.npy') {
    const a = await readNpy(spec);
    values = toFloat32(a);
    shape = a.shape;
  } else {
    const a = await readIdx(spec);
    values = Float32Array.from(a.data as ArrayLike<number>);
    shape = a.shape;
  }
  const n = ds.shape[0]!;
  const total = range?.total ?? n;
  const offset = range?.offset ?? 0;
  const full = broadcastMasks(values, shape, [total, ...ds.shape.slice(1)], spec);
  const per = full.length / total;
  const masks = full.subarray(offset * per, (offset + n) * per);
  validateMasks(masks, ds.shape, ds.names, spec);
  return masks;
}

/** Pixels whose channel-mean value exceeds `threshold` → 1 in every channel, else 0. */
export function thresholdMasks(values: Float32Array, shape: readonly number[], threshold: number): Float32Array {
  const n = shape[0]!;
  const channels = shape.length >= 4 ? shape[1]! : 1;
  const per = values.length / n;
  const plane = per / channels;
  const out = new Float32Array(values.length);
  for (let s = 0; s < n; s++) {
    for (let p = 0; p < plane; p++) {
      let sum = 0;
      for (let c = 0; c < channels; c++) sum += values[s * per + c * plane + p]!;
      if (sum / channels > threshold) for (let c = 0; c < channels; c++) out[s * per + c * plane + p] = 1;
    }
  }
  return out;
}

/** Expands [n, 1, ...sp] or [n, ...sp] masks to x's shape [n, c, ...sp]; equal shapes pass through. */
export function broadcastMasks(values: Float32Array, shape: readonly number[], xShape: readonly number[], file: string): Float32Array {
  const same = shape.length === xShape.length && shape.every((d, i) => d === xShape[i]);
  if (same) return values;
  const n = xShape[0]!;
  const spatial = xShape.slice(2);
  const channels = xShape[1]!;
  const oneChannel = shape.length === xShape.length && shape[0] === n && shape[1] === 1 && shape.slice(2).every((d, i) => d === spatial[i]);
  const noChannel = shape.length === xShape.length - 1 && shape[0] === n && shape.slice(1).every((d, i) => d === spatial[i]);
  if (!(oneChannel || noChannel) || xShape.length < 3) {
    throw new InputDataError(`${file}: masks of shape [${shape.join(', ')}] do not fit inputs of shape [${xShape.join(', ')}]`, `give masks as [${xShape.join(', ')}], [${[n, 1, ...spatial].join(', ')}] or [${[n, ...spatial].join(', ')}]`);
  }
  const plane = spatial.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n * channels * plane);
  for (let s = 0; s < n; s++) for (let c = 0; c < channels; c++) out.set(values.subarray(s * plane, (s + 1) * plane), (s * channels + c) * plane);
  return out;
}

/** Throws InputDataError for a non-binary value or a sample whose mask is empty. */
export function validateMasks(masks: Float32Array, shape: readonly number[], names: readonly string[], source: string): void {
  const n = shape[0]!;
  const per = masks.length / n;
  for (let i = 0; i < masks.length; i++) {
    const v = masks[i]!;
    if (v !== 0 && v !== 1) {
      const s = Math.floor(i / per);
      throw new InputDataError(`${source}: masks must be binary (0/1), sample ${s} (${names[s] ?? s}) has ${v} at position ${i - s * per}`, 'threshold soft masks before passing them, e.g. (m > 0.5)');
    }
  }
  for (let s = 0; s < n; s++) {
    let any = false;
    for (let i = s * per; i < (s + 1) * per && !any; i++) any = masks[i] === 1;
    if (!any) throw new InputDataError(`${source}: the mask of sample ${s} (${names[s] ?? s}) is empty`, 'localisation metrics need at least one pixel inside the mask; drop the sample or lower the threshold');
  }
}
