/**
 * Exact k-nearest-neighbour search and the symmetric kNN affinity graph SpRAy clusters on. Brute force through the
 * Gram identity ‖a−b‖² = ‖a‖² + ‖b‖² − 2a·b, so the inner loop is a dot product over contiguous memory;
 * for a few thousand heatmaps of a few hundred features this is faster than building a tree, and exact.
 */
import { InvalidArgumentError } from '../errors.js';
import type { Points } from './points.js';

export interface Knn {
  /** n·k neighbour indices (nearest first), self excluded. */
  indices: Int32Array;
  /** n·k Euclidean distances matching `indices`. */
  distances: Float64Array;
  k: number;
}

/** Sparse symmetric matrix in compressed-row form. */
export interface Csr {
  n: number;
  rowPtr: Int32Array;
  cols: Int32Array;
  values: Float64Array;
}

export function knn(p: Points, k: number): Knn {
  const { n, d, data } = p;
  if (!Number.isInteger(k) || k < 1 || k >= n) throw new InvalidArgumentError('neighbors', `must be 1–${n - 1} for ${n} points, got ${k}`);
  const sq = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += data[i * d + j]! ** 2;
    sq[i] = s;
  }
  // Each row's k best so far, sorted ascending; filled[i] of them are set. Every pair is computed once and offered to
  // both rows' lists (the distance is symmetric), which halves the dominant cost, the n²/2 dot products.
  const bestD = new Float64Array(n * k).fill(Infinity);
  const bestI = new Int32Array(n * k).fill(-1);
  const offer = (row: number, m: number, v: number) => {
    const o = row * k;
    if (v >= bestD[o + k - 1]!) return;
    let pos = k - 1;
    while (pos > 0 && (bestD[o + pos - 1]! > v || (bestD[o + pos - 1] === v && bestI[o + pos - 1]! > m))) {
      bestD[o + pos] = bestD[o + pos - 1]!;
      bestI[o + pos] = bestI[o + pos - 1]!;
      pos--;
    }
    bestD[o + pos] = v;
    bestI[o + pos] = m;
  };
  const dot = (a: number, b: number) => {
    let s = 0;
    for (let j = 0; j < d; j++) s += data[a * d + j]! * data[b * d + j]!;
    return s;
  };
  // Rows in blocks of four: each row m beyond the block is read once for four dot products (the loop is bound by
  // memory reads, not arithmetic). Every row still receives its offers in ascending order of the other index, and
  // each dot product sums in the same order, so ties and results are those of the plain double loop.
  const B = 4;
  for (let i0 = 0; i0 < n; i0 += B) {
    const i1 = Math.min(n, i0 + B);
    for (let i = i0; i < i1; i++) {
      for (let m = i + 1; m < i1; m++) {
        const v = sq[i]! + sq[m]! - 2 * dot(i, m);
        offer(i, m, v);
        offer(m, i, v);
      }
    }
    if (i1 - i0 < B) {
      for (let i = i0; i < i1; i++) {
        for (let m = i1; m < n; m++) {
          const v = sq[i]! + sq[m]! - 2 * dot(i, m);
          offer(i, m, v);
          offer(m, i, v);
        }
      }
      continue;
    }
    const o0 = i0 * d;
    const o1 = o0 + d;
    const o2 = o1 + d;
    const o3 = o2 + d;
    for (let m = i1; m < n; m++) {
      const om = m * d;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let j = 0; j < d; j++) {
        const x = data[om + j]!;
        s0 += data[o0 + j]! * x;
        s1 += data[o1 + j]! * x;
        s2 += data[o2 + j]! * x;
        s3 += data[o3 + j]! * x;
      }
      const sm = sq[m]!;
      const v0 = sq[i0]! + sm - 2 * s0;
      const v1 = sq[i0 + 1]! + sm - 2 * s1;
      const v2 = sq[i0 + 2]! + sm - 2 * s2;
      const v3 = sq[i0 + 3]! + sm - 2 * s3;
      offer(i0, m, v0);
      offer(m, i0, v0);
      offer(i0 + 1, m, v1);
      offer(m, i0 + 1, v1);
      offer(i0 + 2, m, v2);
      offer(m, i0 + 2, v2);
      offer(i0 + 3, m, v3);
      offer(m, i0 + 3, v3);
    }
  }
  const indices = bestI;
  // Cancellation in the Gram identity can leave tiny negatives for duplicates.
  const distances = bestD.map((v) => Math.sqrt(Math.max(0, v)));
  return { indices, distances, k };
}

/**
 * The kNN connectivity graph made symmetric as ½(C + Cᵀ): weight 1 where each point is among the other's neighbours,
 * ½ where only one is. Self loops are left out (they do not change a normalised Laplacian's eigenvectors' use here and
 * scipy's Laplacian ignores them too).
 */
export function knnAffinity(nn: Knn, n: number): Csr {
  const { indices, k } = nn;
  const maps: Map<number, number>[] = Array.from({ length: n }, () => new Map());
  for (let i = 0; i < n; i++) {
    for (let r = 0; r < k; r++) {
      const j = indices[i * k + r]!;
      maps[i]!.set(j, (maps[i]!.get(j) ?? 0) + 0.5);
      maps[j]!.set(i, (maps[j]!.get(i) ?? 0) + 0.5);
    }
  }
  const rowPtr = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) rowPtr[i + 1] = rowPtr[i]! + maps[i]!.size;
  const cols = new Int32Array(rowPtr[n]!);
  const values = new Float64Array(rowPtr[n]!);
  for (let i = 0; i < n; i++) {
    const entries = [...maps[i]!.entries()].sort((a, b) => a[0] - b[0]);
    entries.forEach(([j, w], r) => {
      cols[rowPtr[i]! + r] = j;
      values[rowPtr[i]! + r] = w;
    });
  }
  return { n, rowPtr, cols, values };
}

/** y = A·x for a CSR matrix. */
export function csrMul(a: Csr, x: Float64Array, y: Float64Array): void {
  for (let i = 0; i < a.n; i++) {
    let s = 0;
    for (let p = a.rowPtr[i]!; p < a.rowPtr[i + 1]!; p++) s += a.values[p]! * x[a.cols[p]!]!;
    y[i] = s;
  }
}
