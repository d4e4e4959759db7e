/**
 * Image tensor layouts: PyTorch exports take [N, C, H, W] ('nchw'); TensorFlow/Keras exports (tf2onnx) take
 * [N, H, W, C] ('nhwc') and transpose inside the graph. The image loader always produces NCHW, heatmaps are drawn
 * from [C, H, W]; this module tells the layout from a model's declared input shape and converts between the two.
 * Shared by the CLI (`xsys explain --layout`) and the server (a model's stored preprocessing), so they agree.
 */
import { InvalidArgumentError } from '../errors.js';

export const IMAGE_LAYOUTS = ['nchw', 'nhwc'] as const;
export type ImageLayout = (typeof IMAGE_LAYOUTS)[number];

/** Channel counts of images (grey, RGB, RGBA): what the last axis of a channels-last input holds. */
const CHANNELS: readonly number[] = [1, 3, 4];

type Dim = number | string | null | undefined;

/** A spatial extent: symbolic, or a number too large to be a channel count. */
const spatial = (d: Dim): boolean => typeof d !== 'number' || d > 4;

/**
 * The layout of a 4-D image input read off its declared shape: 'nhwc' when the last axis is a channel count
 * (1, 3 or 4) and the two before it are spatial (symbolic or larger than 4) — [1, 224, 224, 3], ['N', 'h', 'w', 1];
 * 'nchw' for any other 4-D shape; undefined for other ranks (vectors, sequences: no image layout).
 */
export function layoutFromShape(shape: readonly Dim[] | undefined): ImageLayout | undefined {
  if (!shape || shape.length !== 4) return undefined;
  const [, a, b, last] = shape;
  const channelsLast = typeof last === 'number' && CHANNELS.includes(last) && spatial(a) && spatial(b);
  return channelsLast ? 'nhwc' : 'nchw';
}

/** `--layout nchw|nhwc` (case-insensitive); undefined when not given. */
export function parseLayout(value: string | undefined, flag = '--layout'): ImageLayout | undefined {
  if (value === undefined) return undefined;
  const v = value.trim().toLowerCase();
  if (!(IMAGE_LAYOUTS as readonly string[]).includes(v)) {
    throw new InvalidArgumentError(flag, `unknown layout '${value}'`, `use ${IMAGE_LAYOUTS.join(' or ')} (nhwc: channels last, as TensorFlow/Keras exports take images)`);
  }
  return v as ImageLayout;
}

/** [1, C, H, W] → [1, H, W, C] (models exported from TensorFlow/Keras take channels last). */
export function toNhwc(data: Float32Array, shape: readonly number[]): { data: Float32Array; dims: number[] } {
  const [, c = 1, h = 1, w = 1] = shape;
  const out = new Float32Array(data.length);
  for (let k = 0; k < c; k++) for (let p = 0; p < h * w; p++) out[p * c + k] = data[k * h * w + p]!;
  return { data: out, dims: [1, h, w, c] };
}

/**
 * One sample's [H, W, C] values as [C, H, W] — what heatmaps are drawn from — for a channels-last attribution
 * (read as [C, H, W] it would be an H-pixel-high sliver of W×C). Other layouts pass through unchanged.
 */
export function sampleToChw(data: Float32Array, sampleDims: readonly number[], layout: ImageLayout | undefined): { data: Float32Array; dims: number[] } {
  if (layout !== 'nhwc' || sampleDims.length !== 3) return { data, dims: [...sampleDims] };
  const [h, w, c] = sampleDims as [number, number, number];
  const out = new Float32Array(data.length);
  for (let p = 0; p < h * w; p++) for (let k = 0; k < c; k++) out[k * h * w + p] = data[p * c + k]!;
  return { data: out, dims: [c, h, w] };
}
