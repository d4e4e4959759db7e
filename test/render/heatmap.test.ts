import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { FileFormatError, InputDataError, InvalidArgumentError } from '../../src/errors.js';
import { palette } from '../../src/render/colormaps.js';
import {
  attributionToHeatmap,
  overlay,
  upscaleFactor,
  type RgbImage,
} from '../../src/render/heatmap.js';
import { encodePng, writePng } from '../../src/render/png.js';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'xsys-heatmap-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const pixel = (img: { data: Uint8Array; width: number }, x: number, y: number): number[] =>
  Array.from(img.data.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3));
const entry = (pal: Uint8Array, i: number): number[] => Array.from(pal.subarray(i * 3, i * 3 + 3));

describe('attributionToHeatmap', () => {
  it('symmetric: max positive → top colour, its negative → bottom, zero → centre', () => {
    const img = attributionToHeatmap(new Float32Array([-1, 0, 1, 0.5]), [2, 2]);
    expect(img.width).toBe(2);
    expect(img.height).toBe(2);
    expect(img.channels).toBe(3);
    expect(pixel(img, 0, 0)).toEqual([0, 0, 255]); // bwr bottom: blue
    expect(pixel(img, 0, 1)).toEqual([255, 0, 0]); // bwr top: red
    // zero: (0 + 1) / 2 · 255 = 127.5 → palette entry 127
    expect(pixel(img, 1, 0)).toEqual(entry(palette('bwr'), 127));
    expect(pixel(img, 1, 0)).toEqual([253, 253, 255]);
    // 0.5: 0.75 · 255 = 191.25 → entry 191
    expect(pixel(img, 1, 1)).toEqual(entry(palette('bwr'), 191));
  });

  it('symmetric scaling uses max |v| even when only one sign is present', () => {
    const img = attributionToHeatmap(new Float32Array([0, 2, 4]), [1, 3], { cmap: 'coldnhot' });
    const pal = palette('coldnhot');
    expect(pixel(img, 0, 0)).toEqual(entry(pal, 127));
    expect(pixel(img, 1, 0)).toEqual(entry(pal, 191));
    expect(pixel(img, 2, 0)).toEqual([255, 255, 255]);
  });

  it('symmetric=false: min–max scaling', () => {
    const img = attributionToHeatmap(new Float32Array([2, 3, 4]), [1, 3], { symmetric: false, cmap: 'gray' });
    expect(pixel(img, 0, 0)).toEqual([0, 0, 0]);
    expect(pixel(img, 1, 0)).toEqual([127, 127, 127]);
    expect(pixel(img, 2, 0)).toEqual([255, 255, 255]);
  });

  it('sums channels of a [C,H,W] attribution (and accepts a batch axis of 1)', () => {
    // pixel 0: 1 + 2 − 4 = −1; pixel 1: 0.5 + 0.5 + 1 = 2
    const attr = new Float32Array([1, 0.5, 2, 0.5, -4, 1]);
    for (const shape of [[3, 1, 2], [1, 3, 1, 2]]) {
      const img = attributionToHeatmap(attr, shape, { cmap: 'gray' });
      // −1/2 → (−0.5 + 1)/2 · 255 = 63.75 → 63; 2 → 255
      expect(pixel(img, 0, 0)).toEqual([63, 63, 63]);
      expect(pixel(img, 1, 0)).toEqual([255, 255, 255]);
    }
  });

  it("channelReduce 'max-abs' keeps the signed value of largest magnitude", () => {
    const attr = new Float32Array([1, 0.5, 2, 0.5, -4, 1]); // pixel 0 → −4, pixel 1 → 1
    const img = attributionToHeatmap(attr, [3, 1, 2], { cmap: 'gray', channelReduce: 'max-abs' });
    expect(pixel(img, 0, 0)).toEqual([0, 0, 0]);
    expect(pixel(img, 1, 0)).toEqual([159, 159, 159]); // (1/4 + 1)/2 · 255 = 159.375
  });

  it('all-zero attribution gives a uniform centre colour, no NaN', () => {
    const img = attributionToHeatmap(new Float32Array(12), [3, 2, 2]);
    for (let y = 0; y < 2; y++) for (let x = 0; x < 2; x++) expect(pixel(img, x, y)).toEqual([253, 253, 255]);
    const flat = attributionToHeatmap(new Float32Array([5, 5]), [1, 2], { symmetric: false, cmap: 'gray' });
    expect(pixel(flat, 0, 0)).toEqual([127, 127, 127]);
  });

  it('applies level like Zennit', () => {
    const img = attributionToHeatmap(new Float32Array([-1, -0.6, 0.6, 1]), [1, 4], { level: 2 });
    // ±0.6 of the max is already saturated at level 2 (it would be 51 and 204 at level 1)
    expect(pixel(img, 1, 0)).toEqual([0, 0, 255]);
    expect(pixel(img, 2, 0)).toEqual([255, 0, 0]);
  });

  it('rejects non-finite values, wrong sizes and unknown colour maps', () => {
    expect(() => attributionToHeatmap(new Float32Array([0, Number.NaN]), [1, 2])).toThrow(InputDataError);
    expect(() => attributionToHeatmap(new Float32Array([0, Infinity]), [1, 2])).toThrow(/infinite/);
    expect(() => attributionToHeatmap(new Float32Array(5), [2, 2])).toThrow(InputDataError);
    expect(() => attributionToHeatmap(new Float32Array(8), [2, 1, 2, 2])).toThrow(InvalidArgumentError);
    expect(() => attributionToHeatmap(new Float32Array(4), [2, 2], { cmap: 'jet' })).toThrow(/--cmap/);
  });
});

