/**
 * Attribution → heatmap image and overlays (PNG output: png.ts).
 *
 * The normalisation follows Zennit's `imgify`, so an xsys heatmap of a given attribution is pixel-identical to the
 * one Zennit users know: channels are summed, values are scaled into [0, 1] (symmetric: 0 ↦ 0.5, ±max|v| ↦ 0 / 1),
 * multiplied by 255 and truncated to a byte, and that byte indexes the colour map's 256-entry palette.
 */
import { InputDataError, InvalidArgumentError } from '../errors.js';
import { palette } from './colormaps.js';

/** An 8-bit RGB image, row-major, channels interleaved. */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 3;
}

/** An 8-bit image with 1 (grey), 3 (RGB) or 4 (RGBA) interleaved channels; 3 if `channels` is omitted. */
export interface RasterImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels?: 1 | 3 | 4;
}

export interface HeatmapOptions {
  /** Colour map name (see COLORMAP_NAMES). Default 'bwr', Zennit's default. */
  cmap?: string;
  /**
   * true (default): scale by max |v| so that zero stays at the centre of the colour map and positive and negative
   * evidence are comparable. false: min–max scaling, minimum ↦ bottom colour, maximum ↦ top colour.
   */
  symmetric?: boolean;
  /** Zennit's palette 'level' (contrast); default 1. Above 1 saturates sooner, below 1 uses the middle of the map. */
  level?: number;
  /**
   * How to merge input channels into one relevance per pixel. 'sum' (default) is the LRP convention: a pixel's
   * relevance is the sum over its channels. 'max-abs' keeps, per pixel, the signed channel value of largest magnitude.
   */
  channelReduce?: 'sum' | 'max-abs';
}

/** Palette index used where the attribution has no range (all equal, e.g. all zero): the colour of zero. */
const MID_INDEX = 127;

/** Interpret the attribution shape as (channels, height, width); a leading batch axis of 1 is accepted. */
function planeShape(shape: number[], length: number): { c: number; h: number; w: number } {
  let dims = shape;
  if (dims.length === 4 && dims[0] === 1) dims = dims.slice(1);
  let c: number, h: number, w: number;
  if (dims.length === 2) [c, h, w] = [1, dims[0]!, dims[1]!];
  else if (dims.length === 3) [c, h, w] = [dims[0]!, dims[1]!, dims[2]!];
  else {
    throw new InvalidArgumentError(
      'shape',
      `a heatmap needs an attribution of shape [C,H,W] or [H,W], got [${shape.join(', ')}]`,
      'select one sample of a batch before rendering',
    );
  }
  if (!(c > 0 && h > 0 && w > 0) || ![c, h, w].every(Number.isInteger)) {
    throw new InvalidArgumentError('shape', `invalid attribution shape [${shape.join(', ')}]`);
  }
  if (c * h * w !== length) {
    throw new InputDataError(`attribution has ${length} values but shape [${shape.join(', ')}] needs ${c * h * w}`);
  }
  return { c, h, w };
}

/** Merge channels into one value per pixel (float64 to keep sums of many small relevances exact enough). */
function reduceChannels(attr: Float32Array, c: number, plane: number, mode: 'sum' | 'max-abs'): Float64Array {
  const out = new Float64Array(plane);
  for (let p = 0; p < plane; p++) {
    let acc = 0;
    for (let k = 0; k < c; k++) {
      const v = attr[k * plane + p]!;
      if (mode === 'sum') acc += v;
      else if (Math.abs(v) > Math.abs(acc)) acc = v;
    }
    out[p] = acc;
  }
  return out;
}

/**
 * Render an attribution as an RGB heatmap, Zennit style (see the module comment). Throws InputDataError if the
 * attribution contains NaN or ±Infinity, since any normalisation of those would silently produce a meaningless image.
 */
