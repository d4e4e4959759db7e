/**
 * Datasets for `xsys evaluate`: a batch of model inputs with optional labels and localisation masks, loaded from
 * a .npy array, an MNIST-style IDX file or a folder of images.
 *
 * Every loader produces the same Dataset, so the evaluation never cares where the data came from. Inputs are
 * normalised the way the model expects (pixel / scale, then (v − mean) / std); `intensity` keeps the scaled values
 * before mean/std so masks can be derived from what a person sees (e.g. MNIST stroke pixels), not from model units.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';

import { FileFormatError, InputDataError, InvalidArgumentError } from '../errors.js';
import { toFloat32 } from '../io/npy.js';
import { readNpy } from '../io/npy-file.js';
import { isImagePath, loadImage } from '../io/image.js';
import { isIdxPath, readIdx, type IdxArray } from './idx.js';
import { loadMasks } from './masks.js';
import type { Dataset } from './types.js';

export type { Dataset } from './types.js';

export interface DatasetOptions {
  /** Labels: .npy, IDX or a JSON array. IDX images find a sibling "*-labels-idx1-ubyte" file by themselves. */
  labels?: string;
  /** Masks: .npy/IDX file, or `threshold:T` (intensity > T, see masks.ts). */
  masks?: string;
  /** Use samples [offset, offset + limit). */
  offset?: number;
  limit?: number;
  /** Images: resize to [h, w] (one number: square). */
  size?: number | [number, number];
  /** Images: load as one channel. */
  grayscale?: boolean;
  /** Per-channel mean and std applied after scaling (images and IDX). */
  mean?: number[];
  std?: number[];
  /** Divisor for 8-bit sources (images, uint8 IDX). Default 255. */
  scale?: number;
}

async function kind(path: string): Promise<'dir' | 'file'> {
  try {
    return (await stat(path)).isDirectory() ? 'dir' : 'file';
  } catch {
    throw new FileFormatError(path, 'not found', 'pass a .npy file, an IDX file (e.g. t10k-images-idx3-ubyte) or a folder of images');
  }
}

function perChannel(values: number[] | undefined, fallback: number, channels: number, flag: string): number[] {
  if (!values) return new Array<number>(channels).fill(fallback);
  if (values.length === 1) return new Array<number>(channels).fill(values[0]!);
  if (values.length !== channels) throw new InvalidArgumentError(flag, `${values.length} values for ${channels} channels`, 'give one value, or one per channel');
  return values;
}

/** Samples [offset, end) of a source with `total` samples, checked. */
export function resolveRange(total: number, offset = 0, limit?: number): { offset: number; end: number } {
  if (!Number.isInteger(offset) || offset < 0 || offset >= total) throw new InvalidArgumentError('--offset', `must be an integer in [0, ${total - 1}] for ${total} samples, got ${offset}`);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) throw new InvalidArgumentError('--limit', `must be a positive integer, got ${limit}`);
  return { offset, end: Math.min(total, offset + (limit ?? total)) };
}

/**
 * Loads a dataset from a path (file or folder) with optional labels and masks. Only the requested samples
 * (--offset/--limit) are decoded and normalised; label and mask files must still describe the whole source.
 */
export async function loadDataset(path: string, options: DatasetOptions = {}): Promise<Dataset> {
  let loaded: { ds: Dataset; total: number; offset: number };
  if ((await kind(path)) === 'dir') loaded = await loadImageFolder(path, options);
  else if (extname(path).toLowerCase() === '.npy') {
    const full = await loadNpyDataset(path);
    const total = full.shape[0]!;
    const r = resolveRange(total, options.offset, options.limit);
    loaded = { ds: sliceDataset(full, r.offset, r.end - r.offset), total, offset: r.offset };
  } else if (isIdxPath(path) || (await looksLikeIdx(path))) loaded = await loadIdxDataset(path, options);
  else if (isImagePath(path)) {
    resolveRange(1, options.offset, options.limit);
    loaded = { ds: await loadImageFiles([path], options, path), total: 1, offset: 0 };
  } else throw new FileFormatError(path, 'unsupported dataset type', 'pass a .npy file, an IDX file (e.g. t10k-images-idx3-ubyte) or a folder of images');

  const { ds, total, offset } = loaded;
  const n = ds.shape[0]!;
  if (options.labels) ds.labels = (await loadLabels(options.labels, total)).slice(offset, offset + n);
  if (options.masks) ds.masks = await loadMasks(options.masks, ds, { offset, total });
  return ds;
}

