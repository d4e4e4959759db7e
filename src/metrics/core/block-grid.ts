import { InvalidArgumentError } from '../../errors.js';
import type { ParamValue } from '../types.js';
import { baselineFor } from './baseline.js';
import { scoreTargets } from './batching.js';
import type { Layout } from './spatial.js';

/**
 * The patch grid of Quantus 0.6's RegionPerturbation and Selectivity: the image padded to a multiple of the patch
 * size on each spatial axis (half of the padding before, half after, the larger half after), cut into non-overlapping
 * size × size blocks over all channels, taken row-major. The padded image is what the metrics perturb: its padding
 * holds edge copies of the border, and a block that reaches into it sets those copies to the baseline too, so they
 * count in a 'mean' baseline taken later.
 */
export interface BlockGrid {
  /** The sample's layout. */
  layout: Layout;
  /** Height and width after padding. */
  Hp: number;
  Wp: number;
  top: number;
  left: number;
  /** Each block's flat indices into the padded sample, C × Hp × Wp. */
  blocks: Int32Array[];
}

/** Quantus' get_padding_size: (floor(t/2), ceil(t/2)) with t what makes `dim` a multiple of `size`. */
function padding(dim: number, size: number): [number, number] {
  const m = dim % size;
  if (m === 0) return [0, 0];
  const t = size - m;
  return [Math.floor(t / 2), Math.ceil(t / 2)];
}

export function blockGrid(metric: string, l: Layout, size: number): BlockGrid {
  if (!Number.isInteger(size) || size < 1 || size > Math.max(l.H, l.W)) {
    throw new InvalidArgumentError(`${metric}.patchSize`, `patch size ${size} does not fit a ${l.H}×${l.W} input`, `choose 1 ≤ patchSize ≤ ${Math.max(l.H, l.W)}`);
  }
  const [top, bottom] = padding(l.H, size);
  const [left, right] = padding(l.W, size);
  const Hp = l.H + top + bottom;
  const Wp = l.W + left + right;
  const blocks: Int32Array[] = [];
  for (let br = 0; br < Hp / size; br++) {
    for (let bc = 0; bc < Wp / size; bc++) {
      const idx = new Int32Array(l.C * size * size);
      let k = 0;
      for (let c = 0; c < l.C; c++) for (let r = br * size; r < (br + 1) * size; r++) for (let q = bc * size; q < (bc + 1) * size; q++) idx[k++] = (c * Hp + r) * Wp + q;
      blocks.push(idx);
    }
  }
  return { layout: l, Hp, Wp, top, left, blocks };
}

/** The sample edge-padded into the grid (numpy's pad mode 'edge'). */
export function edgePad(g: BlockGrid, x: ArrayLike<number>): Float32Array {
  const { C, H, W } = g.layout;
  const out = new Float32Array(C * g.Hp * g.Wp);
  for (let c = 0; c < C; c++) {
    for (let r = 0; r < g.Hp; r++) {
      const sr = Math.min(H - 1, Math.max(0, r - g.top));
      for (let q = 0; q < g.Wp; q++) out[(c * g.Hp + r) * g.Wp + q] = x[(c * H + sr) * W + Math.min(W - 1, Math.max(0, q - g.left))]!;
    }
  }
  return out;
}

/** The interior of a padded sample, written into `dst` (C × H × W). */
export function unpad(g: BlockGrid, padded: Float32Array, dst: Float32Array): void {
  const { C, H, W } = g.layout;
  for (let c = 0; c < C; c++) for (let r = 0; r < H; r++) dst.set(padded.subarray((c * g.Hp + r + g.top) * g.Wp + g.left, (c * g.Hp + r + g.top) * g.Wp + g.left + W), (c * H + r) * W);
}

/** Each block's attribution sum (the padding is zero). */
export function blockSums(g: BlockGrid, a: ArrayLike<number>): Float64Array {
  const { C, H, W } = g.layout;
  const padded = new Float64Array(C * g.Hp * g.Wp);
  for (let c = 0; c < C; c++) for (let r = 0; r < H; r++) for (let q = 0; q < W; q++) padded[(c * g.Hp + r + g.top) * g.Wp + q + g.left] = a[(c * H + r) * W + q]!;
  return Float64Array.from(g.blocks, (idx) => idx.reduce((s, j) => s + padded[j]!, 0));
}

/**
 * The target scores as blocks are removed cumulatively from each sample's edge-padded image, in `orders[i]`'s order,
 * `steps` per sample (Quantus 0.6's region perturbation and selectivity): row i·steps + t holds the score after the
 * (t + 1)-th removal. The baseline is taken from the padded, already perturbed image at every step.
 */
export async function scoreBlockRemoval(
  metric: string,
  ctx: Parameters<typeof scoreTargets>[1],
  grid: BlockGrid,
  p: { n: number; d: number; shape: readonly number[]; x: Float32Array; y: ArrayLike<number> },
  orders: readonly Int32Array[],
  steps: number,
  baseline: ParamValue,
  rand: () => number,
  softmax: boolean,
): Promise<Float64Array> {
  let padded: Float32Array = new Float32Array(0);
  return scoreTargets(metric, ctx, p.shape.slice(1), p.n * steps, (k, dst) => {
    const i = Math.floor(k / steps);
    const t = k % steps;
    if (t === 0) padded = edgePad(grid, p.x.subarray(i * p.d, (i + 1) * p.d));
    const fill = baselineFor(metric, baseline, padded, rand);
    for (const j of grid.blocks[orders[i]![t]!]!) padded[j] = fill[j]!;
    unpad(grid, padded, dst);
    return p.y[i]!;
  }, softmax);
}
