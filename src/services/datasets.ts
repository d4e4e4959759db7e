/**
 * The dataset registry: named collections of preprocessed samples the service can explain by index. Request paths only
 * ever name a registered dataset and an integer index, never a file — the files behind a dataset are fixed when it is
 * registered (at start-up, from the bundled example or `--dataset`).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { FileFormatError, InvalidArgumentError } from '../errors.js';
import { encodeNpy, parseNpy, toFloat32 } from '../io/npy.js';
import { encodePng } from '../render/png.js';
import type { Tensor } from '../runtime/tensor.js';
import { sha256Hex } from '../store/artefact-files.js';
import type { Preprocess } from '../store/types.js';
import { notFound } from './problem.js';

export interface DatasetSource {
  name: string;
  /** .npy with the preprocessed samples, shape [N, ...sample]. */
  npy: string;
  /** Folder of the original images, one per sample in sorted-name order (optional: previews are rendered otherwise). */
  images?: string;
  /** JSON array of N integer labels (optional). */
  labels?: string;
  /** How the samples were preprocessed from images (reported to clients, used to un-normalise previews). */
  preprocess?: Preprocess;
}

export interface DatasetSummary {
  name: string;
  count: number;
  shape: number[];
  preprocess: Preprocess;
  labels?: number[];
}

interface Dataset extends DatasetSummary {
  data: Float32Array;
  images?: string[];
  /** The samples as one float32 .npy (what queue workers fetch) and its sha256, made on first request. */
  file?: { bytes: Uint8Array; sha256: string };
}

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$/;

export class DatasetRegistry {
  private readonly sets = new Map<string, Dataset>();
  private readonly pngCache = new Map<string, Promise<Uint8Array>>();

  async register(src: DatasetSource): Promise<DatasetSummary> {
    if (!NAME.test(src.name)) throw new InvalidArgumentError('--dataset', `dataset name '${src.name}' must be 1–64 letters, digits, '.', '_' or '-'`);
    const a = parseNpy(await readFile(src.npy).catch((e: Error) => { throw new FileFormatError(src.npy, `cannot read dataset: ${e.message}`); }), src.npy);
    if (a.shape.length < 2) throw new FileFormatError(src.npy, `a dataset .npy needs shape [N, ...sample], got [${a.shape.join(', ')}]`);
    const count = a.shape[0]!;
    let images: string[] | undefined;
    if (src.images) {
      const names = (await readdir(src.images)).filter((n) => /\.(png|jpe?g|webp)$/i.test(n)).sort();
      if (names.length !== count) throw new FileFormatError(src.images, `${names.length} images for ${count} samples in ${src.npy}`, 'one image per sample, in sorted-name order');
      images = names.map((n) => join(src.images!, n));
    }
    let labels: number[] | undefined;
    if (src.labels) {
      const parsed = JSON.parse(await readFile(src.labels, 'utf8')) as unknown;
      if (!Array.isArray(parsed) || parsed.length !== count || !parsed.every(Number.isInteger)) throw new FileFormatError(src.labels, `labels must be a JSON array of ${count} integers`);
      labels = parsed as number[];
    }
    const ds: Dataset = { name: src.name, count, shape: a.shape.slice(1), preprocess: src.preprocess ?? {}, labels, data: toFloat32(a), images };
    this.sets.set(src.name, ds);
    return this.summary(ds);
  }

  /** Registers samples already in memory ([count, ...shape], preprocessed), e.g. decoded from IDX files. */
  registerArray(src: { name: string; data: Float32Array; shape: number[]; labels?: number[]; preprocess?: Preprocess }): DatasetSummary {
    if (!NAME.test(src.name)) throw new InvalidArgumentError('dataset', `dataset name '${src.name}' must be 1–64 letters, digits, '.', '_' or '-'`);
    const per = src.shape.reduce((a, b) => a * b, 1);
    if (per === 0 || src.data.length % per !== 0) throw new InvalidArgumentError('dataset', `${src.data.length} values do not make samples of shape [${src.shape.join(', ')}]`);
    const count = src.data.length / per;
    if (src.labels && src.labels.length !== count) throw new InvalidArgumentError('dataset', `${src.labels.length} labels for ${count} samples`);
    const ds: Dataset = { name: src.name, count, shape: [...src.shape], preprocess: src.preprocess ?? {}, labels: src.labels, data: src.data };
    this.sets.set(src.name, ds);
    return this.summary(ds);
  }