async function looksLikeIdx(path: string): Promise<boolean> {
  const head = (await readFile(path)).subarray(0, 4);
  return head.length === 4 && head[0] === 0 && head[1] === 0 && [0x08, 0x09, 0x0b, 0x0c, 0x0d, 0x0e].includes(head[2]!) && head[3]! > 0;
}

/** Samples [offset, offset + limit) of a dataset (labels, masks and names follow). */
export function sliceDataset(ds: Dataset, offset: number, limit?: number): Dataset {
  const n = ds.shape[0]!;
  const { end } = resolveRange(n, offset, limit);
  if (offset === 0 && end === n) return ds;
  const per = ds.x.length / n;
  return {
    ...ds,
    x: ds.x.slice(offset * per, end * per),
    shape: [end - offset, ...ds.shape.slice(1)],
    labels: ds.labels?.slice(offset, end),
    masks: ds.masks?.slice(offset * per, end * per),
    intensity: ds.intensity?.slice(offset * per, end * per),
    names: ds.names.slice(offset, end),
  };
}

async function loadNpyDataset(path: string): Promise<Dataset> {
  const a = await readNpy(path);
  if (a.shape.length < 2) throw new InputDataError(`${path}: shape [${a.shape.join(', ')}] is not a batch`, 'a dataset .npy is [n, ...] with the batch axis first');
  const x = toFloat32(a);
  return { x, shape: [...a.shape], names: Array.from({ length: a.shape[0]! }, (_, i) => `${basename(path, '.npy')}-${i}`), source: path };
}

async function loadIdxDataset(path: string, options: DatasetOptions): Promise<{ ds: Dataset; total: number; offset: number }> {
  const a = await readIdx(path);
  if (a.shape.length < 2) throw new InputDataError(`${path}: IDX shape [${a.shape.join(', ')}] is one value per sample: this looks like a labels file, not inputs`, 'pass it with --labels and give the images file as the dataset');
  const total = a.shape[0]!;
  const { offset, end } = resolveRange(total, options.offset, options.limit);
  const per = a.data.length / total;
  // [n, h, w] images get a channel axis (NCHW, as MNIST models expect); other ranks are kept.
  const rest = a.shape.length === 3 ? [1, a.shape[1]!, a.shape[2]!] : a.shape.slice(1);
  const shape = [end - offset, ...rest];
  const scale = a.dtype === 'uint8' ? (options.scale ?? 255) : 1;
  const intensity = Float32Array.from(a.data.subarray(offset * per, end * per) as ArrayLike<number>, (v) => v / scale);
  const x = normalise(intensity, shape, options);
  const ds: Dataset = { x, shape, intensity, names: Array.from({ length: end - offset }, (_, i) => `${basename(path)}#${offset + i}`), source: path };
  if (!options.labels) {
    const sibling = siblingLabels(path);
    if (sibling && (await exists(sibling))) ds.labels = (await loadLabels(sibling, total)).slice(offset, end);
  }
  return { ds, total, offset };
}

function normalise(intensity: Float32Array, shape: number[], options: DatasetOptions): Float32Array {
  const channels = shape.length >= 4 ? shape[1]! : 1;
  const mean = perChannel(options.mean, 0, channels, '--mean');
  const std = perChannel(options.std, 1, channels, '--std');
  if (std.some((s) => s === 0)) throw new InvalidArgumentError('--std', 'values must be non-zero');
  const plane = shape.length >= 4 ? shape.slice(2).reduce((a, b) => a * b, 1) : intensity.length / shape[0]!;
  const x = new Float32Array(intensity.length);
  for (let i = 0; i < x.length; i++) {
    const c = Math.floor(i / plane) % channels;
    x[i] = (intensity[i]! - mean[c]!) / std[c]!;
  }
  return x;
}

