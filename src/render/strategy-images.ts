/**
 * Pictures of strategy analyses (shared by the CLI and the README's figures): a scatter of a 2-D embedding coloured by
 * cluster, and a strip of heatmaps side by side (cluster means, prototype samples). Plain RGB rasters, so they
 * encode with writePng like every other image of xsys and render in the browser too.
 */
import { attributionToHeatmap, type RgbImage } from './heatmap.js';

/** Ten well-separated categorical colours (Tableau 10); clusters beyond ten repeat them. */
export const CLUSTER_COLORS: readonly [number, number, number][] = [
  [31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40], [148, 103, 189],
  [140, 86, 75], [227, 119, 194], [127, 127, 127], [188, 189, 34], [23, 190, 207],
];

/** n points at coordinates in [0,1]² (n·2 values) as filled squares, coloured by label, on a white square image. */
export function scatterImage(embedding: ArrayLike<number>, labels: ArrayLike<number>, size = 320, dot = 2): RgbImage {
  const data = new Uint8Array(size * size * 3).fill(255);
  const margin = dot + 4;
  const span = size - 2 * margin;
  const n = labels.length;
  for (let i = 0; i < n; i++) {
    const cx = Math.round(margin + embedding[i * 2]! * span);
    // Image rows grow downwards; keep the embedding's y axis pointing up.
    const cy = Math.round(margin + (1 - embedding[i * 2 + 1]!) * span);
    const [r, g, b] = CLUSTER_COLORS[((labels[i]! % CLUSTER_COLORS.length) + CLUSTER_COLORS.length) % CLUSTER_COLORS.length]!;
    for (let y = cy - dot; y <= cy + dot; y++) {
      for (let x = cx - dot; x <= cx + dot; x++) {
        if (x < 0 || y < 0 || x >= size || y >= size) continue;
        const o = (y * size + x) * 3;
        data[o] = r;
        data[o + 1] = g;
        data[o + 2] = b;
      }
    }
  }
  return { data, width: size, height: size, channels: 3 };
}

/** Heatmaps (each h·w) rendered with the bwr map (each scaled by its own max |value|) left to right, `gap` white pixels apart. */
export function heatmapStrip(maps: readonly ArrayLike<number>[], h: number, w: number, gap = 2): RgbImage {
  const count = Math.max(1, maps.length);
  const width = count * w + (count - 1) * gap;
  const data = new Uint8Array(width * h * 3).fill(255);
  maps.forEach((m, k) => {
    const img = attributionToHeatmap(Float32Array.from(m), [1, h, w]);
    for (let y = 0; y < h; y++) data.set(img.data.subarray(y * w * 3, (y + 1) * w * 3), (y * width + k * (w + gap)) * 3);
  });
  return { data, width, height: h, channels: 3 };
}

/** Greyscale uint8 images (each h·w) left to right as RGB, for showing members next to their heatmaps. */
export function imageStrip(images: Uint8Array, indices: readonly number[], h: number, w: number, gap = 2): RgbImage {
  const count = Math.max(1, indices.length);
  const width = count * w + (count - 1) * gap;
  const data = new Uint8Array(width * h * 3).fill(255);
  indices.forEach((idx, k) => {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const v = images[idx * h * w + y * w + x]!;
        const o = (y * width + k * (w + gap) + x) * 3;
        data[o] = v;
        data[o + 1] = v;
        data[o + 2] = v;
      }
    }
  });
  return { data, width, height: h, channels: 3 };
}
