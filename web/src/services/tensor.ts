/** Tensors for the UI: inputs built from images or .npy bytes, shaped like the model's input. */
import { parseNpy, toFloat32 } from '../../../src/browser/index.js';
import type { Preprocess, TensorInfo } from './api';

export interface Tensor {
  data: Float32Array;
  dims: number[];
}

/** The model input's static [C, H, W] (batch excluded); symbolic dims are an error for image inputs. */
export function imageShape(input: TensorInfo | undefined): { c: number; h: number; w: number } | undefined {
  if (!input) return undefined;
  const dims = input.shape.slice(1);
  if (dims.length !== 3 || !dims.every((d) => typeof d === 'number' && d > 0)) return undefined;
  const [c, h, w] = dims as number[];
  return { c: c!, h: h!, w: w! };
}

/** An .npy array as a batch-of-one tensor of the model's input shape (when the element counts agree). */
export function npyToInput(bytes: Uint8Array, input: TensorInfo | undefined): Tensor {
  const arr = parseNpy(bytes, 'sample.npy');
  const data = toFloat32(arr);
  const dims = input && input.shape.every((d, i) => i === 0 || typeof d === 'number') ? [1, ...(input.shape.slice(1) as number[])] : [1, ...arr.shape];
  const n = dims.reduce((a, b) => a * b, 1);
  if (n !== data.length) throw new Error(`the sample has ${data.length} values, the model input [${input?.shape.join(', ')}] needs ${n}`);
  return { data, dims };
}

/**
 * Image → model input in the browser: resized to the input's H×W, greyscale when it has one channel, scaled to
 * [0, 1] and normalised with the preprocessing's mean/std (per channel).
 */
export async function imageToInput(blob: Blob, input: TensorInfo | undefined, pre: Preprocess = {}): Promise<Tensor> {
  const shape = imageShape(input);
  if (!shape) throw new Error(`the model input [${input?.shape.join(', ') ?? '?'}] is not an image of shape [N, C, H, W]`);
  const { c, h, w } = shape;
  const bitmap = await createImageBitmap(blob);
  const canvas = new OffscreenCanvas(w, h);
  const ctx = canvas.getContext('2d')!;
  ctx.drawImage(bitmap, 0, 0, w, h);
  const rgba = ctx.getImageData(0, 0, w, h).data;
  const data = new Float32Array(c * h * w);
  const plane = h * w;
  for (let p = 0; p < plane; p++) {
    const [r, g, b] = [rgba[p * 4]! / 255, rgba[p * 4 + 1]! / 255, rgba[p * 4 + 2]! / 255];
    const px = c === 1 ? [0.2126 * r + 0.7152 * g + 0.0722 * b] : [r, g, b];
    for (let k = 0; k < c; k++) {
      const mean = pre.mean?.[k] ?? pre.mean?.[0] ?? 0;
      const std = pre.std?.[k] ?? pre.std?.[0] ?? 1;
      data[k * plane + p] = ((px[k] ?? px[0]!) - mean) / std;
    }
  }
  return { data, dims: [1, c, h, w] };
}