/** MNIST naming: train-images-idx3-ubyte ↔ train-labels-idx1-ubyte (also t10k-images.idx3-ubyte). */
function siblingLabels(path: string): string | undefined {
  const name = basename(path);
  const candidate = name.replace(/images([-.])idx3/i, 'labels$1idx1');
  if (candidate === name) return undefined;
  return join(dirname(path), candidate);
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Labels from .npy (integers or integral floats), IDX or a JSON array; `expected` samples. */
export async function loadLabels(path: string, expected: number): Promise<Int32Array> {
  let values: number[];
  const ext = extname(path).toLowerCase();
  if (ext === '.npy') {
    const a = await readNpy(path);
    values = Array.from(toFloat32(a));
  } else if (ext === '.json') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(path, 'utf8'));
    } catch (e) {
      throw new FileFormatError(path, `cannot read labels JSON: ${(e as Error).message}`);
    }
    if (!Array.isArray(parsed) || parsed.some((v) => typeof v !== 'number')) throw new FileFormatError(path, 'labels JSON must be an array of class indices');
    values = parsed as number[];
  } else {
    try {
      await stat(path);
    } catch {
      throw new FileFormatError(path, 'labels file not found', 'pass --labels <file> (.npy, .json or IDX)');
    }
    const a = await readIdx(path);
    values = Array.from(a.data as ArrayLike<number>);
  }
  if (values.length !== expected) throw new InputDataError(`${path}: ${values.length} labels for ${expected} samples`, 'labels and inputs must be in the same order and of the same length');
  const bad = values.findIndex((v) => !Number.isInteger(v) || v < 0);
  if (bad >= 0) throw new InputDataError(`${path}: label ${bad} is ${values[bad]}, not a class index`);
  return Int32Array.from(values);
}

async function loadImageFolder(dir: string, options: DatasetOptions): Promise<{ ds: Dataset; total: number; offset: number }> {
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
  const images = entries.filter((e) => e.isFile() && isImagePath(e.name)).map((e) => join(dir, e.name));
  const classDirs = entries.filter((e) => e.isDirectory());
  if (images.length > 0) {
    const { offset, end } = resolveRange(images.length, options.offset, options.limit);
    return { ds: await loadImageFiles(images.slice(offset, end), options, dir), total: images.length, offset };
  }
  if (classDirs.length === 0) throw new FileFormatError(dir, 'contains no images and no class folders', 'an image folder holds images, or one sub-folder per class (folder name = class index)');
  // ImageFolder convention: one sub-folder per class. Integer names are the class indices; otherwise the sorted
  // position is (torchvision's rule).
  const numeric = classDirs.every((d) => /^\d+$/.test(d.name));
  const files: string[] = [];
  const labels: number[] = [];
  for (const [i, d] of classDirs.entries()) {
    const inside = (await readdir(join(dir, d.name))).filter((f) => isImagePath(f)).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
    for (const f of inside) {
      files.push(join(dir, d.name, f));
      labels.push(numeric ? Number(d.name) : i);
    }
  }
  if (files.length === 0) throw new FileFormatError(dir, 'its class folders contain no images');
  const { offset, end } = resolveRange(files.length, options.offset, options.limit);
  const picked = files.slice(offset, end);
  const ds = await loadImageFiles(picked, options, dir);
  ds.labels = Int32Array.from(labels.slice(offset, end));
  ds.names = picked.map((f) => `${basename(dirname(f))}/${basename(f)}`);
  return { ds, total: files.length, offset };
}

async function loadImageFiles(files: string[], options: DatasetOptions, source: string): Promise<Dataset> {
  const scale = options.scale ?? 255;
  const loaded = [];
  for (const f of files) {
    const img = await loadImage(f, { size: options.size, grayscale: options.grayscale, scale });
    loaded.push({ file: f, img });
  }
  const first = loaded[0]!.img.shape;
  for (const { file, img } of loaded) {
    if (img.shape.some((d, i) => d !== first[i])) {
      throw new InputDataError(`${file}: image is ${img.shape.slice(2).join('×')} with ${img.shape[1]} channel(s), ${loaded[0]!.file} is ${first.slice(2).join('×')} with ${first[1]}`, 'pass --size H,W (and --grayscale) so every image gets the size the model expects');
    }
  }
  const per = loaded[0]!.img.tensor.length;
  const intensity = new Float32Array(per * loaded.length);
  loaded.forEach(({ img }, i) => intensity.set(img.tensor, i * per));
  const shape = [loaded.length, ...first.slice(1)];
  return { x: normalise(intensity, shape, options), shape, intensity, names: files.map((f) => basename(f)), source };
}