export function attributionToHeatmap(attr: Float32Array, shape: number[], options: HeatmapOptions = {}): RgbImage {
  const { cmap = 'bwr', symmetric = true, level = 1, channelReduce = 'sum' } = options;
  if (channelReduce !== 'sum' && channelReduce !== 'max-abs') {
    throw new InvalidArgumentError('channelReduce', `must be 'sum' or 'max-abs', got '${String(channelReduce)}'`);
  }
  const pal = palette(cmap, level);
  const { c, h, w } = planeShape(shape, attr.length);
  const plane = h * w;
  for (let i = 0; i < attr.length; i++) {
    if (!Number.isFinite(attr[i]!)) {
      throw new InputDataError(
        `attribution contains ${Number.isNaN(attr[i]!) ? 'NaN' : 'an infinite value'} (at flat index ${i})`,
        'the model or method produced non-finite relevance; check the input and the epsilon of the rules',
      );
    }
  }
  const values = reduceChannels(attr, c, plane, channelReduce);

  let vmin: number, vmax: number;
  if (symmetric) {
    let m = 0;
    for (const v of values) m = Math.max(m, Math.abs(v));
    [vmin, vmax] = [-m, m];
  } else {
    [vmin, vmax] = [Infinity, -Infinity];
    for (const v of values) {
      vmin = Math.min(vmin, v);
      vmax = Math.max(vmax, v);
    }
  }
  const range = vmax - vmin;

  const data = new Uint8Array(plane * 3);
  for (let p = 0; p < plane; p++) {
    const index =
      range > 0 ? Math.trunc(Math.min(255, Math.max(0, ((values[p]! - vmin) / range) * 255))) : MID_INDEX;
    data[p * 3] = pal[index * 3]!;
    data[p * 3 + 1] = pal[index * 3 + 1]!;
    data[p * 3 + 2] = pal[index * 3 + 2]!;
  }
  return { data, width: w, height: h, channels: 3 };
}

export function checkImage(img: RasterImage, what: string): 1 | 3 | 4 {
  const channels = img.channels ?? 3;
  if (![1, 3, 4].includes(channels)) throw new InvalidArgumentError(what, `unsupported channel count ${channels}`);
  if (!(Number.isInteger(img.width) && Number.isInteger(img.height) && img.width > 0 && img.height > 0)) {
    throw new InvalidArgumentError(what, `invalid size ${img.width}×${img.height}`);
  }
  if (img.data.length !== img.width * img.height * channels) {
    throw new InvalidArgumentError(
      what,
      `${img.width}×${img.height}×${channels} image needs ${img.width * img.height * channels} bytes, got ${img.data.length}`,
    );
  }
  return channels;
}

/** Nearest-neighbour resampling (pixel centres aligned), used to bring a heatmap to the size of the image under it. */
export function resizeNearest(img: RasterImage, width: number, height: number): Uint8Array {
  const ch = img.channels ?? 3;
  const out = new Uint8Array(width * height * ch);
  for (let y = 0; y < height; y++) {
    const sy = Math.min(img.height - 1, Math.floor(((y + 0.5) * img.height) / height));
    for (let x = 0; x < width; x++) {
      const sx = Math.min(img.width - 1, Math.floor(((x + 0.5) * img.width) / width));
      const s = (sy * img.width + sx) * ch;
      const d = (y * width + x) * ch;
      for (let k = 0; k < ch; k++) out[d + k] = img.data[s + k]!;
    }
  }
  return out;
}

/**
 * Blend a heatmap over the image it explains: out = (1 − alpha)·base + alpha·heat, rounded. A heatmap of another
 * size (e.g. a Grad-CAM map, or a model input smaller than the display image) is resized to the base with
 * nearest-neighbour sampling so attribution cells stay crisp instead of being smeared.
 */
export function overlay(base: RgbImage, heat: RasterImage, alpha = 0.5): RgbImage {
  if (!(alpha >= 0 && alpha <= 1)) throw new InvalidArgumentError('alpha', `must lie in [0, 1], got ${alpha}`);
  checkImage(base, 'base');
  if (checkImage(heat, 'heat') !== 3) throw new InvalidArgumentError('heat', 'heatmap must be RGB (3 channels)');
  const { width, height } = base;
  const heatData =
    heat.width === width && heat.height === height ? heat.data : resizeNearest(heat, width, height);
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) {
    data[i] = Math.round((1 - alpha) * base.data[i]! + alpha * heatData[i]!);
  }
  return { data, width, height, channels: 3 };
}

/**
 * Integer upscaling factor that makes the longer side of a width×height image about `target` pixels (at least 1),
 * e.g. 8 for a 28×28 MNIST heatmap and target 224.
 */
export function upscaleFactor(width: number, height: number, target = 224): number {
  return Math.max(1, Math.round(target / Math.max(width, height, 1)));
}
