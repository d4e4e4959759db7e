import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { FileFormatError, InvalidArgumentError } from '../../src/errors.js';
import { isImagePath, loadImage } from '../../src/io/image.js';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'xsys-image-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** Write raw interleaved pixels as a lossless PNG and return its path. */
async function png(name: string, pixels: number[], width: number, height: number, channels: 1 | 2 | 3 | 4): Promise<string> {
  const path = join(tmp, name);
  let img = sharp(Buffer.from(pixels), { raw: { width, height, channels } });
  // Without this sharp stores 1- and 2-channel data as RGB(A); we want real greyscale PNGs.
  if (channels <= 2) img = img.toColourspace('b-w');
  await img.png().toFile(path);
  expect((await sharp(path).metadata()).channels).toBe(channels);
  return path;
}

// 2×2 RGB image, row-major: (10,20,30) (40,50,60) / (70,80,90) (255,0,128)
const RGB = [10, 20, 30, 40, 50, 60, 70, 80, 90, 255, 0, 128];
const planar = (px: number[], band: number): number[] => [0, 1, 2, 3].map((p) => px[p * 3 + band]!);

describe('loadImage', () => {
  it('produces NCHW pixel/255 values with per-channel mean/std', async () => {
    const path = await png('rgb.png', RGB, 2, 2, 3);
    const mean = [0.485, 0.456, 0.406];
    const std = [0.229, 0.224, 0.225];
    const { tensor, shape, display } = await loadImage(path, { mean, std });
    expect(shape).toEqual([1, 3, 2, 2]);
    const expected: number[] = [];
    for (let c = 0; c < 3; c++) for (const v of planar(RGB, c)) expected.push(Math.fround((v / 255 - mean[c]!) / std[c]!));
    expect(Array.from(tensor)).toEqual(expected);
    expect(display.width).toBe(2);
    expect(display.height).toBe(2);
    expect(display.channels).toBe(3);
    expect(Array.from(display.data)).toEqual(RGB);
  });

  it('defaults to pixel/255 without normalisation, and scale changes the divisor', async () => {
    const path = await png('rgb-plain.png', RGB, 2, 2, 3);
    const plain = await loadImage(path);
    expect(Array.from(plain.tensor)).toEqual([0, 1, 2].flatMap((c) => planar(RGB, c).map((v) => Math.fround(v / 255))));
    const raw = await loadImage(path, { scale: 1 });
    expect(Array.from(raw.tensor)).toEqual([0, 1, 2].flatMap((c) => planar(RGB, c)));
  });

  it('broadcasts a single mean/std to every channel', async () => {
    const path = await png('rgb-bc.png', RGB, 2, 2, 3);
    const { tensor } = await loadImage(path, { mean: [0.5], std: [0.25] });
    expect(tensor[0]).toBe(Math.fround((10 / 255 - 0.5) / 0.25));
    expect(tensor[4 + 3]).toBe(Math.fround((0 / 255 - 0.5) / 0.25)); // G of pixel 3
    expect(tensor[8 + 3]).toBe(Math.fround((128 / 255 - 0.5) / 0.25)); // B of pixel 3
  });

  it('orders channels BGR on request, with mean/std in tensor order', async () => {
    const path = await png('rgb-bgr.png', RGB, 2, 2, 3);
    const { tensor } = await loadImage(path, { channelOrder: 'bgr', scale: 1, mean: [1, 2, 3] });
    expect(Array.from(tensor.subarray(0, 4))).toEqual(planar(RGB, 2).map((v) => v - 1));
    expect(Array.from(tensor.subarray(4, 8))).toEqual(planar(RGB, 1).map((v) => v - 2));
    expect(Array.from(tensor.subarray(8, 12))).toEqual(planar(RGB, 0).map((v) => v - 3));
  });

  it('converts to greyscale with PIL luma weights', async () => {
    const path = await png('grey-from-rgb.png', [255, 0, 0, 0, 255, 0, 0, 0, 255, 100, 150, 200], 2, 2, 3);
    const { tensor, shape, display } = await loadImage(path, { grayscale: true, scale: 1 });
    expect(shape).toEqual([1, 1, 2, 2]);
    // PIL convert('L'): red 76, green 150, blue 29, (100,150,200) → 141
    expect(Array.from(tensor)).toEqual([76, 150, 29, 141]);
    expect(display.channels).toBe(3);
    expect(Array.from(display.data.subarray(0, 3))).toEqual([255, 0, 0]);
  });

  it('keeps the values of single-channel images, MNIST style', async () => {
    const path = await png('mnist.png', [0, 64, 128, 255], 2, 2, 1);
    const { tensor, shape, display } = await loadImage(path, { grayscale: true, mean: [0.1307], std: [0.3081] });
    expect(shape).toEqual([1, 1, 2, 2]);
    expect(Array.from(tensor)).toEqual([0, 64, 128, 255].map((v) => Math.fround((v / 255 - 0.1307) / 0.3081)));
    expect(Array.from(display.data)).toEqual([0, 0, 0, 64, 64, 64, 128, 128, 128, 255, 255, 255]);
    // Without grayscale a grey image becomes three identical channels.
    const rgb = await loadImage(path, { scale: 1 });
    expect(rgb.shape).toEqual([1, 3, 2, 2]);
    expect(Array.from(rgb.tensor)).toEqual([0, 64, 128, 255, 0, 64, 128, 255, 0, 64, 128, 255]);
  });

  it('drops the alpha channel', async () => {
    const path = await png('rgba.png', [10, 20, 30, 0, 40, 50, 60, 128, 70, 80, 90, 255, 1, 2, 3, 7], 2, 2, 4);
    const { tensor } = await loadImage(path, { scale: 1 });
    expect(Array.from(tensor)).toEqual([10, 40, 70, 1, 20, 50, 80, 2, 30, 60, 90, 3]);
    const greyAlpha = await png('grey-alpha.png', [10, 0, 50, 255, 90, 128, 200, 3], 2, 2, 2);
    const g = await loadImage(greyAlpha, { grayscale: true, scale: 1 });
    expect(Array.from(g.tensor)).toEqual([10, 50, 90, 200]);
  });

  it('resizes to [height, width] and to a square', async () => {
    const w = 6;
    const h = 4;
    const uniform = Array.from({ length: w * h }, () => [200, 100, 50]).flat();
    const path = await png('uniform.png', uniform, w, h, 3);
    const a = await loadImage(path, { size: [2, 3], scale: 1 });
    expect(a.shape).toEqual([1, 3, 2, 3]);
    expect(a.display.width).toBe(3);
    expect(a.display.height).toBe(2);
    expect(a.display.data.length).toBe(18);
    // A uniform image stays uniform under any resampling.
    expect(Array.from(a.tensor)).toEqual([...Array(6).fill(200), ...Array(6).fill(100), ...Array(6).fill(50)]);
    const b = await loadImage(path, { size: 5 });
    expect(b.shape).toEqual([1, 3, 5, 5]);
    expect(b.tensor.length).toBe(75);
  });

  it("does not resample when the size already matches", async () => {
    const path = await png('same.png', RGB, 2, 2, 3);
    const { tensor } = await loadImage(path, { size: 2, scale: 1 });
    expect(Array.from(tensor)).toEqual([0, 1, 2].flatMap((c) => planar(RGB, c)));
  });

  it("fit 'contain' pads with black, 'cover' crops", async () => {
    const white = Array(4 * 2 * 3).fill(255);
    const path = await png('wide.png', white, 4, 2, 3);
    const contained = await loadImage(path, { size: 4, fit: 'contain', grayscale: true, scale: 1 });
    expect(contained.shape).toEqual([1, 1, 4, 4]);
    expect(Array.from(contained.tensor)).toEqual([0, 0, 0, 0, 255, 255, 255, 255, 255, 255, 255, 255, 0, 0, 0, 0]);
    const covered = await loadImage(path, { size: 2, fit: 'cover', grayscale: true, scale: 1 });
    expect(covered.shape).toEqual([1, 1, 2, 2]);
    expect(Array.from(covered.tensor)).toEqual([255, 255, 255, 255]);
  });

  it('reads JPEG', async () => {
    const path = join(tmp, 'photo.jpg');
    await sharp({ create: { width: 8, height: 5, channels: 3, background: { r: 0, g: 128, b: 255 } } })
      .jpeg({ quality: 100 })
      .toFile(path);
    const { shape, display } = await loadImage(path);
    expect(shape).toEqual([1, 3, 5, 8]);
    expect(Math.abs(display.data[1]! - 128)).toBeLessThanOrEqual(2);
  });

  it('rejects mean/std of the wrong length and bad options', async () => {
    const path = await png('rgb-bad.png', RGB, 2, 2, 3);
    await expect(loadImage(path, { mean: [0.1, 0.2] })).rejects.toThrow(InvalidArgumentError);
    await expect(loadImage(path, { mean: [0.1, 0.2] })).rejects.toThrow(/--mean: has 2 values but the image has 3 channels/);
    await expect(loadImage(path, { grayscale: true, std: [0.2, 0.2, 0.2] })).rejects.toThrow(/--std: has 3 values/);
    await expect(loadImage(path, { std: [0] })).rejects.toThrow(/--std/);
    await expect(loadImage(path, { size: [0, 4] })).rejects.toThrow(/--size/);
    await expect(loadImage(path, { size: 2.5 })).rejects.toThrow(/--size/);
    await expect(loadImage(path, { scale: 0 })).rejects.toThrow(/--scale/);
  });

  it('reports missing and non-image files as FileFormatError', async () => {
    const missing = join(tmp, 'missing.png');
    await expect(loadImage(missing)).rejects.toThrow(FileFormatError);
    await expect(loadImage(missing)).rejects.toThrow(`${missing}: file not found`);

    const fake = join(tmp, 'fake.png');
    await writeFile(fake, 'definitely not a PNG');
    const err = await loadImage(fake).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FileFormatError);
    expect((err as FileFormatError).message).toMatch(/fake\.png: cannot decode image/);
    expect((err as FileFormatError).hint).toMatch(/png/);

    await expect(loadImage(tmp)).rejects.toThrow(/is a directory/);
  });
});

describe('isImagePath', () => {
  it('accepts formats sharp reads', () => {
    for (const p of ['a.png', 'dir/b.JPG', 'c.jpeg', 'd.webp', 'e.gif', 'f.tif', 'g.TIFF', 'h.avif']) {
      expect(isImagePath(p), p).toBe(true);
    }
  });
  it('rejects other files', () => {
    for (const p of ['x.npy', 'y.bmp', 'model.onnx', 'png', 'notes.txt', 'dir.png/file']) {
      expect(isImagePath(p), p).toBe(false);
    }
  });
});
