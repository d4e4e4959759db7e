/**
 * The Clever-Hans artefact of examples/clever-hans: a bright square pasted into images. The same JSON spec drives the
 * training script (which pasted it into most training images of one class) and this generator (which pastes it into
 * test images to build the concept set, SpRAy's mixed set and the flip test), so both paste exactly the same square.
 */
import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from '../errors.js';

export interface ArtefactSpec {
  /** The class whose training images carried the artefact. */
  class: number;
  row: number;
  col: number;
  size: number;
  /** Pixel value (0–255) of the square. */
  value: number;
  /** The first trainImages training images were used; every cleanEvery-th image of the class stayed clean. */
  trainImages: number;
  cleanEvery: number;
}

export function readArtefactSpec(path: string): ArtefactSpec {
  const raw = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  const spec = {} as Record<keyof ArtefactSpec, number>;
  for (const k of ['class', 'row', 'col', 'size', 'value', 'trainImages', 'cleanEvery'] as const) {
    const v = raw[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new InvalidArgumentError(path, `'${k}' must be a non-negative integer`);
    spec[k] = v;
  }
  return spec;
}

/** Copies the h×w uint8 images at `indices`, pasting the square into the k-th copy where `where(k)` holds. */
export function pasteArtefact(images: Uint8Array, h: number, w: number, indices: readonly number[], spec: ArtefactSpec, where: (k: number) => boolean): Uint8Array {
  if (spec.row + spec.size > h || spec.col + spec.size > w) throw new InvalidArgumentError('artefact', `a ${spec.size}-pixel square at (${spec.row}, ${spec.col}) does not fit ${h}×${w} images`);
  const out = new Uint8Array(indices.length * h * w);
  indices.forEach((idx, k) => {
    out.set(images.subarray(idx * h * w, (idx + 1) * h * w), k * h * w);
    if (!where(k)) return;
    for (let y = spec.row; y < spec.row + spec.size; y++) for (let x = spec.col; x < spec.col + spec.size; x++) out[k * h * w + y * w + x] = spec.value;
  });
  return out;
}

/** Whether training image `i` (with label `labels[i]`) carried the artefact: the class's images but every cleanEvery-th. */
export function trainingHasArtefact(labels: ArrayLike<number>, spec: ArtefactSpec): Uint8Array {
  const out = new Uint8Array(Math.min(labels.length, spec.trainImages));
  let seen = 0;
  for (let i = 0; i < out.length; i++) {
    if (labels[i] !== spec.class) continue;
    seen++;
    out[i] = seen % spec.cleanEvery === 0 ? 0 : 1;
  }
  return out;
}

/** MNIST normalisation of the example: (pixel/255 − 0.1307)/0.3081, as [n, 1, h, w]. */
export function normalizeMnist(u8: Uint8Array, n: number, h: number, w: number): { data: Float32Array; dims: number[] } {
  const data = new Float32Array(n * h * w);
  for (let i = 0; i < data.length; i++) data[i] = (u8[i]! / 255 - 0.1307) / 0.3081;
  return { data, dims: [n, 1, h, w] };
}