  private summary(d: Dataset): DatasetSummary {
    return { name: d.name, count: d.count, shape: d.shape, preprocess: d.preprocess, ...(d.labels ? { labels: d.labels } : {}) };
  }

  list(): DatasetSummary[] {
    return [...this.sets.values()].map((d) => this.summary(d));
  }

  has(name: string): boolean {
    return this.sets.has(name);
  }

  private get(name: string, index: number): Dataset {
    const d = this.sets.get(name);
    if (!d) throw notFound(`no dataset named '${name}'`, `datasets: ${[...this.sets.keys()].join(', ') || 'none'}`);
    if (!Number.isInteger(index) || index < 0 || index >= d.count) throw notFound(`dataset '${name}' has samples 0–${d.count - 1}, not ${index}`);
    return d;
  }

  summaryOf(name: string): DatasetSummary {
    return this.summary(this.get(name, 0));
  }

  /** The preprocessed sample as a batch of one. The data is a copy. */
  sample(name: string, index: number): Tensor {
    const d = this.get(name, index);
    const per = d.data.length / d.count;
    return { data: d.data.slice(index * per, (index + 1) * per), dims: [1, ...d.shape] };
  }

  /** Samples `indices` as one batch [indices.length, ...sample], copied straight from the dataset's array. */
  batch(name: string, indices: readonly number[]): Tensor {
    if (indices.length === 0) throw new InvalidArgumentError('indices', `no samples of '${name}' asked for`);
    const d = this.get(name, indices[0]!);
    const per = d.data.length / d.count;
    const data = new Float32Array(per * indices.length);
    indices.forEach((i, k) => data.set(this.get(name, i).data.subarray(i * per, (i + 1) * per), k * per));
    return { data, dims: [indices.length, ...d.shape] };
  }

  /**
   * The dataset's samples as one canonical float32 .npy [N, ...sample] and its sha256: queue workers fetch it by this
   * hash, so a worker's samples are bit for bit the server's.
   */
  file(name: string): { bytes: Uint8Array; sha256: string } {
    const d = this.get(name, 0);
    if (!d.file) {
      const bytes = encodeNpy(d.data, [d.count, ...d.shape]);
      d.file = { bytes, sha256: sha256Hex(bytes) };
    }
    return d.file;
  }

  sha256(name: string): string {
    return this.file(name).sha256;
  }

  label(name: string, index: number): number | undefined {
    return this.get(name, index).labels?.[index];
  }

  /** A PNG of the sample: the original image file if the dataset has one, else the tensor rendered back to pixels. */
  png(name: string, index: number): Promise<Uint8Array> {
    const d = this.get(name, index);
    const key = `${name}\u0000${index}`;
    let p = this.pngCache.get(key);
    if (!p) {
      p = d.images ? readFile(d.images[index]!).then((b) => new Uint8Array(b)) : renderSample(this.sample(name, index), d.preprocess);
      this.pngCache.set(key, p);
      p.catch(() => this.pngCache.delete(key));
    }
    return p;
  }
}

/** Un-normalises a [1, C, H, W] (C = 1 or 3) or [1, H, W] sample into 8-bit pixels; other shapes have no picture. */
export async function renderSample(t: Tensor, pre: Preprocess): Promise<Uint8Array> {
  const dims = t.dims.slice(1);
  const [c, h, w] = dims.length === 2 ? [1, dims[0]!, dims[1]!] : dims.length === 3 ? [dims[0]!, dims[1]!, dims[2]!] : [0, 0, 0];
  if (!(c === 1 || c === 3)) throw new InvalidArgumentError('format', `samples of shape [${dims.join(', ')}] have no image form`, 'ask for ?format=npy');
  const plane = h * w;
  const out = new Uint8Array(plane * c);
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of t.data) (lo = Math.min(lo, v)), (hi = Math.max(hi, v));
  const known = pre.mean !== undefined || pre.std !== undefined;
  for (let k = 0; k < c; k++) {
    const mean = pre.mean?.[pre.mean.length === 1 ? 0 : k] ?? 0;
    const std = pre.std?.[pre.std.length === 1 ? 0 : k] ?? 1;
    for (let p = 0; p < plane; p++) {
      const v = t.data[k * plane + p]!;
      // With known normalisation invert it exactly; otherwise stretch the sample's own range.
      const unit = known ? v * std + mean : hi > lo ? (v - lo) / (hi - lo) : 0.5;
      out[p * c + k] = Math.max(0, Math.min(255, Math.round(unit * 255)));
    }
  }
  return encodePng({ data: out, width: w, height: h, channels: c as 1 | 3 });
}
