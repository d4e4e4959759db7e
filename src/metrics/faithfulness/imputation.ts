import type { Layout } from '../core/spatial.js';
import { gaussian } from '../../methods/random.js';

const NEIGHBOURS: [number, number, number][] = [
  [-1, 0, 1 / 6], [1, 0, 1 / 6], [0, -1, 1 / 6], [0, 1, 1 / 6],
  [-1, -1, 1 / 12], [-1, 1, 1 / 12], [1, -1, 1 / 12], [1, 1, 1 / 12],
];

/**
 * ROAD's noisy linear imputation (Rong et al. 2022), per channel: every removed pixel becomes the weighted mean
 * of its 8 neighbours (1/6 edge, 1/12 diagonal), solved jointly as a sparse linear system — here by Gauss–Seidel
 * sweeps until the largest update is below `tol` or `maxSweeps` is reached — plus N(0, noise²) noise.
 * `removed` flags the features (all channels) to impute; `x` is written in place.
 */
export function noisyLinearImputation(x: Float32Array, l: Layout, removed: Uint8Array, noise: number, rand: () => number, maxSweeps = 500, tol = 1e-6): void {
  const { C, H, W } = l;
  const HW = H * W;
  for (let c = 0; c < C; c++) {
    const off = c * HW;
    const unknown: number[] = [];
    let knownSum = 0;
    let knownN = 0;
    for (let p = 0; p < HW; p++) {
      if (removed[off + p]) unknown.push(p);
      else {
        knownSum += x[off + p]!;
        knownN++;
      }
    }
    if (unknown.length === 0) continue;
    const start = knownN ? knownSum / knownN : 0;
    for (const p of unknown) x[off + p] = start;
    for (let sweep = 0; sweep < maxSweeps && knownN > 0; sweep++) {
      let change = 0;
      for (const p of unknown) {
        const r = Math.floor(p / W);
        const q = p % W;
        let s = 0;
        let w = 0;
        for (const [dr, dq, wt] of NEIGHBOURS) {
          const rr = r + dr;
          const qq = q + dq;
          if (rr < 0 || rr >= H || qq < 0 || qq >= W) continue;
          s += wt * x[off + rr * W + qq]!;
          w += wt;
        }
        const v = s / w;
        change = Math.max(change, Math.abs(v - x[off + p]!));
        x[off + p] = v;
      }
      if (change < tol) break;
    }
    if (noise > 0) for (const p of unknown) x[off + p] = x[off + p]! + noise * gaussian(rand);
  }
}
