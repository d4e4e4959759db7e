import { InvalidArgumentError } from '../../errors.js';

/**
 * How a sample's features lie in the plane: [C, H, W] images (any leading dims fold into C), [H, W] maps, or
 * [d] vectors (H = 1, W = d). Patches span all channels, as Quantus' patches over the spatial axes do.
 */
export interface Layout {
  C: number;
  H: number;
  W: number;
}

export function layoutOf(shape: readonly number[]): Layout {
  const dims = shape.slice(1);
  if (dims.length === 1) return { C: 1, H: 1, W: dims[0]! };
  const H = dims[dims.length - 2]!;
  const W = dims[dims.length - 1]!;
  return { C: dims.slice(0, -2).reduce((p, v) => p * v, 1), H, W };
}

/** A rectangular patch [r0, r1) × [c0, c1) over all channels. */
export interface Patch {
  r0: number;
  r1: number;
  c0: number;
  c1: number;
}

/** Flat feature indices of a patch (all channels). */
export function patchIndices(l: Layout, p: Patch): number[] {
  const out: number[] = [];
  for (let c = 0; c < l.C; c++) for (let r = p.r0; r < p.r1; r++) for (let q = p.c0; q < p.c1; q++) out.push(c * l.H * l.W + r * l.W + q);
  return out;
}

/** Non-overlapping patches of `size` on a regular grid from the top-left corner (edge patches may be smaller). */
export function gridPatches(metric: string, l: Layout, size: number): Patch[] {
  checkSize(metric, l, size);
  const out: Patch[] = [];
  const sh = l.H === 1 ? 1 : size;
  for (let r = 0; r < l.H; r += sh) for (let c = 0; c < l.W; c += size) out.push({ r0: r, r1: Math.min(r + sh, l.H), c0: c, c1: Math.min(c + size, l.W) });
  return out;
}

/**
 * Patches of `size` at every top-left position, clipped at the border (Quantus pads by size − 1 and lets patches
 * run into the padding, which contributes nothing).
 */
export function slidingPatches(metric: string, l: Layout, size: number): Patch[] {
  checkSize(metric, l, size);
  const out: Patch[] = [];
  const sh = l.H === 1 ? 1 : size;
  for (let r = 0; r < l.H; r++) for (let c = 0; c < l.W; c++) out.push({ r0: r, r1: Math.min(r + sh, l.H), c0: c, c1: Math.min(c + size, l.W) });
  return out;
}

function checkSize(metric: string, l: Layout, size: number): void {
  if (!Number.isInteger(size) || size < 1 || size > Math.max(l.H, l.W)) {
    throw new InvalidArgumentError(`${metric}.patchSize`, `patch size ${size} does not fit a ${l.H}×${l.W} input`, `choose 1 ≤ patchSize ≤ ${Math.max(l.H, l.W)}`);
  }
}

export function overlaps(a: Patch, b: Patch): boolean {
  return a.r0 < b.r1 && b.r0 < a.r1 && a.c0 < b.c1 && b.c0 < a.c1;
}

/**
 * Summed-area table of a sample's attribution summed over channels: (H + 1) × (W + 1), so that any patch sum
 * costs four lookups (region perturbation ranks a patch at every pixel).
 */
export function summedArea(a: ArrayLike<number>, l: Layout): Float64Array {
  const { C, H, W } = l;
  const t = new Float64Array((H + 1) * (W + 1));
  for (let r = 0; r < H; r++) {
    let row = 0;
    for (let q = 0; q < W; q++) {
      for (let c = 0; c < C; c++) row += a[c * H * W + r * W + q]!;
      t[(r + 1) * (W + 1) + q + 1] = t[r * (W + 1) + q + 1]! + row;
    }
  }
  return t;
}

/** Sum over a patch from a summed-area table. */
export function rectSum(t: Float64Array, W: number, p: Patch): number {
  const w = W + 1;
  return t[p.r1 * w + p.c1]! - t[p.r0 * w + p.c1]! - t[p.r1 * w + p.c0]! + t[p.r0 * w + p.c0]!;
}
