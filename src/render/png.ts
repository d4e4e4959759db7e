/** PNG encoding and writing (Node only: sharp and the file system), apart from heatmap.ts so rendering runs in the browser. */
import sharp from 'sharp';

import { InvalidArgumentError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { checkImage, resizeNearest, type RasterImage } from './heatmap.js';

/**
 * Encode an image as PNG. `scaleUp` is an integer factor (default 1) for nearest-neighbour enlargement: each pixel
 * becomes a scaleUp×scaleUp block, so tiny inputs such as 28×28 MNIST are visible without blurring the attribution.
 */
export async function encodePng(img: RasterImage, scaleUp = 1): Promise<Uint8Array> {
  const channels = checkImage(img, 'image');
  if (!(Number.isInteger(scaleUp) && scaleUp >= 1)) {
    throw new InvalidArgumentError('scaleUp', `must be a positive integer, got ${scaleUp}`);
  }
  const width = img.width * scaleUp;
  const height = img.height * scaleUp;
  const pixels = scaleUp === 1 ? img.data : resizeNearest(img, width, height);
  let pipeline = sharp(pixels, { raw: { width, height, channels } });
  // sharp would otherwise store single-channel data as RGB; keep greyscale PNGs greyscale.
  if (channels === 1) pipeline = pipeline.toColourspace('b-w');
  const png = await pipeline.png().toBuffer();
  return new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
}

/** Write an image as a PNG file atomically (temporary file + rename); see encodePng for `scaleUp`. */
export async function writePng(path: string, img: RasterImage, scaleUp = 1): Promise<void> {
  await writeFileAtomic(path, await encodePng(img, scaleUp));
}
