/**
 * Image files → model input tensors, with sharp.
 *
 * Models are trained on tensors produced by a specific preprocessing (torchvision's ToTensor + Normalize in most
 * cases), and an explanation is only meaningful for the input the model really expects. So this module reproduces
 * that preprocessing explicitly — resize, optional greyscale, pixel / scale, (v − mean[c]) / std[c], NCHW — and also
 * returns the resized RGB image so heatmaps can be laid over exactly what the model saw.
 */
import { stat } from 'node:fs/promises';
import { extname } from 'node:path';

import sharp from 'sharp';

import { FileFormatError, InvalidArgumentError } from '../errors.js';

export interface ImageLoadOptions {
  /** Target [height, width], or one number for a square. Omitted: keep the image's own size. */
  size?: [number, number] | number;
  /** Produce a single-channel tensor (ITU-R 601-2 luma, like PIL's convert('L')). */
  grayscale?: boolean;
  /** Per-channel mean subtracted after scaling, in the tensor's channel order; length 1 applies to all channels. */
  mean?: number[];
  /** Per-channel standard deviation divided by after subtracting the mean; length 1 applies to all channels. */
  std?: number[];
  /** Channel order of the tensor: 'rgb' (default, torchvision) or 'bgr' (Caffe/OpenCV-trained models). */
  channelOrder?: 'rgb' | 'bgr';
  /** Divisor applied to 0–255 pixel values before normalisation. Default 255 (ToTensor); 1 keeps raw pixel values. */
  scale?: number;
  /**
   * How to reach `size` when the aspect ratio differs: 'fill' (default) stretches like torchvision's
   * Resize((h, w)); 'cover' scales and crops the centre; 'contain' scales and pads with black.
   */
  fit?: 'fill' | 'cover' | 'contain';
}

export interface LoadedImage {
  /** Normalised pixels, NCHW with N = 1. */
  tensor: Float32Array<ArrayBuffer>;
  /** [1, channels, height, width]. */
  shape: [1, number, number, number];
  /** The resized image as 8-bit RGB (before greyscale conversion and normalisation), for overlays. */
  display: { data: Uint8Array; width: number; height: number; channels: 3 };
}

/**
 * The sharp formats we accept as model input, by file suffix. Derived from what the installed sharp/libvips can
 * actually read, so isImagePath never promises a format that loadImage would then reject (e.g. BMP is absent).
 */
const IMAGE_FORMATS = ['jpeg', 'png', 'webp', 'gif', 'tiff', 'heif', 'svg'] as const;

function readableSuffixes(): string[] {
  const suffixes: string[] = [];
  for (const id of IMAGE_FORMATS) {
    const format = sharp.format[id];
    if (format?.input.file) suffixes.push(...(format.input.fileSuffix ?? []).map((s: string) => s.toLowerCase()));
  }
  return suffixes;
}

const SUFFIXES = readableSuffixes();

/** Whether `path` names an image file loadImage can read (by extension, case-insensitive), as opposed to e.g. .npy. */
export function isImagePath(path: string): boolean {
  const lower = path.toLowerCase();
  return extname(lower) !== '' && SUFFIXES.some((s) => lower.endsWith(s));
}

function resolveSize(size: ImageLoadOptions['size']): [number, number] | undefined {
  if (size === undefined) return undefined;
  let dims: number[];
  if (typeof size === 'number') dims = [size, size];
  else if (Array.isArray(size) && size.length === 2) dims = size;
  else throw new InvalidArgumentError('--size', 'must be a number or [height, width]');
  for (const d of dims) {
    if (!(Number.isInteger(d) && d > 0)) {
      throw new InvalidArgumentError('--size', `dimensions must be positive integers, got ${String(d)}`);
    }
  }
  return [dims[0]!, dims[1]!];
}

/** Expand mean/std to one value per channel; a single value is broadcast. */
function perChannel(values: number[] | undefined, fallback: number, channels: number, name: string): number[] {
  if (values === undefined) return new Array<number>(channels).fill(fallback);
  if (values.length !== 1 && values.length !== channels) {
    throw new InvalidArgumentError(
      name,
      `has ${values.length} values but the image has ${channels} channel${channels === 1 ? '' : 's'}`,
      `give 1 value or ${channels}`,
    );
  }
  if (!values.every(Number.isFinite)) throw new InvalidArgumentError(name, `values must be finite numbers`);
  return values.length === 1 ? new Array<number>(channels).fill(values[0]!) : values.slice();
}

