import type { Layout } from '../core/spatial.js';
import { gaussian } from '../../seeded-random.js';

const NEIGHBOURS: [number, number, number][] = [
  [-1, 0, 1 / 6], [1, 0, 1 / 6], [0, -1, 1 / 6], [0, 1, 1 / 6],
  [-1, -1, 1 / 12], [-1, 1, 1 / 12], [1, -1, 1 / 12], [1, 1, 1 / 12],
];

/**
 * ROAD's noisy linear imputation (Rong et al. 2022), per channel: every removed pixel becomes the weighted mean
 * of its in-image neighbours (1/6 edge, 1/12 diagonal), all removed pixels solved jointly — the sparse system
 * Σₙ wₙ (v_u − v_n) = 0 — by Jacobi-preconditioned conjugate gradients (the system is symmetric positive definite
 * when the removed region touches a kept pixel), to a relative residual of `tol` (1e-6: far below the 0.01 noise ROAD adds) or `maxIterations`; then
 * N(0, noise²) noise is added to the imputed pixels. `removed` flags the features (all channels) to impute;
 * `x` is written in place. A channel with nothing kept is filled with 0 (plus noise): nothing to interpolate from.
 */
export function noisyLinearImputation(x: Float32Array, l: Layout, removed: Uint8Array, noise: number, rand: () => number, maxIterations = 2000, tol = 1e-6): void {
  const { C, H, W } = l;
  const HW = H * W;
  const index = new Int32Array(HW);
  for (let c = 0; c < C; c++) {
    const off = c * HW;
    const unknown: number[] = [];
    index.fill(-1);
    for (let p = 0; p < HW; p++) if (removed[off + p]) index[p] = unknown.push(p) - 1;
    const m = unknown.length;
    if (m === 0) continue;
    if (m === HW) {
      for (let p = 0; p < HW; p++) x[off + p] = noise > 0 ? noise * gaussian(rand) : 0;
      continue;
    }
    // A v = b with A = diag(Σ w) − W_unknown, b = Σ w · known neighbours.
    const diag = new Float64Array(m);
    const b = new Float64Array(m);
    // Unknown neighbours in CSR-like slots of 8 per pixel (typed arrays: the hole can hold 10⁵ pixels).
    const nbr = new Int32Array(m * 8);
    const nbw = new Float64Array(m * 8);
    const cnt = new Uint8Array(m);
    for (let u = 0; u < m; u++) {
      const p = unknown[u]!;
      const r = Math.floor(p / W);
      const q = p % W;
      for (const [dr, dq, w] of NEIGHBOURS) {
        const rr = r + dr;
        const qq = q + dq;
        if (rr < 0 || rr >= H || qq < 0 || qq >= W) continue;
        const n = rr * W + qq;
        diag[u]! += w;
        if (index[n]! >= 0) {
          nbr[u * 8 + cnt[u]!] = index[n]!;
          nbw[u * 8 + cnt[u]!] = w;
          cnt[u]!++;
        } else b[u]! += w * x[off + n]!;
      }
    }
    const apply = (v: Float64Array, out: Float64Array): void => {
      for (let u = 0; u < m; u++) {
        let s = diag[u]! * v[u]!;
        for (let t = u * 8; t < u * 8 + cnt[u]!; t++) s -= nbw[t]! * v[nbr[t]!]!;
        out[u] = s;
      }
    };
    // Start from the mean of the kept pixels.
    let kept = 0;
    for (let p = 0; p < HW; p++) if (index[p]! < 0) kept += x[off + p]!;
    const v = new Float64Array(m).fill(kept / (HW - m));
    const r = new Float64Array(m);
    apply(v, r);
    let bnorm = 0;
    for (let u = 0; u < m; u++) {
      r[u] = b[u]! - r[u]!;
      bnorm += b[u]! * b[u]!;
    }
    const z = Float64Array.from(r, (val, u) => val / diag[u]!);
    const dir = Float64Array.from(z);
    const Ad = new Float64Array(m);
    let rz = 0;
    for (let u = 0; u < m; u++) rz += r[u]! * z[u]!;
    const stop = tol * tol * Math.max(bnorm, 1e-30);
    for (let it = 0; it < maxIterations; it++) {
      let rr = 0;
      for (let u = 0; u < m; u++) rr += r[u]! * r[u]!;
      if (rr <= stop) break;
      apply(dir, Ad);
      let dAd = 0;
      for (let u = 0; u < m; u++) dAd += dir[u]! * Ad[u]!;
      if (!(dAd > 0)) break;
      const alpha = rz / dAd;
      for (let u = 0; u < m; u++) {
        v[u]! += alpha * dir[u]!;
        r[u]! -= alpha * Ad[u]!;
        z[u] = r[u]! / diag[u]!;
      }
      let rzNew = 0;
      for (let u = 0; u < m; u++) rzNew += r[u]! * z[u]!;
      const beta = rzNew / rz;
      rz = rzNew;
      for (let u = 0; u < m; u++) dir[u] = z[u]! + beta * dir[u]!;
    }
    for (let u = 0; u < m; u++) x[off + unknown[u]!] = v[u]! + (noise > 0 ? noise * gaussian(rand) : 0);
  }
}
