/**
 * Pictures of concepts: a dataset sample as an 8-bit image (what a person sees), cropped to a box, and a
 * conditional heatmap — shared by the CLI, the server and the bundled example.
 */
import { InvalidArgumentError } from '../errors.js';
import { attributionToHeatmap, type RasterImage } from '../render/heatmap.js';
import type { Box } from './atlas.js';

/**
 * A [C, H, W] sample (C = 1 or 3) as an image. `intensity` values in [0, 1] (MNIST pixels before mean/std) are shown
 * as they are; model-normalised values are min–max scaled per sample.
 */
export function sampleImage(data: Float32Array, sampleShape: readonly number[], intensity = false): RasterImage {
  if (sampleShape.length !== 3 || (sampleShape[0] !== 1 && sampleShape[0] !== 3)) throw new InvalidArgumentError('sample', `cannot show a sample of shape [${sampleShape.join(', ')}] as an image (need [1 or 3, H, W])`);
  const [c, h, w] = sampleShape as [number, number, number];
  let lo = 0;
  let hi = 1;
  if (!intensity) {
    lo = Infinity;
    hi = -Infinity;
    for (const v of data) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
  }
  const range = hi - lo || 1;
  const out = new Uint8Array(h * w * c);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) out[(y * w + x) * c + k] = Math.round(Math.min(1, Math.max(0, (data[k * h * w + y * w + x]! - lo) / range)) * 255);
  return { data: out, width: w, height: h, channels: c as 1 | 3 };
}

/** The box [y0, x0, y1, x1) of an image. */
export function cropImage(img: RasterImage, box: Box): RasterImage {
  const c = img.channels ?? 3;
  const [y0, x0, y1, x1] = box;
  const w = x1 - x0;
  const h = y1 - y0;
  if (w < 1 || h < 1 || x1 > img.width || y1 > img.height || x0 < 0 || y0 < 0) throw new InvalidArgumentError('box', `box [${box.join(', ')}] is not inside a ${img.width}×${img.height} image`);
  const out = new Uint8Array(w * h * c);
  for (let y = 0; y < h; y++) out.set(img.data.subarray(((y0 + y) * img.width + x0) * c, ((y0 + y) * img.width + x1) * c), y * w * c);
  return { data: out, width: w, height: h, channels: c as 1 | 3 | 4 };
}

/** A conditional heatmap [1, C, H, W] as a red/blue image (Zennit's bwr, zero at white). */
export function conceptHeatmap(heatmap: Float32Array, dims: readonly number[]): RasterImage {
  return attributionToHeatmap(heatmap, [...dims]);
}
