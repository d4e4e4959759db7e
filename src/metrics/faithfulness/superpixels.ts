import type { Layout } from '../core/spatial.js';

/**
 * SLIC superpixels (Achanta et al. 2012) on a [C, H, W] sample: k-means on (channel values, position) with
 * centres started on a regular grid (≈ nSegments cells, S = the cell side) and searched in a 2S window; distance
 * √(d_c² + (d_s / S)² · compactness²). Channel values are used as they are (no Lab conversion: model inputs are
 * rarely RGB in [0, 255]). Returns a label per pixel, labels 0..k−1 with no empty label.
 */
export function slic(x: Float32Array, l: Layout, nSegments: number, compactness: number, iterations: number): Int32Array {
  const { C, H, W } = l;
  const HW = H * W;
  // A grid of nx × ny ≈ nSegments centres with the aspect ratio of the image.
  const nx = Math.min(W, Math.max(1, Math.round(Math.sqrt((nSegments * W) / H))));
  const ny = Math.min(H, Math.max(1, Math.round(nSegments / nx)));
  const S = Math.max(1, Math.sqrt(HW / (nx * ny)));
  const centres: number[][] = [];
  for (let i = 0; i < ny; i++) {
    for (let j = 0; j < nx; j++) {
      const rr = Math.min(H - 1, Math.floor(((i + 0.5) * H) / ny));
      const cc = Math.min(W - 1, Math.floor(((j + 0.5) * W) / nx));
      const v = Array.from({ length: C }, (_, ch) => x[ch * HW + rr * W + cc]!);
      centres.push([rr, cc, ...v]);
    }
  }
  if (centres.length === 0) centres.push([0, 0, ...Array.from({ length: C }, (_, ch) => x[ch * HW]!)]);
  const labels = new Int32Array(HW).fill(-1);
  const dist = new Float64Array(HW);
  const m2 = (compactness * compactness) / (S * S);
  for (let it = 0; it < iterations; it++) {
    dist.fill(Infinity);
    centres.forEach((ctr, k) => {
      const r0 = Math.max(0, Math.floor(ctr[0]! - 2 * S));
      const r1 = Math.min(H - 1, Math.ceil(ctr[0]! + 2 * S));
      const c0 = Math.max(0, Math.floor(ctr[1]! - 2 * S));
      const c1 = Math.min(W - 1, Math.ceil(ctr[1]! + 2 * S));
      for (let r = r0; r <= r1; r++) {
        for (let c = c0; c <= c1; c++) {
          const p = r * W + c;
          let dc = 0;
          for (let ch = 0; ch < C; ch++) dc += (x[ch * HW + p]! - ctr[2 + ch]!) ** 2;
          const D = dc + ((r - ctr[0]!) ** 2 + (c - ctr[1]!) ** 2) * m2;
          if (D < dist[p]!) {
            dist[p] = D;
            labels[p] = k;
          }
        }
      }
    });
    const acc = centres.map(() => new Float64Array(3 + C));
    for (let p = 0; p < HW; p++) {
      const a = acc[labels[p]!]!;
      a[0]! += Math.floor(p / W);
      a[1]! += p % W;
      for (let ch = 0; ch < C; ch++) a[2 + ch]! += x[ch * HW + p]!;
      a[2 + C]! += 1;
    }
    acc.forEach((a, k) => {
      const n = a[2 + C]!;
      if (n > 0) for (let j = 0; j < 2 + C; j++) centres[k]![j] = a[j]! / n;
    });
  }
  // Relabel 0..k−1 in order of first appearance, dropping empty clusters.
  const map = new Map<number, number>();
  for (let p = 0; p < HW; p++) {
    if (!map.has(labels[p]!)) map.set(labels[p]!, map.size);
    labels[p] = map.get(labels[p]!)!;
  }
  return labels;
}