describe('overlay', () => {
  const solid = (w: number, h: number, v: number): RgbImage => ({
    data: new Uint8Array(w * h * 3).fill(v),
    width: w,
    height: h,
    channels: 3,
  });

  it('blends with alpha', () => {
    expect(Array.from(overlay(solid(2, 2, 100), solid(2, 2, 200)).data)).toEqual(Array(12).fill(150));
    expect(Array.from(overlay(solid(1, 1, 100), solid(1, 1, 201), 0.25).data)).toEqual([125, 125, 125]);
    expect(Array.from(overlay(solid(1, 1, 100), solid(1, 1, 200), 0).data)).toEqual([100, 100, 100]);
  });

  it('resizes a smaller heatmap with nearest neighbour', () => {
    const heat: RgbImage = { data: new Uint8Array([0, 0, 0, 255, 255, 255, 10, 10, 10, 20, 20, 20]), width: 2, height: 2, channels: 3 };
    const out = overlay(solid(4, 4, 0), heat, 1);
    expect(out.width).toBe(4);
    expect(out.height).toBe(4);
    expect(pixel(out, 0, 0)).toEqual([0, 0, 0]);
    expect(pixel(out, 1, 1)).toEqual([0, 0, 0]);
    expect(pixel(out, 2, 0)).toEqual([255, 255, 255]);
    expect(pixel(out, 3, 1)).toEqual([255, 255, 255]);
    expect(pixel(out, 0, 3)).toEqual([10, 10, 10]);
    expect(pixel(out, 3, 3)).toEqual([20, 20, 20]);
  });

  it('rejects bad alpha and inconsistent images', () => {
    expect(() => overlay(solid(1, 1, 0), solid(1, 1, 0), 1.5)).toThrow(InvalidArgumentError);
    const broken = { data: new Uint8Array(5), width: 2, height: 2, channels: 3 as const };
    expect(() => overlay(broken, solid(2, 2, 0))).toThrow(/needs 12 bytes, got 5/);
  });
});

describe('encodePng / writePng', () => {
  it('encodes a PNG that decodes to the same pixels', async () => {
    const img = attributionToHeatmap(new Float32Array([-1, 0, 1, 0.25, -0.25, 0.75]), [2, 3]);
    const png = await encodePng(img);
    expect(Array.from(png.subarray(1, 4))).toEqual([0x50, 0x4e, 0x47]); // "PNG"
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height, info.channels]).toEqual([3, 2, 3]);
    expect(Array.from(data)).toEqual(Array.from(img.data));
  });

  it('upscales 28×28 to 224×224 in crisp 8×8 blocks', async () => {
    const attr = new Float32Array(28 * 28).map((_, i) => (i % 2 === 0 ? 1 : -1));
    const img = attributionToHeatmap(attr, [28, 28]);
    const factor = upscaleFactor(28, 28);
    expect(factor).toBe(8);
    const { data, info } = await sharp(await encodePng(img, factor)).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([224, 224]);
    const at = (x: number, y: number): number[] => Array.from(data.subarray((y * 224 + x) * 3, (y * 224 + x) * 3 + 3));
    // source pixel (0,0) is red, (1,0) is blue; its block covers x 8..15
    expect(at(0, 0)).toEqual([255, 0, 0]);
    expect(at(7, 7)).toEqual([255, 0, 0]);
    expect(at(8, 0)).toEqual([0, 0, 255]);
    expect(at(15, 7)).toEqual([0, 0, 255]);
    expect(at(223, 223)).toEqual(pixel(img, 27, 27));
  });

  it('encodes greyscale images and validates scaleUp', async () => {
    const grey = { data: new Uint8Array([0, 128, 255, 7]), width: 2, height: 2, channels: 1 as const };
    const meta = await sharp(await encodePng(grey, 3)).metadata();
    expect([meta.width, meta.height, meta.channels]).toEqual([6, 6, 1]);
    await expect(encodePng(grey, 0)).rejects.toThrow(InvalidArgumentError);
    await expect(encodePng(grey, 1.5)).rejects.toThrow(/scaleUp/);
  });

  it('upscaleFactor targets about 224 pixels on the longer side', () => {
    expect(upscaleFactor(32, 32)).toBe(7);
    expect(upscaleFactor(224, 224)).toBe(1);
    expect(upscaleFactor(500, 300)).toBe(1);
    expect(upscaleFactor(28, 14, 56)).toBe(2);
  });

  it('writePng writes atomically', async () => {
    const dir = await mkdtemp(join(tmp, 'png-'));
    const path = join(dir, 'heat.png');
    const img = attributionToHeatmap(new Float32Array([1, -1]), [1, 2]);
    await writePng(path, img, 2);
    expect(await readdir(dir)).toEqual(['heat.png']);
    const meta = await sharp(path).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 4, 2]);
    // Each source pixel became a 2×2 block: +1 → red, −1 → blue.
    const { data } = await sharp(path).raw().toBuffer({ resolveWithObject: true });
    const at = (x: number, y: number) => Array.from(data.subarray((y * 4 + x) * 3, (y * 4 + x) * 3 + 3));
    expect([at(0, 0), at(1, 1), at(2, 0), at(3, 1)]).toEqual([[255, 0, 0], [255, 0, 0], [0, 0, 255], [0, 0, 255]]);
    await expect(writePng(join(dir, 'missing', 'x.png'), img)).rejects.toThrow(FileFormatError);
  });
});