/** Decode, drop alpha, convert to 8-bit sRGB and resize; a sharp failure becomes a FileFormatError for `path`. */
async function decodeRgb(
  path: string,
  size: [number, number] | undefined,
  fit: 'fill' | 'cover' | 'contain',
): Promise<{ data: Uint8Array; width: number; height: number }> {
  try {
    // No EXIF auto-rotation: PIL/torchvision do not apply it either, and the tensor must match theirs.
    let pipeline = sharp(path, { failOn: 'error' });
    if (size) {
      const meta = await pipeline.metadata();
      if (meta.height !== size[0] || meta.width !== size[1]) {
        // Linear kernel, no JPEG shrink-on-load: closest to PIL's antialiased bilinear resize used by torchvision.
        pipeline = pipeline.resize({
          height: size[0],
          width: size[1],
          fit,
          position: 'centre',
          kernel: 'linear',
          fastShrinkOnLoad: false,
          background: { r: 0, g: 0, b: 0 },
        });
      }
    }
    // Dropping alpha (rather than compositing) matches PIL's convert('RGB'); grey images are expanded to 3 bands.
    const { data, info } = await pipeline
      .removeAlpha()
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 || data.length !== info.width * info.height * 3) {
      throw new Error(`unexpected decoded layout (${info.channels} channels, ${data.length} bytes)`);
    }
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height };
  } catch (err) {
    throw new FileFormatError(
      path,
      `cannot decode image: ${(err as Error).message}`,
      `supported image types: ${SUFFIXES.join(' ')}; give tensors as .npy instead`,
    );
  }
}

/**
 * Load an image file as a normalised NCHW float tensor plus the RGB image it was computed from.
 * Missing/unreadable/non-image files throw FileFormatError; inconsistent options throw InvalidArgumentError.
 */
export async function loadImage(path: string, options: ImageLoadOptions = {}): Promise<LoadedImage> {
  const { grayscale = false, channelOrder = 'rgb', scale = 255, fit = 'fill' } = options;
  const size = resolveSize(options.size);
  const channels = grayscale ? 1 : 3;
  const mean = perChannel(options.mean, 0, channels, '--mean');
  const std = perChannel(options.std, 1, channels, '--std');
  if (std.some((s) => s === 0)) throw new InvalidArgumentError('--std', 'values must be non-zero');
  if (!(Number.isFinite(scale) && scale > 0)) throw new InvalidArgumentError('--scale', `must be positive, got ${scale}`);
  if (channelOrder !== 'rgb' && channelOrder !== 'bgr') {
    throw new InvalidArgumentError('--channel-order', `must be 'rgb' or 'bgr', got '${String(channelOrder)}'`);
  }
  if (!['fill', 'cover', 'contain'].includes(fit)) {
    throw new InvalidArgumentError('--fit', `must be 'fill', 'cover' or 'contain', got '${String(fit)}'`);
  }

  try {
    const st = await stat(path);
    if (st.isDirectory()) throw new FileFormatError(path, 'is a directory, not an image');
  } catch (err) {
    if (err instanceof FileFormatError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new FileFormatError(path, code === 'ENOENT' ? 'file not found' : `cannot read file: ${(err as Error).message}`);
  }

  const rgb = await decodeRgb(path, size, fit);
  const { width, height } = rgb;
  const plane = width * height;
  const tensor = new Float32Array(channels * plane);
  // Source RGB band feeding each tensor channel.
  const sourceBand = channelOrder === 'bgr' ? [2, 1, 0] : [0, 1, 2];
  for (let p = 0; p < plane; p++) {
    const r = rgb.data[p * 3]!;
    const g = rgb.data[p * 3 + 1]!;
    const b = rgb.data[p * 3 + 2]!;
    if (grayscale) {
      // PIL's integer form of L = 0.299 R + 0.587 G + 0.114 B, so greyscale tensors match torchvision's.
      const l = (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16;
      tensor[p] = (l / scale - mean[0]!) / std[0]!;
    } else {
      const px = [r, g, b];
      for (let c = 0; c < 3; c++) {
        tensor[c * plane + p] = (px[sourceBand[c]!]! / scale - mean[c]!) / std[c]!;
      }
    }
  }
  return {
    tensor,
    shape: [1, channels, height, width],
    display: { data: rgb.data, width, height, channels: 3 },
  };
}
